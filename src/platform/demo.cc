#include "platform/demo.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "git/repository.h"
#include "store/store.h"

namespace wok::platform {

namespace fs = std::filesystem;
using nlohmann::json;

std::string install_demo(store::Store& store, const std::string& data_dir, const std::string& examples_dir) {
  fs::path source = fs::path(examples_dir) / "demo-site";
  if (!fs::is_directory(source)) return "no demo sources at " + source.string();
  fs::path repo = fs::path(data_dir) / "demo" / "www";
  if (!fs::exists(repo)) {
    std::string error;
    if (git::commit_directory(source.string(), repo.string(), "main", "The demo site", &error).empty()) {
      return "cannot make the demo repository: " + error;
    }
  }
  json project = {{"apiVersion", api::kApiVersion},
                  {"kind", "Project"},
                  {"metadata", {{"name", "demo"}}},
                  {"spec", {{"hosts", {"*.demo.localhost", "demo.localhost"}}, {"members", json::array()}}}};
  if (!store.get("Project", "", "demo")) {
    if (auto r = store.create("Project", project); !r.ok()) return r.message;
  }
  json site = {{"apiVersion", api::kApiVersion},
               {"kind", "Site"},
               {"metadata", {{"name", "www"}, {"namespace", "demo"}}},
               {"spec",
                {{"mode", "static"},
                 {"hosts", {"www.demo.localhost", "demo.localhost"}},
                 {"source", {{"git", {{"url", "file://" + repo.string()}, {"ref", "main"}, {"interval", "60s"}}}}},
                 {"build", {{"command", {"sh", "build.sh"}}, {"output", "public"}}}}}};
  if (auto errors = api::validate_site(site); !errors.empty()) return api::join_errors(errors);
  api::default_site(site);
  if (!store.get("Site", "demo", "www")) {
    if (auto r = store.create("Site", site); !r.ok()) return r.message;
  }
  return "";
}

}  // namespace wok::platform
