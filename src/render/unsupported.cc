#include "render/unsupported.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "render/parts.h"

namespace wok::render {
using nlohmann::json;

std::vector<Unsupported> unsupported_on(Platform platform, const json& site) {
  std::vector<Unsupported> out;
  // `wok up` runs everything a valid Site says. Refused there before and
  // run now: spec.app.autoscale, spec.app.jobs, spec.app.components[].secrets,
  // spec.storage of an app site.
  if (platform == Platform::kEmbedded) return out;
  // A cluster pulls images from registries: an image on the machine wok
  // runs on (oci:DIR:TAG, an archive, a Docker daemon) is not there.
  if (!site.is_object() || !site.contains("spec") || !site["spec"].is_object()) return out;
  const json& spec = site["spec"];
  // An OpenShift Route lets networks in (haproxy.router.openshift.io/ip_whitelist);
  // it cannot keep some out.
  if (platform == Platform::kOpenShift && spec.contains("access") && spec["access"].is_object() &&
      spec["access"].contains("ipDeny") && spec["access"]["ipDeny"].is_array() &&
      !spec["access"]["ipDeny"].empty()) {
    out.push_back({"spec.access.ipDeny",
                   "OpenShift Routes have no deny list (only an allow list): list the networks to "
                   "let in with ipAllow"});
  }
  // The OpenShift router has no login of its own.
  if (platform == Platform::kOpenShift && spec.contains("access") && spec["access"].is_object() &&
      spec["access"].contains("basicAuth")) {
    out.push_back({"spec.access.basicAuth",
                   "OpenShift Routes cannot ask for a password; put a login in the application "
                   "(or an oauth-proxy component in front of it)"});
  }
  // spec.access.oidc runs oauth2-proxy, whose lists differ from the
  // router's: a user must match both lists, not either.
  if (spec.contains("access") && spec["access"].is_object() && spec["access"].contains("oidc") &&
      spec["access"]["oidc"].is_object()) {
    const json& o = spec["access"]["oidc"];
    auto listed = [&](const char* key) {
      return o.contains(key) && o[key].is_array() && !o[key].empty();
    };
    if (listed("allowedUsers") && listed("allowedGroups"))
      out.push_back({"spec.access.oidc.allowedUsers",
                     "oauth2-proxy lets in only users who match both allowedUsers and "
                     "allowedGroups, not either: list one (a group for the users, say)"});
  }
  if (spec.contains("tls") && spec["tls"].is_object()) {
    const json& tls = spec["tls"];
    // A Route holds its certificate and key inline (no reference to a secret).
    if (platform == Platform::kOpenShift && tls.value("mode", "") == "secret") {
      out.push_back({"spec.tls.mode",
                     "secret: an OpenShift Route holds its certificate inline, not by a secret's "
                     "name; use mode auto (the platform's issuer, or the router's certificate)"});
    }
    // ingress-nginx sets Strict-Transport-Security for the whole controller.
    if (platform == Platform::kKubernetes && tls.contains("hsts")) {
      out.push_back({"spec.tls.hsts",
                     "ingress-nginx sends Strict-Transport-Security for all its hosts or none "
                     "(its ConfigMap's hsts settings), not per Ingress: ask the admin"});
    }
  }
  if (!spec.contains("app") || !spec["app"].is_object() || !spec["app"].contains("components") ||
      !spec["app"]["components"].is_array())
    return out;
  const json& components = spec["app"]["components"];
  for (size_t i = 0; i < components.size(); ++i) {
    const json& c = components[i];
    if (!c.is_object() || !c.contains("image") || !c["image"].is_string()) continue;
    const std::string field = "spec.app.components[" + std::to_string(i) + "].image";
    try {
      detail::cluster_image(c["image"].get<std::string>(), field);
    } catch (const std::invalid_argument& e) {
      std::string message = e.what();
      if (message.starts_with(field + ": ")) message = message.substr(field.size() + 2);
      out.push_back({field, message});
    }
  }
  return out;
}

std::string describe(const std::vector<Unsupported>& list) {
  std::string out;
  for (const auto& u : list) out += (out.empty() ? "" : "; ") + u.field + ": " + u.message;
  return out;
}

}  // namespace wok::render
