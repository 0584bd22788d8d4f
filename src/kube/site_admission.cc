#include "kube/site_admission.h"

#include "kube/site_revisions.h"

namespace wok::kube {

using nlohmann::json;

std::vector<api::FieldError> site_spec_errors(const json& site, const api::SiteBounds& bounds) {
  // Raw values, whatever their type: the validator names a wrong one.
  auto field = [](const json& object, const char* key, json absent) {
    return object.is_object() && object.contains(key) ? object[key] : absent;
  };
  const json meta = field(site, "metadata", json::object());
  json clean = {{"apiVersion", field(site, "apiVersion", "")},
                {"kind", "Site"},
                {"metadata",
                 {{"name", field(meta, "name", "")}, {"namespace", field(meta, "namespace", "")}}},
                {"spec", field(site, "spec", json::object())}};
  auto errors = api::validate_site(clean);
  if (!errors.empty()) return errors;  // bounds judge only a spec of the right shape
  return api::site_bound_errors(clean["spec"], bounds);
}

namespace {

std::string claim_rank(const json& site) {
  const json& m = site.value("metadata", json::object());
  return m.value("creationTimestamp", "") + "\n" + m.value("namespace", "") + "/" +
         m.value("name", "");
}

bool lists_host(const json& site, const std::string& host) {
  const json& spec = site.value("spec", json::object());
  if (!spec.is_object() || !spec.contains("hosts") || !spec["hosts"].is_array()) return false;
  for (const auto& h : spec["hosts"]) {
    if (h.is_string() && h.get<std::string>() == host) return true;
  }
  return false;
}

}  // namespace

const json* host_holder(const json& site, const std::string& host, const std::vector<json>& sites) {
  const json& meta = site.value("metadata", json::object());
  const std::string mine = claim_rank(site);
  for (const auto& other : sites) {
    const json& om = other.value("metadata", json::object());
    if (om.value("namespace", "") == meta.value("namespace", "") &&
        om.value("name", "") == meta.value("name", "")) {
      continue;
    }
    if (claim_rank(other) > mine) continue;  // a younger claim never beats ours
    if (lists_host(other, host)) return &other;
  }
  return nullptr;
}

std::vector<api::FieldError> host_held_errors(const json& site, const std::vector<json>& sites) {
  std::vector<api::FieldError> errors;
  const json& spec = site.value("spec", json::object());
  if (!spec.is_object() || !spec.contains("hosts") || !spec["hosts"].is_array()) return errors;
  const std::string ns = site.value("metadata", json::object()).value("namespace", "");
  for (size_t i = 0; i < spec["hosts"].size(); ++i) {
    if (!spec["hosts"][i].is_string()) continue;
    const std::string host = spec["hosts"][i];
    const json* holder = host_holder(site, host, sites);
    if (!holder) continue;
    const json& hm = (*holder)["metadata"];
    // Another project's site names are not the requester's to learn.
    std::string by = hm.value("namespace", "") == ns
                         ? "site \"" + hm.value("name", "") + "\" in project \"" + ns + "\""
                         : std::string("another project");
    errors.push_back({"spec.hosts[" + std::to_string(i) + "]",
                      "host \"" + host + "\" is already served by " + by});
  }
  return errors;
}

std::vector<api::FieldError> database_version_errors(const nlohmann::json& site,
                                                     const nlohmann::json& old,
                                                     const std::string& postgresql_operator) {
  using nlohmann::json;
  auto database = [](const json& object) {
    const json spec = object.is_object() ? object.value("spec", json()) : json();
    return spec.is_object() && spec.contains("database") && spec["database"].is_object()
               ? spec["database"]
               : json();
  };
  const json was = database(old), db = database(site);
  if (!was.is_object() || !db.is_object()) return {};
  const std::string engine = db.value("engine", "");
  const api::DatabaseEngine* e = api::database_engine(engine);
  if (!e || was.value("engine", "") != engine) return {};
  auto version_of = [&](const json& d) {
    return d.contains("version") && d["version"].is_string() ? d["version"].get<std::string>()
                                                             : std::string(e->version);
  };
  const std::string before = version_of(was), after = version_of(db);
  if (before == after) return {};
  const std::string field = "spec.database.version";
  if (api::compare_versions(after, before) < 0)
    return {{field, "the database runs " + engine + " " + before + "; it is never downgraded to " +
                        after + " (a dump imported into a new site is the way back)"}};
  const json meta = site.value("metadata", json::object());
  const json annotations = meta.is_object() ? meta.value("annotations", json()) : json();
  const std::string name = meta.is_object() ? meta.value("name", "") : "";
  const std::string asked = annotations.is_object() &&
                                    annotations.contains(kDatabaseUpgradeAnnotation) &&
                                    annotations[kDatabaseUpgradeAnnotation].is_string()
                                ? annotations[kDatabaseUpgradeAnnotation].get<std::string>()
                                : "";
  if (asked != after) {
    if (!db.contains("version"))
      return {{field, "left out, it would be " + after + "; the database runs " + engine + " " +
                          before + ": write version: \"" + before + "\" (`wok db upgrade site " +
                          name + " --to " + after + "` upgrades it)"}};
    return {{field, "the database runs " + engine + " " + before +
                        "; its version changes only by `wok db upgrade site " + name + " --to " +
                        after + "` (or with the annotation " + kDatabaseUpgradeAnnotation + ": \"" +
                        after + "\" written beside it)"}};
  }
  if (engine != "postgresql" || postgresql_operator != "cloudnative-pg")
    return {{field, "upgrading " + engine + " " + before + " to " + after +
                        " on this cluster is not possible: " +
                        (engine == "postgresql"
                             ? "CloudNativePG upgrades PostgreSQL's data in place (wok operator "
                               "--postgresql-operator cloudnative-pg); the official image's "
                               "StatefulSet cannot (a dump imported into a new site can)"
                             : "one version of it runs here")}};
  return {};
}

}  // namespace wok::kube
