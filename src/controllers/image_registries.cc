#include "controllers/image_registries.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace wok::controllers {

using nlohmann::json;

std::string registry_of(const std::string& ref) {
  static const std::string kDocker = "docker://";
  if (!ref.starts_with(kDocker)) return "";
  const std::string rest = ref.substr(kDocker.size());
  const size_t slash = rest.find('/');
  if (slash == std::string::npos) return "";  // "docker://nginx": docker.io/library/nginx
  const std::string first = rest.substr(0, slash);
  bool upper = false;
  for (char c : first) upper = upper || std::isupper(static_cast<unsigned char>(c));
  // github.com/distribution/reference, splitDockerDomain.
  if (first.find_first_of(".:") == std::string::npos && first != "localhost" && !upper) return "";
  return first;
}

std::string registry_host(const std::string& registry) {
  if (registry.starts_with("[")) {
    size_t close = registry.find(']');
    return registry.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  return registry.substr(0, registry.find(':'));
}

std::string image_registry_error(const json& spec, const git::FetchLimits& limits) {
  if (limits.allow_private_networks || !spec.is_object()) return "";
  auto app = spec.find("app");
  if (app == spec.end() || !app->is_object() || !app->contains("components")) return "";
  const json& components = (*app)["components"];
  for (size_t i = 0; components.is_array() && i < components.size(); ++i) {
    const json& c = components[i];
    if (!c.is_object() || !c.contains("image") || !c["image"].is_string()) continue;
    const std::string ref = c["image"];
    const std::string registry = registry_of(ref);
    if (registry.empty()) continue;
    if (std::string why = git::check_host(registry_host(registry), limits); !why.empty()) {
      return "spec.app.components[" + std::to_string(i) + "].image: " + ref + ": registry " +
             registry + " is refused: " + why;
    }
  }
  return "";
}

}  // namespace wok::controllers
