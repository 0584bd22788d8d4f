// spec.database on a cluster (docs/data.md): the database operator the
// platform names (CloudNativePG for PostgreSQL, mariadb-operator for
// MariaDB), else a StatefulSet of the engine's official image with its
// volume claim; either way a Service "SITE-db" (the DB_HOST every component
// gets, as on wok up) and a NetworkPolicy that lets in the site's own pods
// only (and the operators', from namespaces that are not projects). The
// password is the Secret "SITE-db" (username, password) which the operator
// makes once (kube/operator.cc): a pure render cannot draw one, and
// applying one again would change it.
#include <algorithm>

#include "api/validation.h"
#include "render/parts.h"

namespace wok::render::detail {
namespace {

// A server's labels: its component ("db", a service's name) and
// wok.dev/database (what the project's NetworkPolicy leaves out).
json database_labels(const SiteNames& names, const std::string& component = "db") {
  json labels = site_labels(names, component);
  labels["wok.dev/database"] = names.name;
  return labels;
}

// The labels of what others make from our objects (a StatefulSet's volume
// claims, an operator's pods, claims and Services): never managed-by wok
// nor wok.dev/site, or the operator would take them for its own objects
// no longer rendered, and prune them: the data with them.
json made_by_others_labels(const SiteNames& names, const std::string& component = "db") {
  return {{"wok.dev/database", names.name}, {"wok.dev/component", component}};
}

json password_ref(const std::string& secret) {
  return {{"secretKeyRef", {{"name", secret}, {"key", "password"}}}};
}

json limits_of(const std::string& memory, const std::string& cpu) {
  json limits = {{"memory", memory}};
  if (!cpu.empty()) limits["cpu"] = cpu;
  return {{"limits", limits}, {"requests", limits}};
}

// Only the site's pods reach a server's port (and its management port, a
// RabbitMQ's: 0 when none); namespaces that are not wok projects (the
// database operators, monitoring) reach its pods.
json network_policy(const SiteNames& names, const std::string& host, uint16_t port,
                    const std::string& component, uint16_t management_port = 0) {
  json n = object_head("networking.k8s.io/v1", "NetworkPolicy", host, names.ns,
                       database_labels(names, component));
  json from_site = {{"podSelector", {{"matchLabels", {{"wok.dev/site", names.name}}}}}};
  json from_non_projects = {
      {"namespaceSelector",
       {{"matchExpressions", {{{"key", "wok.dev/project"}, {"operator", "DoesNotExist"}}}}}}};
  json ports = {{{"protocol", "TCP"}, {"port", port}}};
  if (management_port) ports.push_back({{"protocol", "TCP"}, {"port", management_port}});
  n["spec"] = {
      {"podSelector",
       {{"matchLabels", {{"wok.dev/database", names.name}, {"wok.dev/component", component}}}}},
      {"policyTypes", {"Ingress"}},
      {"ingress", {{{"from", {from_site}}, {"ports", ports}}, {{"from", {from_non_projects}}}}}};
  return n;
}

json server_service(const SiteNames& names, const std::string& host, uint16_t port,
                    const std::string& component, const json& select,
                    uint16_t management_port = 0) {
  json s = object_head("v1", "Service", host, names.ns, database_labels(names, component));
  json ports = {{{"name", "db"}, {"port", port}, {"targetPort", port}}};
  if (management_port)
    ports.push_back(
        {{"name", "management"}, {"port", management_port}, {"targetPort", management_port}});
  s["spec"] = {{"selector", select}, {"ports", ports}};
  return s;
}

// A server as a StatefulSet of one pod of an official image.
struct Server {
  std::string host, component, image, data, run_dir, memory, cpu, size;
  uint16_t port = 0;
  json env = json::array();
  json command;                  // null: the image's
  uint16_t management_port = 0;  // a second port (RabbitMQ's management API)
};

std::vector<json> stateful(const SiteNames& names, const Server& sv,
                           const PlatformSettings& settings) {
  json mounts = {{{"name", "data"}, {"mountPath", sv.data}},
                 {{"name", "tmp"}, {"mountPath", "/tmp"}}};
  json volumes = json::array({{{"name", "tmp"}, {"emptyDir", json::object()}}});
  if (!sv.run_dir.empty()) {
    mounts.push_back({{"name", "run"}, {"mountPath", sv.run_dir}});
    volumes.push_back({{"name", "run"}, {"emptyDir", json::object()}});
  }
  json container = {{"name", sv.component},
                    {"image", sv.image},
                    {"env", sv.env},
                    {"ports", {{{"name", "db"}, {"containerPort", sv.port}}}},
                    {"readinessProbe", {{"tcpSocket", {{"port", "db"}}}, {"periodSeconds", 5}}},
                    {"resources", limits_of(sv.memory, sv.cpu)},
                    {"securityContext", container_security()},
                    {"volumeMounts", mounts}};
  if (!sv.command.is_null()) container["command"] = sv.command;
  if (sv.management_port)
    container["ports"].push_back({{"name", "management"}, {"containerPort", sv.management_port}});
  json pod = {{"securityContext", pod_security(settings)},
              {"automountServiceAccountToken", false},
              {"terminationGracePeriodSeconds", 30},
              {"containers", {container}},
              {"volumes", volumes}};
  const json labels = database_labels(names, sv.component);
  json s = object_head("apps/v1", "StatefulSet", sv.host, names.ns, labels);
  s["spec"] = {
      {"serviceName", sv.host},
      {"replicas", 1},
      {"selector", {{"matchLabels", selector(names, sv.component)}}},
      {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod}}},
      {"volumeClaimTemplates",
       {{{"metadata", {{"name", "data"}, {"labels", made_by_others_labels(names, sv.component)}}},
         {"spec",
          {{"accessModes", {"ReadWriteOnce"}},
           {"resources", {{"requests", {{"storage", sv.size}}}}}}}}}}};
  return {s, server_service(names, sv.host, sv.port, sv.component, selector(names, sv.component),
                            sv.management_port)};
}

// The engine's official image: it makes the database and the user from its
// environment on first start.
std::vector<json> stateful_set(const SiteNames& names, const DatabasePlan& db,
                               const PlatformSettings& settings) {
  const bool maria = db.engine == "mariadb";
  Server sv{db.host,
            "db",
            maria ? settings.mariadb_image : postgresql_image_for(settings, db.version),
            maria ? "/var/lib/mysql" : "/var/lib/postgresql/data",
            maria ? "/run/mysqld" : "/var/run/postgresql",
            db.memory,
            db.cpu,
            db.size,
            db.port,
            json::array(),
            nullptr,
            0};
  if (maria) {
    sv.env = {{{"name", "MARIADB_DATABASE"}, {"value", db.database}},
              {{"name", "MARIADB_USER"}, {"value", db.user}},
              {{"name", "MARIADB_PASSWORD"}, {"valueFrom", password_ref(db.secret_name)}},
              // root only inside its pod: its generated password is in the log.
              {{"name", "MARIADB_RANDOM_ROOT_PASSWORD"}, {"value", "1"}},
              {{"name", "MARIADB_ROOT_HOST"}, {"value", "localhost"}}};
  } else {
    sv.env = {{{"name", "POSTGRES_DB"}, {"value", db.database}},
              {{"name", "POSTGRES_USER"}, {"value", db.user}},
              {{"name", "POSTGRES_PASSWORD"}, {"valueFrom", password_ref(db.secret_name)}},
              // Below the volume's root, which may hold lost+found.
              {{"name", "PGDATA"}, {"value", sv.data + "/pgdata"}}};
  }
  return stateful(names, sv, settings);
}

// spec.services[]: redis (its password required, append-only file on the
// volume) or rabbitmq (its user made from the environment on first start).
std::vector<json> service_set(const SiteNames& names, const ServicePlan& svc,
                              const PlatformSettings& settings) {
  Server sv{svc.host, svc.name,      "",      "", "", svc.memory, svc.cpu, svc.size,
            svc.port, json::array(), nullptr, 0};
  if (svc.engine == "redis") {
    sv.image = settings.redis_image;
    sv.data = "/data";
    sv.env = {{{"name", "REDIS_PASSWORD"}, {"valueFrom", password_ref(svc.secret_name)}}};
    sv.command = {"redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes",
                  "--dir", "/data", "--protected-mode", "no",
                  // A backup's snapshot (redis-cli --rdb) is sent at once.
                  "--repl-diskless-sync-delay", "0"};
  } else {
    sv.image = settings.rabbitmq_image;
    sv.data = "/var/lib/rabbitmq";
    sv.env = {{{"name", "RABBITMQ_DEFAULT_USER"}, {"value", svc.user}},
              {{"name", "RABBITMQ_DEFAULT_PASS"}, {"valueFrom", password_ref(svc.secret_name)}},
              // The management API, what backups read and restore it through
              // (platform/rabbitmq_backup.h); the site's user is its only one.
              {{"name", "RABBITMQ_ENABLED_PLUGINS"}, {"value", "rabbitmq_management"}}};
    sv.management_port = kRabbitMqManagementPort;
  }
  std::vector<json> out = stateful(names, sv, settings);
  out.push_back(network_policy(names, svc.host, svc.port, svc.name, sv.management_port));
  return out;
}

// CloudNativePG: one instance; its own Services are SITE-db-rw/-ro/-r, and
// ours (SITE-db) selects the primary, so DB_HOST is the same everywhere.
std::vector<json> cloudnative_pg(const SiteNames& names, const DatabasePlan& db,
                                 const PlatformSettings& settings) {
  json c =
      object_head("postgresql.cnpg.io/v1", "Cluster", db.host, names.ns, database_labels(names));
  c["spec"] = {
      {"instances", 1},
      // A new major version's image: CloudNativePG (1.26 and later) upgrades
      // the data in place (pg_upgrade) before the new server starts.
      {"imageName", postgresql_image_for(settings, db.version)},
      {"inheritedMetadata", {{"labels", made_by_others_labels(names)}}},
      {"bootstrap",
       {{"initdb",
         {{"database", db.database}, {"owner", db.user}, {"secret", {{"name", db.secret_name}}}}}}},
      {"storage", {{"size", db.size}}},
      {"resources", limits_of(db.memory, db.cpu)}};
  return {c, server_service(names, db.host, db.port, "db",
                            {{"cnpg.io/cluster", db.host}, {"cnpg.io/instanceRole", "primary"}})};
}

// mariadb-operator: its Service is named after the MariaDB object (SITE-db).
std::vector<json> mariadb_operator(const SiteNames& names, const DatabasePlan& db,
                                   const PlatformSettings& settings) {
  json m =
      object_head("k8s.mariadb.com/v1alpha1", "MariaDB", db.host, names.ns, database_labels(names));
  m["spec"] = {{"image", settings.mariadb_image},
               {"port", db.port},
               {"inheritMetadata", {{"labels", made_by_others_labels(names)}}},
               {"rootPasswordSecretKeyRef",
                {{"name", db.host + "-root"}, {"key", "password"}, {"generate", true}}},
               {"database", db.database},
               {"username", db.user},
               {"passwordSecretKeyRef", {{"name", db.secret_name}, {"key", "password"}}},
               {"storage", {{"size", db.size}}},
               {"resources", limits_of(db.memory, db.cpu)}};
  return {m};
}

}  // namespace

std::vector<json> render_database(const SiteNames& names, const SitePlan& plan,
                                  const PlatformSettings& settings) {
  std::vector<json> out;
  if (const DatabasePlan& db = plan.database; db.enabled()) {
    if (db.engine == "postgresql" && settings.postgresql_operator == "cloudnative-pg")
      out = cloudnative_pg(names, db, settings);
    else if (db.engine == "mariadb" && settings.mariadb_operator == "mariadb-operator")
      out = mariadb_operator(names, db, settings);
    else
      out = stateful_set(names, db, settings);
    out.push_back(network_policy(names, db.host, db.port, "db"));
  }
  for (const auto& svc : plan.services)
    for (json& o : service_set(names, svc, settings)) out.push_back(std::move(o));
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

namespace wok::render {

namespace {

bool is_cnpg(const PlatformSettings& settings) {
  return settings.postgresql_operator == "cloudnative-pg";
}

std::string default_postgresql_version() { return api::database_engine("postgresql")->version; }

}  // namespace

std::string postgresql_image_for(const PlatformSettings& settings, const std::string& version) {
  const bool cnpg = is_cnpg(settings);
  const std::string version_or_default = version.empty() ? default_postgresql_version() : version;
  const auto& others = cnpg ? settings.cnpg_postgresql_images : settings.postgresql_images;
  if (auto it = others.find(version_or_default); it != others.end()) return it->second;
  if (version_or_default == default_postgresql_version())
    return cnpg ? settings.cnpg_postgresql_image : settings.postgresql_image;
  return "";
}

std::vector<std::string> postgresql_versions(const PlatformSettings& settings) {
  std::vector<std::string> out = {default_postgresql_version()};
  for (const auto& [version, image] :
       is_cnpg(settings) ? settings.cnpg_postgresql_images : settings.postgresql_images)
    if (version != out.front()) out.push_back(version);
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return api::compare_versions(a, b) < 0;
  });
  return out;
}

std::string set_postgresql_image(PlatformSettings* settings, const std::string& value, bool cnpg) {
  const std::string flag = cnpg ? "--cnpg-postgresql-image" : "--postgresql-image";
  const size_t eq = value.find('=');
  const std::string version = eq == std::string::npos ? "" : value.substr(0, eq);
  const std::string image = eq == std::string::npos ? value : value.substr(eq + 1);
  if (image.empty() || image.find_first_of(" \t\n=") != std::string::npos)
    return flag + " \"" + value + "\": an image is [VERSION=]IMAGE";
  if (eq != std::string::npos &&
      (version.empty() || version.size() > 3 ||
       version.find_first_not_of("0123456789") != std::string::npos || version[0] == '0'))
    return flag + " \"" + value + "\": \"" + version +
           "\" is not a PostgreSQL major version (13, 15, 16...)";
  if (version.empty() || version == default_postgresql_version())
    (cnpg ? settings->cnpg_postgresql_image : settings->postgresql_image) = image;
  else
    (cnpg ? settings->cnpg_postgresql_images : settings->postgresql_images)[version] = image;
  return "";
}

std::string set_postgresql_images(PlatformSettings* settings,
                                  const std::vector<std::string>& images,
                                  const std::vector<std::string>& cnpg_images) {
  for (const auto& [list, cnpg] : {std::pair{&images, false}, std::pair{&cnpg_images, true}})
    for (const auto& value : *list)
      if (std::string err = set_postgresql_image(settings, value, cnpg); !err.empty()) return err;
  return "";
}

}  // namespace wok::render
