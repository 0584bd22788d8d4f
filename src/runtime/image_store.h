#pragma once
// Root file systems from OCI images: "oci:DIR:TAG" layouts are unpacked with
// umoci into a cache keyed by manifest digest (shared read-only by every
// instance of that image); other references are first copied into a local
// layout with skopeo (needs the registry to be reachable).
#include <filesystem>
#include <mutex>
#include <string>

#include "runtime/bundle.h"

namespace wok::runtime {

class ImageStore {
 public:
  explicit ImageStore(std::filesystem::path cache_dir, std::string umoci = "umoci",
                      std::string skopeo = "skopeo");

  // Fills `out` (path, entrypoint, env, cwd) for `ref`; false with `error` set
  // when the image cannot be found, pulled or unpacked.
  bool resolve(const std::string& ref, RootFs* out, std::string* error);

 private:
  bool unpack_layout(const std::string& dir, const std::string& tag, RootFs* out,
                     std::string* error);
  bool pull(const std::string& ref, std::string* layout_dir, std::string* error);

  std::filesystem::path cache_dir_;
  std::string umoci_, skopeo_;
  std::mutex mu_;  // one unpack at a time: they are disk-bound anyway
};

// "oci:/srv/images/api:1.4" -> {"/srv/images/api", "1.4"}; no tag -> "latest".
bool parse_oci_layout_ref(const std::string& ref, std::string* dir, std::string* tag);

// The manifest digest ("sha256:...") that `tag` names in the layout's index.json.
bool layout_manifest_digest(const std::string& dir, const std::string& tag, std::string* digest,
                            std::string* error);

}  // namespace wok::runtime
