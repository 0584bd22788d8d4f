#pragma once
// Root file systems from OCI images: "oci:DIR:TAG" layouts are unpacked with
// umoci into a cache per project keyed by manifest digest (shared read-only by
// the instances of that project); other references are first copied into a
// layout of the project with skopeo (needs the registry to be reachable).
//
// Everything a layout holds is tenant content: index.json is parsed strictly
// and its digest validated before it names anything on disk, and the unpacked
// root is only ever changed from directory descriptors, never through a path
// that could hold one of the image's symlinks.
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/bundle.h"

namespace wok::runtime {

class ImageStore {
 public:
  explicit ImageStore(std::filesystem::path cache_dir, std::string umoci = "umoci",
                      std::string skopeo = "skopeo");

  // Fills `out` (path, entrypoint, env, cwd) for `ref` as seen by `project`;
  // false with `error` set when the image cannot be found, pulled or
  // unpacked. A project only ever gets a root unpacked from content it
  // supplied or pulled itself: naming another project's digest gives nothing.
  bool resolve(const std::string& project, const std::string& ref, RootFs* out, std::string* error);

 private:
  bool unpack_layout(const std::filesystem::path& store, const std::string& dir,
                     const std::string& tag, RootFs* out, std::string* error);
  bool pull(const std::filesystem::path& store, const std::string& ref, std::string* layout_dir,
            std::string* error);

  std::filesystem::path cache_dir_;
  std::string umoci_, skopeo_;
  std::mutex mu_;  // one unpack at a time: they are disk-bound anyway
};

// The command that copies registry image `ref` into layout `dest` for a
// tenant: no credential, client certificate or auth file of the host is
// used (`empty_dir`, an empty directory, stands for HOME and the runtime
// directory); the environment is only PATH, proxies, CA bundles, TMPDIR
// and the admin's CONTAINERS_REGISTRIES_CONF.
std::vector<std::string> skopeo_pull_argv(const std::string& skopeo, const std::string& ref,
                                          const std::string& dest, const std::string& empty_dir);

// "oci:/srv/images/api:1.4" -> {"/srv/images/api", "1.4"}; no tag -> "latest".
bool parse_oci_layout_ref(const std::string& ref, std::string* dir, std::string* tag);

// The manifest digest ("sha256:...") that `tag` names in the layout's
// index.json. Refuses an index.json that is not a regular file of at most
// kMaxIndexBytes, not a JSON object with schemaVersion 2 and a "manifests"
// array of objects, that repeats a key of an object (also in another case:
// Go's decoder in umoci matches keys case-insensitively), that names the tag
// more than once, or whose digests are not valid_oci_digest.
bool layout_manifest_digest(const std::string& dir, const std::string& tag, std::string* digest,
                            std::string* error);
inline constexpr size_t kMaxIndexBytes = 4 << 20;

// "sha256:" + 64 or "sha512:" + 128 lowercase hex digits, nothing else.
bool valid_oci_digest(const std::string& digest);

// A DNS label (lowercase letters, digits, '-', at most 63): safe as a path component.
bool valid_project_name(const std::string& project);

}  // namespace wok::runtime
