#include "runtime/image_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "base/unique_fd.h"
#include "runtime/subprocess.h"

namespace wok::runtime {
namespace fs = std::filesystem;
using base::UniqueFd;
using nlohmann::json;

bool parse_oci_layout_ref(const std::string& ref, std::string* dir, std::string* tag) {
  if (ref.rfind("oci:", 0) != 0 || ref.size() == 4) return false;
  std::string rest = ref.substr(4);
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
    *dir = rest.substr(0, colon);
    *tag = rest.substr(colon + 1);
  } else {
    *dir = rest;
    *tag = "latest";
  }
  return !dir->empty() && !tag->empty();
}

bool valid_oci_digest(const std::string& digest) {
  size_t hex;
  if (digest.rfind("sha256:", 0) == 0) {
    hex = 64;
  } else if (digest.rfind("sha512:", 0) == 0) {
    hex = 128;
  } else {
    return false;
  }
  if (digest.size() != 7 + hex) return false;
  for (size_t i = 7; i < digest.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(digest[i])) &&
        (digest[i] < 'a' || digest[i] > 'f'))
      return false;
  return true;
}

bool valid_project_name(const std::string& project) {
  if (project.empty() || project.size() > 63 || project.front() == '-' || project.back() == '-')
    return false;
  for (char c : project)
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-') return false;
  return true;
}

namespace {

// A tenant's string in an error message: quoted, control characters escaped.
std::string shown(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// DIR/index.json, a regular file opened without following a symlink there.
bool read_index(const std::string& dir, std::string* text, std::string* error) {
  UniqueFd layout(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // O_NONBLOCK: a FIFO in its place must not hang the reconciler.
  UniqueFd file(layout.valid() ? ::openat(layout.get(), "index.json",
                                          O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                               : -1);
  struct stat st;
  if (!file.valid() || ::fstat(file.get(), &st) != 0) {
    *error = "image " + dir +
             ": cannot open index.json (not an OCI image layout): " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = "image " + dir + ": index.json is not a regular file";
    return false;
  }
  text->clear();
  char buf[65536];
  for (ssize_t n; (n = ::read(file.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "image " + dir + ": cannot read index.json: " + std::strerror(errno);
      return false;
    }
    text->append(buf, static_cast<size_t>(n));
    if (text->size() > kMaxIndexBytes) {
      *error = "image " + dir + ": index.json is larger than " +
               std::to_string(kMaxIndexBytes >> 20) + " MiB";
      return false;
    }
  }
  return true;
}

// Parses `text`; `bad_key` gets the first key that repeats another of its
// object, ignoring ASCII case, or that is not ASCII (Go's decoder folds "ſ"
// into "s" and the Kelvin sign into "k": no such key can shadow ours).
json parse_strict(const std::string& text, std::string* bad_key) {
  std::vector<std::set<std::string>> objects;
  auto check = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!objects.empty()) objects.pop_back();
    } else if (event == json::parse_event_t::key && !objects.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      std::string folded = key;
      bool ascii = true;
      for (char& c : folded) {
        ascii = ascii && static_cast<unsigned char>(c) < 0x80;
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      if ((!ascii || !objects.back().insert(folded).second) && bad_key->empty()) *bad_key = key;
    }
    return true;
  };
  return json::parse(text, check, false);
}

}  // namespace

bool layout_manifest_digest(const std::string& dir, const std::string& tag, std::string* digest,
                            std::string* error) {
  std::string text, bad_key;
  if (!read_index(dir, &text, error)) return false;
  json index = parse_strict(text, &bad_key);
  auto refuse = [&](const std::string& why) {
    *error = "image " + dir + ": index.json " + why;
    return false;
  };
  if (index.is_discarded()) return refuse("is not valid JSON");
  if (!bad_key.empty())
    return refuse("has the key " + shown(bad_key) +
                  " twice or in another case (keys must be unique ASCII, ignoring case)");
  auto version = index.is_object() ? index.find("schemaVersion") : index.end();
  if (!index.is_object() || version == index.end() || !version->is_number_integer() ||
      *version != 2)
    return refuse("is not an OCI image index (a JSON object with schemaVersion 2)");
  auto manifests = index.find("manifests");
  if (manifests == index.end() || !manifests->is_array())
    return refuse("has no \"manifests\" array");
  int matches = 0;
  for (const auto& m : *manifests) {
    if (!m.is_object()) return refuse("has a manifest that is not an object");
    auto d = m.find("digest");
    if (d == m.end() || !d->is_string()) return refuse("has a manifest without a digest");
    if (!valid_oci_digest(d->get<std::string>()))
      return refuse("has the invalid digest " + shown(d->get<std::string>()) +
                    " (expected sha256: and 64 or sha512: and 128 lowercase hex digits)");
    auto annotations = m.find("annotations");
    if (annotations == m.end()) continue;
    if (!annotations->is_object()) return refuse("has annotations that are not an object");
    auto name = annotations->find("org.opencontainers.image.ref.name");
    if (name == annotations->end() || !name->is_string() || *name != tag) continue;
    *digest = d->get<std::string>();
    ++matches;
  }
  if (matches > 1) return refuse("names the tag " + shown(tag) + " more than once");
  if (matches == 0) {
    *error = "image " + dir + ": no tag " + shown(tag);
    return false;
  }
  return true;
}

ImageStore::ImageStore(fs::path cache_dir, std::string umoci, std::string skopeo)
    : cache_dir_(std::move(cache_dir)), umoci_(std::move(umoci)), skopeo_(std::move(skopeo)) {}

bool ImageStore::resolve(const std::string& project, const std::string& ref, RootFs* out,
                         std::string* error) {
  if (!valid_project_name(project)) {
    *error = "image " + ref + ": invalid project name " + shown(project);
    return false;
  }
  std::lock_guard lock(mu_);
  // Per project: a cached root is only handed to the project that unpacked it.
  fs::path store = cache_dir_ / project;
  std::error_code ec;
  fs::create_directories(store, ec);
  if (ec) {
    *error = "cannot create " + store.string() + ": " + ec.message();
    return false;
  }
  std::string dir, tag;
  if (parse_oci_layout_ref(ref, &dir, &tag)) return unpack_layout(store, dir, tag, out, error);
  if (!pull(store, ref, &dir, error)) return false;
  return unpack_layout(store, dir, "latest", out, error);
}

std::vector<std::string> skopeo_pull_argv(const std::string& skopeo, const std::string& ref,
                                          const std::string& dest, const std::string& empty_dir) {
  // A tenant pulls anonymously: the host's credentials (root's
  // ~/.docker/config.json, /run/containers/0/auth.json, REGISTRY_AUTH_FILE,
  // DOCKER_CONFIG, client certificates under certs.d) would give any project
  // the admin's private images. `env -i` drops every variable but the few
  // that configure the network; --src-no-creds makes skopeo read no auth
  // file at all, --src-cert-dir replaces /etc/{docker,containers}/certs.d.
  std::vector<std::string> argv = {"env", "-i"};
  for (const char* name :
       {"PATH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "TMPDIR", "CONTAINERS_REGISTRIES_CONF"}) {
    if (const char* value = std::getenv(name)) argv.push_back(std::string(name) + "=" + value);
  }
  argv.push_back("HOME=" + empty_dir);
  argv.push_back("XDG_RUNTIME_DIR=" + empty_dir);
  argv.push_back("XDG_CONFIG_HOME=" + empty_dir);
  for (const std::string& arg :
       {skopeo, std::string("--insecure-policy"), std::string("copy"),
        std::string("--src-no-creds"), "--src-cert-dir=" + empty_dir, ref, dest}) {
    argv.push_back(arg);
  }
  return argv;
}

bool ImageStore::pull(const fs::path& store, const std::string& ref, std::string* layout_dir,
                      std::string* error) {
  // A readable name plus a hash of the whole reference: two references never
  // share a layout and the name stays short.
  std::string name;
  for (char c : ref.substr(0, 100)) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : ref) hash = (hash ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  fs::path layout = store / "pulled" / (name + "-" + hex);
  std::error_code ec;
  fs::create_directories(layout.parent_path(), ec);
  // A fresh empty directory for skopeo's HOME and runtime directory: the
  // places it looks for credentials and client certificates hold nothing.
  fs::path empty = cache_dir_ / ".pull-env";
  fs::remove_all(empty, ec);
  fs::create_directories(empty, ec);
  if (ec) {
    *error = "cannot pull image " + ref + ": cannot create " + empty.string() + ": " + ec.message();
    return false;
  }
  // The signature policy is the operator's business (docs/runtime.md); wok
  // only copies what the Site references.
  auto r = run_command(
      skopeo_pull_argv(skopeo_, ref, "oci:" + layout.string() + ":latest", empty.string()),
      std::chrono::minutes(10));
  fs::remove_all(empty, ec);
  if (!r.ok()) {
    *error = "cannot pull image " + ref + " (" + r.describe("skopeo copy") + ")";
    return false;
  }
  *layout_dir = layout.string();
  return true;
}

namespace {

// What the image says to run: umoci translated its config into config.json.
void read_image_process(const fs::path& bundle, RootFs* out) {
  std::ifstream in(bundle / "config.json");
  json config = json::parse(in, nullptr, false);
  if (config.is_discarded() || !config.is_object()) return;
  auto p = config.find("process");
  if (p == config.end() || !p->is_object()) return;
  auto strings = [&](const char* key) {
    std::vector<std::string> v;
    auto it = p->find(key);
    if (it != p->end() && it->is_array())
      for (const auto& s : *it)
        if (s.is_string()) v.push_back(s.get<std::string>());
    return v;
  };
  out->args = strings("args");
  out->env = strings("env");
  auto cwd = p->find("cwd");
  out->cwd = cwd != p->end() && cwd->is_string() ? cwd->get<std::string>() : "/";
}

// The manifest umoci really unpacked (it reads index.json again, and the
// tenant may have changed it since we did).
std::string unpacked_digest(const fs::path& bundle) {
  std::ifstream in(bundle / "umoci.json");
  json meta = json::parse(in, nullptr, false);
  auto ptr = "/from_descriptor_path/descriptor_walk/0/digest"_json_pointer;
  if (meta.is_discarded() || !meta.is_object() || !meta.contains(ptr) || !meta[ptr].is_string())
    return "";
  return meta[ptr].get<std::string>();
}

// The directory `name` in `parent`, made if missing, opened without following
// a symlink. Whatever else stands there (a symlink, a file, a device) is
// removed first: the root is our private copy, and a mount point must be a
// directory of that root, never a way out of it.
UniqueFd mount_dir(int parent, const std::string& path, std::string* error) {
  const char* name = path.c_str() + path.rfind('/') + 1;
  struct stat st;
  if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
      ::unlinkat(parent, name, 0) != 0) {
    *error = "cannot replace " + path + " by a directory: " + std::strerror(errno);
    return UniqueFd();
  }
  if (::mkdirat(parent, name, 0755) != 0 && errno != EEXIST) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return UniqueFd();
  }
  UniqueFd fd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) *error = "cannot open " + path + ": " + std::strerror(errno);
  return fd;
}

// The mount point of one of the sandbox's /etc files. An image's own regular
// file is kept (the bind mount hides it; it is never written); a symlink or
// anything else but a non-empty directory is replaced by an empty file.
std::string etc_mount_file(int etc, const std::string& name) {
  struct stat st;
  if (::fstatat(etc, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(st.st_mode)) return "";
    if (::unlinkat(etc, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0)
      return "/etc/" + name + " must be a file, and cannot be removed: " + std::strerror(errno);
  }
  UniqueFd fd(
      ::openat(etc, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  return fd.valid() ? "" : "cannot create /etc/" + name + ": " + std::strerror(errno);
}

// Mount points the bundle needs, made while nobody uses this root: later it is
// only ever mounted read-only. The root is the image's content, so every step
// goes from a directory descriptor with O_NOFOLLOW: an image whose /etc is a
// symlink to the host's /etc changes nothing outside the root.
std::string prepare_rootfs(const fs::path& rootfs) {
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return "umoci left no root directory: " + std::string(std::strerror(errno));
  std::string error;
  for (const char* d : {"/proc", "/dev", "/sys"})
    if (!mount_dir(root.get(), d, &error).valid()) return error;
  // runc gives a tmpfs the mode of the directory it is mounted on, whatever
  // its mode= option says: /tmp must be 01777 or no sandbox user can write it.
  UniqueFd tmp = mount_dir(root.get(), "/tmp", &error);
  if (!tmp.valid()) return error;
  if (::fchmod(tmp.get(), 01777) != 0)
    return "cannot chmod /tmp: " + std::string(std::strerror(errno));
  UniqueFd run = mount_dir(root.get(), "/run", &error);
  if (!run.valid() || !mount_dir(run.get(), "/run/wok", &error).valid()) return error;
  UniqueFd etc = mount_dir(root.get(), "/etc", &error);
  if (!etc.valid() || !mount_dir(etc.get(), "/etc/wok", &error).valid()) return error;
  for (const char* f : {"passwd", "group", "hosts", "resolv.conf", "nsswitch.conf"})
    if (auto err = etc_mount_file(etc.get(), f); !err.empty()) return err;
  return "";
}

}  // namespace

bool ImageStore::unpack_layout(const fs::path& store, const std::string& dir,
                               const std::string& tag, RootFs* out, std::string* error) {
  std::string digest;
  if (!layout_manifest_digest(dir, tag, &digest, error)) return false;
  // A valid digest makes a key of [a-z0-9_] only: every path below stays in `store`.
  std::string key = digest;
  key[key.find(':')] = '_';
  fs::path target = store / key;
  std::string image = dir + ":" + tag;
  std::error_code ec;
  if (!fs::exists(target / ".complete", ec)) {
    fs::path tmp = store / (".unpack-" + key + "-" + std::to_string(::getpid()));
    fs::remove_all(tmp, ec);
    auto r =
        run_command({umoci_, "unpack", "--image", image, tmp.string()}, std::chrono::minutes(5));
    std::string err;
    if (!r.ok()) {
      err = "cannot unpack image " + image + " (" + r.describe("umoci unpack") + ")";
    } else if (auto unpacked = unpacked_digest(tmp); unpacked != digest) {
      err = "image " + image + ": index.json changed while it was unpacked (wok read " + digest +
            ", umoci unpacked " + shown(unpacked) + ")";
    } else if (err = prepare_rootfs(tmp / "rootfs"); !err.empty()) {
      err = "image " + image + ": " + err;
    }
    if (!err.empty()) {
      fs::remove_all(tmp, ec);
      *error = err;
      return false;
    }
    std::ofstream(tmp / ".complete") << image << "\n";
    fs::remove_all(target, ec);
    fs::rename(tmp, target, ec);
    if (ec) {
      *error = "cannot move unpacked image to " + target.string() + ": " + ec.message();
      fs::remove_all(tmp, ec);
      return false;
    }
  }
  out->path = target / "rootfs";
  out->base_image = false;
  read_image_process(target, out);
  return true;
}

}  // namespace wok::runtime
