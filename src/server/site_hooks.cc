#include "server/site_hooks.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "store/secrets.h"
#include "store/store.h"

namespace wok::server {

using nlohmann::json;

store::Result request_site_refresh(store::Store& store, const std::string& ns,
                                   const std::string& name) {
  auto site = store.get("Site", ns, name);
  if (!site) {
    store::Result r;
    r.code = store::Code::kNotFound;
    r.message = "site \"" + name + "\" not found in project \"" + ns + "\"";
    return r;
  }
  int64_t n = (*site)["status"].value("refreshRequests", int64_t{0}) + 1;
  return store.patch_status("Site", ns, name,
                            {{"refreshRequests", n},
                             {"pinnedRevision", nullptr},
                             {"pinnedCommit", nullptr},
                             {"pinnedBy", nullptr}});
}

hooks::HookBackend store_hook_backend(store::Store& store, store::SecretStore* secrets) {
  hooks::HookBackend backend;
  backend.find = [&store, secrets](const std::string& ns,
                                   const std::string& name) -> std::optional<hooks::HookSite> {
    if (!secrets) return std::nullopt;
    auto site = store.get("Site", ns, name);
    if (!site) return std::nullopt;
    const json git = site->value(json::json_pointer("/spec/source/git"), json::object());
    if (!git.is_object() || !git.contains("webhookSecret") || !git["webhookSecret"].is_string()) {
      return std::nullopt;
    }
    std::string error;
    auto data = secrets->read(ns, git["webhookSecret"].get<std::string>(), &error);
    if (!data) {
      spdlog::info("webhook for site {}/{}: {}", ns, name, error);
      return std::nullopt;
    }
    auto token = data->find(kWebhookSecretKey);
    if (token == data->end()) return std::nullopt;
    return hooks::HookSite{git.value("ref", "main"), token->second};
  };
  backend.refresh = [&store](const std::string& ns, const std::string& name) {
    store::Result r = request_site_refresh(store, ns, name);
    return r.ok() ? std::string() : r.message;
  };
  return backend;
}

}  // namespace wok::server
