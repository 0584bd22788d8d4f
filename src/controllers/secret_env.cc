#include "controllers/secret_env.h"

#include <nlohmann/json.hpp>

#include "render/plan.h"

namespace wok::controllers {

std::string add_secret_env(const nlohmann::json& site, WorkloadPlan& plan,
                           const SecretReader& read) {
  if (!site.contains("spec") || site["spec"].value("mode", "") != "app") return "";
  const std::string ns = site["metadata"]["namespace"];
  render::SitePlan site_plan = render::plan_site(site);
  for (size_t i = 0; i < site_plan.components.size(); ++i) {
    const auto& c = site_plan.components[i];
    std::map<std::string, std::string> env;  // every secret's keys, the later secret winning
    for (size_t k = 0; k < c.secrets.size(); ++k) {
      const std::string field =
          "spec.app.components[" + std::to_string(i) + "].secrets[" + std::to_string(k) + "]";
      if (!read) return field + ": secrets are not available on this platform";
      std::string error;
      auto values = read(ns, c.secrets[k], &error);
      if (!values) return field + ": " + error;
      for (auto& [key, value] : *values) env[key] = std::move(value);
    }
    if (env.empty()) continue;
    for (auto& s : plan.instances) {
      auto id = parse_instance_id(s.id);
      if (!id || id->component != c.name) continue;
      for (const auto& [key, value] : env)
        s.env.emplace(key, value);  // never over the spec's or PORT, WOK_*
    }
  }
  return "";
}

SecretReader PlannedSecrets::reader_for(const std::string& site_uid, int64_t revision,
                                        const SecretReader& read) {
  if (!read) return {};
  return [this, site_uid, revision, read](const std::string& ns, const std::string& name,
                                          std::string* error) -> std::optional<Values> {
    {
      std::lock_guard lock(mu_);
      auto& revisions = by_site_[site_uid];
      if (auto r = revisions.find(revision); r != revisions.end()) {
        if (auto v = r->second.find(name); v != r->second.end()) return v->second;
      }
    }
    auto values = read(ns, name, error);
    if (!values) return values;  // not remembered: once it exists, a new revision finds it
    std::lock_guard lock(mu_);
    auto& revisions = by_site_[site_uid];
    revisions[revision][name] = *values;
    while (revisions.size() > 3) revisions.erase(revisions.begin());  // the oldest
    return values;
  };
}

}  // namespace wok::controllers
