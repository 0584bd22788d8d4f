#include "kube/site_hooks.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <random>

#include "api/base64.h"
#include "api/validation.h"
#include "kube/client.h"
#include "kube/kinds.h"
#include "kube/site_status.h"

namespace wok::kube {

using nlohmann::json;

hooks::HookBackend operator_hook_backend(
    KubeClient& client, std::function<ObjectPtr(const std::string&, const std::string&)> site_of) {
  hooks::HookBackend backend;
  backend.find = [&client, site_of](const std::string& ns,
                                    const std::string& name) -> std::optional<hooks::HookSite> {
    ObjectPtr site = site_of(ns, name);
    if (!site) return std::nullopt;
    const json git = site->value(json::json_pointer("/spec/source/git"), json::object());
    if (!git.is_object() || !git.contains("webhookSecret") || !git["webhookSecret"].is_string()) {
      return std::nullopt;
    }
    // The name reaches a URL: a DNS label only (the validator says so too).
    const std::string secret_name = git["webhookSecret"];
    if (!api::is_dns_label(secret_name)) return std::nullopt;
    // Read when a hook comes, not cached: a rotated secret holds at once.
    Reply reply = client.request("GET", "/api/v1/namespaces/" + ns + "/secrets/" + secret_name);
    if (!reply.ok()) {
      spdlog::info("webhook for site {}/{}: secret {}: {}", ns, name, secret_name,
                   reply.describe());
      return std::nullopt;
    }
    json secret = json::parse(reply.body, nullptr, false);
    const json data = secret.is_object() ? secret.value("data", json::object()) : json::object();
    if (!data.is_object() || !data.contains(kWebhookTokenKey) ||
        !data[kWebhookTokenKey].is_string()) {
      return std::nullopt;
    }
    auto token = api::base64_decode(data[kWebhookTokenKey].get<std::string>());
    if (!token) return std::nullopt;
    return hooks::HookSite{git.value("ref", "main"), *token};
  };
  backend.refresh = [&client](const std::string& ns, const std::string& name) {
    // Unique per request, also across replicas taking hooks at the same instant.
    static std::atomic<uint64_t> sequence{std::random_device{}()};
    std::string token = rfc3339_now() + " webhook " + std::to_string(++sequence);
    json patch = {{"metadata", {{"annotations", {{kRefreshRequestAnnotation, token}}}}}};
    Reply reply = client.request("PATCH", site_kind().object_path(ns, name), patch.dump(),
                                 "application/merge-patch+json");
    return reply.ok() ? std::string() : reply.describe();
  };
  return backend;
}

}  // namespace wok::kube
