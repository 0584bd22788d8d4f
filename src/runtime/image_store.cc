#include "runtime/image_store.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/subprocess.h"

namespace wok::runtime {
namespace fs = std::filesystem;
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

bool layout_manifest_digest(const std::string& dir, const std::string& tag, std::string* digest,
                            std::string* error) {
  std::ifstream in(fs::path(dir) / "index.json");
  if (!in) {
    *error = "image " + dir + ": no index.json (not an OCI image layout)";
    return false;
  }
  json index = json::parse(in, nullptr, false);
  if (index.is_discarded() || !index.contains("manifests")) {
    *error = "image " + dir + ": index.json is not a valid OCI index";
    return false;
  }
  for (const auto& m : index["manifests"]) {
    auto name = m.value("/annotations/org.opencontainers.image.ref.name"_json_pointer, "");
    if (name == tag && m.contains("digest")) {
      *digest = m["digest"].get<std::string>();
      return true;
    }
  }
  *error = "image " + dir + ": no tag \"" + tag + "\"";
  return false;
}

ImageStore::ImageStore(fs::path cache_dir, std::string umoci, std::string skopeo)
    : cache_dir_(std::move(cache_dir)), umoci_(std::move(umoci)), skopeo_(std::move(skopeo)) {}

bool ImageStore::resolve(const std::string& ref, RootFs* out, std::string* error) {
  std::lock_guard lock(mu_);
  std::string dir, tag;
  if (parse_oci_layout_ref(ref, &dir, &tag)) return unpack_layout(dir, tag, out, error);
  if (!pull(ref, &dir, error)) return false;
  return unpack_layout(dir, "latest", out, error);
}

bool ImageStore::pull(const std::string& ref, std::string* layout_dir, std::string* error) {
  std::string name;
  for (char c : ref) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  fs::path layout = cache_dir_ / "pulled" / name;
  std::error_code ec;
  fs::create_directories(layout.parent_path(), ec);
  // The signature policy is the operator's business (docs/runtime.md); wok
  // only copies what the Site references.
  auto r = run_command({skopeo_, "--insecure-policy", "copy", ref, "oci:" + layout.string() + ":latest"},
                       std::chrono::minutes(10));
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
  if (config.is_discarded()) return;
  const json& p = config.value("process", json::object());
  out->args = p.value("args", std::vector<std::string>{});
  out->env = p.value("env", std::vector<std::string>{});
  out->cwd = p.value("cwd", std::string("/"));
}

}  // namespace

bool ImageStore::unpack_layout(const std::string& dir, const std::string& tag, RootFs* out,
                               std::string* error) {
  std::string digest;
  if (!layout_manifest_digest(dir, tag, &digest, error)) return false;
  std::string key = digest;
  for (char& c : key)
    if (c == ':') c = '_';
  fs::path target = cache_dir_ / key;
  std::error_code ec;
  if (!fs::exists(target / ".complete")) {
    fs::path tmp = cache_dir_ / (".unpack-" + key + "-" + std::to_string(::getpid()));
    fs::remove_all(tmp, ec);
    fs::create_directories(cache_dir_, ec);
    auto r = run_command({umoci_, "unpack", "--image", dir + ":" + tag, tmp.string()},
                         std::chrono::minutes(5));
    if (!r.ok()) {
      fs::remove_all(tmp, ec);
      *error = "cannot unpack image " + dir + ":" + tag + " (" + r.describe("umoci unpack") + ")";
      return false;
    }
    // Mount points the bundle needs, made now while nobody uses this root:
    // later it is only ever mounted read-only.
    for (const char* d : {"proc", "dev", "sys", "tmp", "etc/wok", "run/wok"})
      fs::create_directories(tmp / "rootfs" / d, ec);
    for (const char* f : {"passwd", "group", "hosts", "resolv.conf", "nsswitch.conf"})
      if (!fs::exists(tmp / "rootfs/etc" / f)) std::ofstream(tmp / "rootfs/etc" / f);
    std::ofstream(tmp / ".complete") << dir << ":" << tag << "\n";
    fs::remove_all(target, ec);
    fs::rename(tmp, target, ec);
    if (ec) {
      *error = "cannot move unpacked image to " + target.string() + ": " + ec.message();
      return false;
    }
  }
  out->path = target / "rootfs";
  out->base_image = false;
  read_image_process(target, out);
  return true;
}

}  // namespace wok::runtime
