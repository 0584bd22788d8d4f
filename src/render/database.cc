// spec.database on a cluster (docs/data.md): the database operator the
// platform names (CloudNativePG for PostgreSQL, mariadb-operator for
// MariaDB), else a StatefulSet of the engine's official image with its
// volume claim; either way a Service "SITE-db" (the DB_HOST every component
// gets, as on wok up) and a NetworkPolicy that lets in the site's own pods
// only (and the operators', from namespaces that are not projects). The
// password is the Secret "SITE-db" (username, password) which the operator
// makes once (kube/operator.cc): a pure render cannot draw one, and
// applying one again would change it.
#include "api/validation.h"
#include "render/parts.h"

namespace wok::render::detail {
namespace {

json database_labels(const SiteNames& names) {
  json labels = site_labels(names, "db");
  labels["wok.dev/database"] = names.name;
  return labels;
}

json password_ref(const DatabasePlan& db) {
  return {{"secretKeyRef", {{"name", db.secret_name}, {"key", "password"}}}};
}

json limits_of(const DatabasePlan& db) {
  json limits = {{"memory", db.memory}};
  if (!db.cpu.empty()) limits["cpu"] = db.cpu;
  return {{"limits", limits}, {"requests", limits}};
}

// Only the site's pods reach the database's port; namespaces that are not
// wok projects (the database operators, monitoring) reach its pods.
json network_policy(const SiteNames& names, const DatabasePlan& db) {
  json n = object_head("networking.k8s.io/v1", "NetworkPolicy", db.host, names.ns,
                       database_labels(names));
  json from_site = {{"podSelector", {{"matchLabels", {{"wok.dev/site", names.name}}}}}};
  json from_non_projects = {
      {"namespaceSelector",
       {{"matchExpressions", {{{"key", "wok.dev/project"}, {"operator", "DoesNotExist"}}}}}}};
  n["spec"] = {{"podSelector", {{"matchLabels", {{"wok.dev/database", names.name}}}}},
               {"policyTypes", {"Ingress"}},
               {"ingress",
                {{{"from", {from_site}}, {"ports", {{{"protocol", "TCP"}, {"port", db.port}}}}},
                 {{"from", {from_non_projects}}}}}};
  return n;
}

json database_service(const SiteNames& names, const DatabasePlan& db, const json& select) {
  json s = object_head("v1", "Service", db.host, names.ns, database_labels(names));
  s["spec"] = {{"selector", select},
               {"ports", {{{"name", "db"}, {"port", db.port}, {"targetPort", db.port}}}}};
  return s;
}

// The engine's official image: it makes the database and the user from its
// environment on first start.
std::vector<json> stateful_set(const SiteNames& names, const DatabasePlan& db,
                               const PlatformSettings& settings) {
  const bool maria = db.engine == "mariadb";
  const std::string data = maria ? "/var/lib/mysql" : "/var/lib/postgresql/data";
  json env = json::array();
  if (maria) {
    env = {{{"name", "MARIADB_DATABASE"}, {"value", db.database}},
           {{"name", "MARIADB_USER"}, {"value", db.user}},
           {{"name", "MARIADB_PASSWORD"}, {"valueFrom", password_ref(db)}},
           {{"name", "MARIADB_RANDOM_ROOT_PASSWORD"}, {"value", "1"}}};
  } else {
    env = {{{"name", "POSTGRES_DB"}, {"value", db.database}},
           {{"name", "POSTGRES_USER"}, {"value", db.user}},
           {{"name", "POSTGRES_PASSWORD"}, {"valueFrom", password_ref(db)}},
           // Below the volume's root, which may hold lost+found.
           {{"name", "PGDATA"}, {"value", data + "/pgdata"}}};
  }
  json mounts = {{{"name", "data"}, {"mountPath", data}},
                 {{"name", "tmp"}, {"mountPath", "/tmp"}},
                 {{"name", "run"}, {"mountPath", maria ? "/run/mysqld" : "/var/run/postgresql"}}};
  json container = {{"name", "db"},
                    {"image", maria ? settings.mariadb_image : settings.postgresql_image},
                    {"env", env},
                    {"ports", {{{"name", "db"}, {"containerPort", db.port}}}},
                    {"readinessProbe", {{"tcpSocket", {{"port", "db"}}}, {"periodSeconds", 5}}},
                    {"resources", limits_of(db)},
                    {"securityContext", container_security()},
                    {"volumeMounts", mounts}};
  json pod = {{"securityContext", pod_security(settings)},
              {"automountServiceAccountToken", false},
              {"terminationGracePeriodSeconds", 30},
              {"containers", {container}},
              {"volumes",
               {{{"name", "tmp"}, {"emptyDir", json::object()}},
                {{"name", "run"}, {"emptyDir", json::object()}}}}};
  json s = object_head("apps/v1", "StatefulSet", db.host, names.ns, database_labels(names));
  s["spec"] = {{"serviceName", db.host},
               {"replicas", 1},
               {"selector", {{"matchLabels", selector(names, "db")}}},
               {"template", {{"metadata", {{"labels", database_labels(names)}}}, {"spec", pod}}},
               {"volumeClaimTemplates",
                {{{"metadata", {{"name", "data"}, {"labels", database_labels(names)}}},
                  {"spec",
                   {{"accessModes", {"ReadWriteOnce"}},
                    {"resources", {{"requests", {{"storage", db.size}}}}}}}}}}};
  return {s, database_service(names, db, selector(names, "db"))};
}

// CloudNativePG: one instance; its own Services are SITE-db-rw/-ro/-r, and
// ours (SITE-db) selects the primary, so DB_HOST is the same everywhere.
std::vector<json> cloudnative_pg(const SiteNames& names, const DatabasePlan& db,
                                 const PlatformSettings& settings) {
  json c =
      object_head("postgresql.cnpg.io/v1", "Cluster", db.host, names.ns, database_labels(names));
  c["spec"] = {
      {"instances", 1},
      {"imageName", settings.cnpg_postgresql_image},
      {"inheritedMetadata", {{"labels", database_labels(names)}}},
      {"bootstrap",
       {{"initdb",
         {{"database", db.database}, {"owner", db.user}, {"secret", {{"name", db.secret_name}}}}}}},
      {"storage", {{"size", db.size}}},
      {"resources", limits_of(db)}};
  return {c, database_service(names, db,
                              {{"cnpg.io/cluster", db.host}, {"cnpg.io/instanceRole", "primary"}})};
}

// mariadb-operator: its Service is named after the MariaDB object (SITE-db).
std::vector<json> mariadb_operator(const SiteNames& names, const DatabasePlan& db,
                                   const PlatformSettings& settings) {
  json m =
      object_head("k8s.mariadb.com/v1alpha1", "MariaDB", db.host, names.ns, database_labels(names));
  m["spec"] = {{"image", settings.mariadb_image},
               {"port", db.port},
               {"inheritMetadata", {{"labels", database_labels(names)}}},
               {"rootPasswordSecretKeyRef",
                {{"name", db.host + "-root"}, {"key", "password"}, {"generate", true}}},
               {"database", db.database},
               {"username", db.user},
               {"passwordSecretKeyRef", {{"name", db.secret_name}, {"key", "password"}}},
               {"storage", {{"size", db.size}}},
               {"resources", limits_of(db)}};
  return {m};
}

}  // namespace

std::vector<json> render_database(const SiteNames& names, const SitePlan& plan,
                                  const PlatformSettings& settings) {
  const DatabasePlan& db = plan.database;
  if (!db.enabled()) return {};
  std::vector<json> out;
  if (db.engine == "postgresql" && settings.postgresql_operator == "cloudnative-pg")
    out = cloudnative_pg(names, db, settings);
  else if (db.engine == "mariadb" && settings.mariadb_operator == "mariadb-operator")
    out = mariadb_operator(names, db, settings);
  else
    out = stateful_set(names, db, settings);
  out.push_back(network_policy(names, db));
  return out;
}

json plan_env(const ComponentPlan& c, const json& spec_env) {
  json env = json::array();
  for (const auto& e : c.secret_env)
    env.push_back({{"name", e.name},
                   {"valueFrom", {{"secretKeyRef", {{"name", e.secret}, {"key", e.key}}}}}});
  for (const auto& [key, value] : c.env) {
    if (!spec_env.contains(key) || spec_env[key] != value)
      env.push_back({{"name", key}, {"value", value}});
  }
  return env;
}

}  // namespace wok::render::detail
