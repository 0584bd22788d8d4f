#include "controllers/secret_env.h"

#include <nlohmann/json.hpp>

#include "render/plan.h"
#include "runtime/database.h"

namespace wok::controllers {

namespace {

// "$(NAME)" in `value` replaced by `vars`' values, as Kubernetes expands
// env that names an earlier variable; anything else is left as it is.
std::string expand(const std::string& value, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < value.size();) {
    if (value.compare(i, 2, "$(") == 0) {
      size_t end = value.find(')', i + 2);
      if (end != std::string::npos) {
        auto it = vars.find(value.substr(i + 2, end - i - 2));
        if (it != vars.end()) {
          out += it->second;
          i = end + 1;
          continue;
        }
      }
    }
    out += value[i++];
  }
  return out;
}

}  // namespace

std::string add_secret_env(const nlohmann::json& site, WorkloadPlan& plan,
                           const SecretReader& read) {
  if (!site.contains("spec")) return "";
  const std::string mode = site["spec"].value("mode", "");
  if (mode != "app" && mode != "php") return "";
  const std::string ns = site["metadata"]["namespace"];
  render::SitePlan site_plan = render::plan_site(site);
  // One key of one secret, or why not (naming `field`).
  auto key_of = [&](const std::string& field, const std::string& secret, const std::string& key,
                    std::string* value) -> std::string {
    if (!read) return field + ": secrets are not available on this platform";
    std::string error;
    auto values = read(ns, secret, &error);
    if (!values) return field + ": " + error;
    auto it = values->find(key);
    if (it == values->end())
      return field + ": secret \"" + secret + "\" has no key \"" + key + "\"";
    *value = it->second;
    return "";
  };
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
    std::map<std::string, std::string> keyed;  // secret_env: DB_PASSWORD
    for (const auto& e : c.secret_env) {
      std::string value;
      const std::string field =
          e.secret == site_plan.database.secret_name ? "spec.database" : "spec.services";
      if (std::string err = key_of(field, e.secret, e.key, &value); !err.empty()) return err;
      keyed[e.name] = std::move(value);
    }
    if (env.empty() && keyed.empty()) continue;
    for (auto& s : plan.instances) {
      auto id = parse_instance_id(s.id);
      if (!id || id->component != c.name || id->revision == 0) continue;  // not the servers
      for (auto& [key, value] : s.env)
        if (value.find("$(") != std::string::npos && !c.secret_env.empty())
          value = expand(value, keyed);
      for (const auto& [key, value] : keyed) s.env.emplace(key, value);
      for (const auto& [key, value] : env)
        s.env.emplace(key, value);  // never over the spec's or PORT, WOK_*
    }
  }
  for (const auto& d : plan.servers) {
    const std::string field =
        d.id == plan.database_id ? std::string("spec.database") : "spec.services " + d.storage_name;
    std::string password;
    if (std::string err = key_of(field, d.secret_name, "password", &password); !err.empty())
      return err;
    if (std::string why = render::check_database_password(password); !why.empty())
      return field + ": secret \"" + d.secret_name + "\": key \"password\" " + why;
    for (auto& s : plan.instances) {
      if (s.id != d.id) continue;
      runtime::DatabaseServer server = d.server;
      server.password = password;
      std::string error;
      if (!runtime::configure_database(server, &s, &error)) return field + ": " + error;
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
