#include "store/host_claims.h"

#include "api/validation.h"

namespace wok::store {

using nlohmann::json;

std::vector<RefusedHost> refused_hosts(const json& site_spec, const json& project) {
  std::vector<RefusedHost> refused;
  static const json kNone = json::array();
  const json& patterns = project.contains("spec") && project["spec"].contains("hosts") &&
                                 project["spec"]["hosts"].is_array()
                             ? project["spec"]["hosts"]
                             : kNone;
  const json& hosts =
      site_spec.is_object() && site_spec.contains("hosts") && site_spec["hosts"].is_array()
          ? site_spec["hosts"]
          : kNone;
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string h = hosts[i].is_string() ? hosts[i].get<std::string>() : hosts[i].dump();
    bool allowed = false;
    for (const auto& p : patterns)
      allowed = allowed || (p.is_string() && api::host_matches(p.get<std::string>(), h));
    if (!allowed) refused.push_back({i, h});
  }
  return refused;
}

std::vector<api::FieldError> host_claim_errors(const json& site_spec, const json& project,
                                               const std::string& ns) {
  std::vector<api::FieldError> errors;
  for (const auto& r : refused_hosts(site_spec, project)) {
    json patterns = project.contains("spec") && project["spec"].contains("hosts")
                        ? project["spec"]["hosts"]
                        : json::array();
    errors.push_back({"spec.hosts[" + std::to_string(r.index) + "]",
                      "\"" + r.host + "\" is not among the host names project \"" + ns +
                          "\" may claim (" + patterns.dump() + ")"});
  }
  return errors;
}

std::string host_patterns(const json& project) {
  std::string out;
  if (!project.contains("spec") || !project["spec"].contains("hosts")) return out;
  for (const auto& p : project["spec"]["hosts"]) {
    if (!p.is_string()) continue;
    if (!out.empty()) out += ", ";
    out += p.get<std::string>();
  }
  return out;
}

}  // namespace wok::store
