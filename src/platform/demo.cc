#include "platform/demo.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "git/repository.h"
#include "store/store.h"

namespace wok::platform {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A site of the demo project from examples/<dir>, committed to a local repository.
std::string add_demo_site(store::Store& store, const std::string& data_dir,
                          const std::string& examples_dir, const std::string& dir,
                          const std::string& name, json spec) {
  fs::path source = fs::path(examples_dir) / dir;
  if (!fs::is_directory(source)) return "no demo sources at " + source.string();
  fs::path repo = fs::path(data_dir) / "demo" / name;
  if (!fs::exists(repo)) {
    std::string error;
    if (git::commit_directory(source.string(), repo.string(), "main", "The demo " + name + " site",
                              &error)
            .empty()) {
      return "cannot make the demo repository: " + error;
    }
  }
  spec["hosts"] = {name + ".demo.localhost"};
  spec["source"] = {
      {"git", {{"url", "file://" + repo.string()}, {"ref", "main"}, {"interval", "60s"}}}};
  json site = {{"apiVersion", api::kApiVersion},
               {"kind", "Site"},
               {"metadata", {{"name", name}, {"namespace", "demo"}}},
               {"spec", spec}};
  if (auto errors = api::validate_site(site); !errors.empty()) return api::join_errors(errors);
  api::default_site(site);
  if (!store.get("Site", "demo", name)) {
    if (auto r = store.create("Site", site); !r.ok()) return r.message;
  }
  return "";
}

}  // namespace

std::string install_demo(store::Store& store, const std::string& data_dir,
                         const std::string& examples_dir) {
  fs::path source = fs::path(examples_dir) / "demo-site";
  if (!fs::is_directory(source)) return "no demo sources at " + source.string();
  fs::path repo = fs::path(data_dir) / "demo" / "www";
  if (!fs::exists(repo)) {
    std::string error;
    if (git::commit_directory(source.string(), repo.string(), "main", "The demo site", &error)
            .empty()) {
      return "cannot make the demo repository: " + error;
    }
  }
  json project = {
      {"apiVersion", api::kApiVersion},
      {"kind", "Project"},
      {"metadata", {{"name", "demo"}}},
      {"spec", {{"hosts", {"*.demo.localhost", "demo.localhost"}}, {"members", json::array()}}}};
  if (!store.get("Project", "", "demo")) {
    if (auto r = store.create("Project", project); !r.ok()) return r.message;
  }
  json site = {
      {"apiVersion", api::kApiVersion},
      {"kind", "Site"},
      {"metadata", {{"name", "www"}, {"namespace", "demo"}}},
      {"spec",
       {{"mode", "static"},
        {"hosts", {"www.demo.localhost", "demo.localhost"}},
        {"source",
         {{"git", {{"url", "file://" + repo.string()}, {"ref", "main"}, {"interval", "60s"}}}}},
        {"build", {{"command", {"sh", "build.sh"}}, {"output", "public"}}}}}};
  if (auto errors = api::validate_site(site); !errors.empty()) return api::join_errors(errors);
  api::default_site(site);
  if (!store.get("Site", "demo", "www")) {
    if (auto r = store.create("Site", site); !r.ok()) return r.message;
  }
  // One site per mode: php (php-fpm in a sandbox) and app (a python server).
  if (std::string e = add_demo_site(store, data_dir, examples_dir, "demo-php", "php",
                                    {{"mode", "php"}, {"resources", {{"memory", "128Mi"}}}});
      !e.empty()) {
    return e;
  }
  json web = {{"name", "web"}, {"command", {"python3", "app.py"}}, {"port", 8080}, {"replicas", 2}};
  json app = {{"mode", "app"}, {"resources", {{"memory", "128Mi"}}}};
  app["app"]["components"] = json::array({web});
  return add_demo_site(store, data_dir, examples_dir, "demo-app", "app", app);
}

}  // namespace wok::platform
