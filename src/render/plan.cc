#include "render/plan.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/validation.h"

namespace wok::render {
using nlohmann::json;

namespace {

std::string string_of(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& object_of(const json& object, const char* key) {
  static const json empty = json::object();
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : empty;
}

std::vector<VolumePlan> volumes_of(const json& spec) {
  std::vector<VolumePlan> out;
  auto list = spec.find("storage");
  if (list == spec.end() || !list->is_array()) return out;
  for (const json& v : *list) {
    if (!v.is_object()) continue;
    std::string path = std::filesystem::path(string_of(v, "path")).lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    out.push_back({string_of(v, "name"), path, string_of(v, "size")});
  }
  return out;
}

DatabasePlan database_of(const std::string& site, const json& spec) {
  DatabasePlan db;
  const json& d = object_of(spec, "database");
  const api::DatabaseEngine* e = api::database_engine(string_of(d, "engine"));
  if (!e) return db;
  db.engine = e->name;
  db.version = string_of(d, "version");
  if (db.version.empty()) db.version = e->version;
  db.size = string_of(d, "size");
  db.memory = string_of(d, "memory");
  if (db.memory.empty()) db.memory = "512Mi";
  db.cpu = string_of(object_of(spec, "resources"), "cpu");
  db.host = site + "-db";
  db.port = e->port;
  db.database = site;
  std::replace(db.database.begin(), db.database.end(), '-', '_');
  db.user = db.database;
  db.secret_name = site + "-db";
  return db;
}

// What a component needs to reach the site's database.
void add_database_env(const DatabasePlan& db, ComponentPlan& c) {
  if (!db.enabled()) return;
  c.secret_env.push_back({"DB_PASSWORD", db.secret_name, "password"});
  const std::string scheme = db.engine == "mariadb" ? "mysql" : "postgresql";
  const std::string port = std::to_string(db.port);
  // The spec's env wins, as over PORT and WOK_*: a site may point elsewhere.
  c.env.emplace("DB_HOST", db.host);
  c.env.emplace("DB_PORT", port);
  c.env.emplace("DB_NAME", db.database);
  c.env.emplace("DB_USER", db.user);
  c.env.emplace("DATABASE_URL", scheme + "://" + db.user + ":$(DB_PASSWORD)@" + db.host + ":" +
                                    port + "/" + db.database);
}

std::vector<ServicePlan> services_of(const std::string& site, const json& spec) {
  std::vector<ServicePlan> out;
  auto list = spec.find("services");
  if (list == spec.end() || !list->is_array()) return out;
  for (const json& s : *list) {
    if (!s.is_object()) continue;
    const api::ServiceEngine* e = api::service_engine(string_of(s, "engine"));
    if (!e) continue;
    ServicePlan p;
    p.name = string_of(s, "name");
    p.engine = e->name;
    p.version = e->version;
    p.size = string_of(s, "size");
    if (p.size.empty()) p.size = "256Mi";
    p.memory = string_of(s, "memory");
    if (p.memory.empty()) p.memory = std::to_string(e->default_memory >> 20) + "Mi";
    p.cpu = string_of(object_of(spec, "resources"), "cpu");
    p.host = site + "-" + p.name;
    p.port = e->port;
    if (p.engine == "rabbitmq") {
      p.user = site;
      std::replace(p.user.begin(), p.user.end(), '-', '_');
    }
    p.secret_name = site + "-" + p.name;
    for (char ch : p.name) p.env_prefix += ch == '-' ? '_' : static_cast<char>(std::toupper(ch));
    out.push_back(std::move(p));
  }
  return out;
}

void add_service_env(const ServicePlan& s, ComponentPlan& c) {
  const std::string& x = s.env_prefix;
  const std::string port = std::to_string(s.port);
  c.secret_env.push_back({x + "_PASSWORD", s.secret_name, "password"});
  c.env.emplace(x + "_HOST", s.host);
  c.env.emplace(x + "_PORT", port);
  if (s.engine == "rabbitmq") {
    c.env.emplace(x + "_USER", s.user);
    c.env.emplace(x + "_URL",
                  "amqp://" + s.user + ":$(" + x + "_PASSWORD)@" + s.host + ":" + port + "/%2F");
  } else {
    c.env.emplace(x + "_URL", "redis://:$(" + x + "_PASSWORD)@" + s.host + ":" + port + "/0");
  }
}

}  // namespace

std::vector<GeneratedSecret> generated_secrets(const SitePlan& plan) {
  std::vector<GeneratedSecret> out;
  if (plan.database.enabled()) out.push_back({plan.database.secret_name, plan.database.user});
  for (const auto& s : plan.services) out.push_back({s.secret_name, s.user});
  return out;
}

std::string check_database_password(const std::string& password) {
  if (password.size() < 12 || password.size() > 128) return "must be 12 to 128 characters long";
  for (char ch : password) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '~' || ch == '-';
    if (!ok) return "may hold only letters, digits and . _ ~ -";
  }
  return "";
}

std::string volume_mount_path(const ComponentPlan& c, const VolumePlan& v,
                              const std::string& source_dir) {
  std::string base = c.image.empty() ? source_dir : "/";
  if (v.path.empty() || v.path == ".") return base;
  return base.ends_with('/') ? base + v.path : base + "/" + v.path;
}

SitePlan plan_site(const json& site) {
  SitePlan plan;
  const json& meta = object_of(site, "metadata");
  const json& spec = object_of(site, "spec");
  plan.ns = string_of(meta, "namespace");
  plan.name = string_of(meta, "name");
  plan.mode = string_of(spec, "mode");
  if (auto r = object_of(site, "status").find("revision");
      r != object_of(site, "status").end() && r->is_number_integer())
    plan.revision = r->get<int64_t>();
  if (plan.mode.empty()) plan.mode = "static";
  const json& resources = object_of(spec, "resources");
  auto limits = [&](ComponentPlan& c) {
    c.memory = string_of(resources, "memory");
    c.cpu = string_of(resources, "cpu");
  };
  if (plan.mode == "php" || plan.mode == "app") plan.volumes = volumes_of(spec);
  if (std::string max = string_of(spec, "maxBodySize"); !max.empty())
    plan.max_body_bytes = static_cast<uint64_t>(std::max(0LL, api::parse_memory_bytes(max)));
  plan.serve_dot_files = api::serves_dot_files(spec);
  const json& access = object_of(spec, "access");
  for (const char* list : {"ipAllow", "ipDeny"}) {
    auto it = access.find(list);
    if (it == access.end() || !it->is_array()) continue;
    for (const json& cidr : *it)
      if (cidr.is_string())
        (list[2] == 'A' ? plan.ip_allow : plan.ip_deny).push_back(cidr.get<std::string>());
  }
  const json& basic = object_of(access, "basicAuth");
  plan.basic_auth_secret = string_of(basic, "secretName");
  plan.basic_auth_realm = string_of(basic, "realm");
  if (plan.basic_auth_realm.empty() && !plan.basic_auth_secret.empty())
    plan.basic_auth_realm = plan.name;
  if (auto e = access.find("exempt"); e != access.end() && e->is_array())
    for (const json& p : *e)
      if (p.is_string()) plan.login_exempt.push_back(p.get<std::string>());
  const json& oidc = object_of(access, "oidc");
  plan.oidc.issuer = string_of(oidc, "issuer");
  plan.oidc.client_id = string_of(oidc, "clientID");
  plan.oidc.secret_name = string_of(oidc, "secretName");
  auto strings = [&](const char* key, std::vector<std::string>& out) {
    if (auto e = oidc.find(key); e != oidc.end() && e->is_array()) {
      out.clear();
      for (const json& v : *e)
        if (v.is_string()) out.push_back(v.get<std::string>());
    }
  };
  strings("scopes", plan.oidc.scopes);
  strings("allowedUsers", plan.oidc.allowed_users);
  strings("allowedGroups", plan.oidc.allowed_groups);
  if (std::string c = string_of(oidc, "userClaim"); !c.empty()) plan.oidc.user_claim = c;
  if (std::string c = string_of(oidc, "groupsClaim"); !c.empty()) plan.oidc.groups_claim = c;
  if (std::string d = string_of(oidc, "sessionDuration"); !d.empty())
    plan.oidc.session_s = std::max(60LL, api::parse_duration_ms(d) / 1000);
  const json& tls = object_of(spec, "tls");
  if (std::string mode = string_of(tls, "mode"); !mode.empty()) plan.tls.mode = mode;
  plan.tls.secret_name = string_of(tls, "secretName");
  if (auto r = tls.find("redirect"); r != tls.end() && r->is_boolean())
    plan.tls.redirect = r->get<bool>();
  const json& hsts = object_of(tls, "hsts");
  if (std::string age = string_of(hsts, "maxAge"); !age.empty())
    plan.tls.hsts_max_age_s = std::max(0LL, api::parse_duration_ms(age)) / 1000;
  if (auto s = hsts.find("includeSubDomains"); s != hsts.end() && s->is_boolean())
    plan.tls.hsts_include_subdomains = s->get<bool>();
  if (plan.mode == "php") {
    const json& php_spec = object_of(spec, "php");
    plan.php.docroot = string_of(php_spec, "docroot");
    if (std::string fc = string_of(php_spec, "frontController"); !fc.empty())
      plan.php.front_controller = fc;
    for (const auto& [key, value] : object_of(php_spec, "ini").items())
      if (value.is_string()) plan.php.ini[key] = value.get<std::string>();
    plan.php.timeout_ms = api::php_timeout_ms(spec);
  }
  if (plan.mode == "php" || plan.mode == "app") {
    plan.database = database_of(plan.name, spec);
    plan.services = services_of(plan.name, spec);
  }
  const json& backup = object_of(spec, "backup");
  plan.backup.schedule = string_of(backup, "schedule");
  plan.backup.on_cluster = spec.contains("backup") || !plan.volumes.empty() ||
                           plan.database.enabled() || !plan.services.empty();
  if (plan.mode == "php") {
    ComponentPlan php;
    php.name = "php";
    php.routed = true;
    limits(php);
    add_database_env(plan.database, php);
    for (const auto& s : plan.services) add_service_env(s, php);
    plan.routed = php.name;
    plan.components.push_back(std::move(php));
    return plan;
  }
  if (plan.mode != "app") return plan;
  const json& app = object_of(spec, "app");
  auto list = app.find("components");
  if (list == app.end() || !list->is_array()) return plan;
  const int routed = api::routed_component(*list);
  for (size_t i = 0; i < list->size(); ++i) {
    const json& c = (*list)[i];
    if (!c.is_object()) continue;
    ComponentPlan p;
    p.name = string_of(c, "name");
    p.replicas =
        c.contains("replicas") && c["replicas"].is_number_integer() ? c["replicas"].get<int>() : 1;
    p.image = string_of(c, "image");
    if (c.contains("command") && c["command"].is_array())
      for (const json& a : c["command"])
        if (a.is_string()) p.command.push_back(a.get<std::string>());
    if (c.contains("port") && c["port"].is_number_integer())
      p.port = static_cast<uint16_t>(c["port"].get<int>());
    p.routed = static_cast<int>(i) == routed;
    if (p.routed) {
      p.balance = string_of(c, "balance");
      plan.routed = p.name;
    }
    for (const auto& [k, v] : object_of(c, "env").items())
      if (v.is_string()) p.env[k] = v.get<std::string>();
    if (p.port) p.env["PORT"] = std::to_string(p.port);
    p.env["WOK_PROJECT"] = plan.ns;
    p.env["WOK_SITE"] = plan.name;
    p.env["WOK_COMPONENT"] = p.name;
    if (c.contains("secrets") && c["secrets"].is_array())
      for (const json& s : c["secrets"])
        if (s.is_string()) p.secrets.push_back(s.get<std::string>());
    p.health_path = string_of(object_of(c, "health"), "path");
    limits(p);
    add_database_env(plan.database, p);
    for (const auto& s : plan.services) add_service_env(s, p);
    if (p.port) p.service_names = {p.name, plan.name + "-" + p.name};
    plan.components.push_back(std::move(p));
  }
  for (api::JobSpec& job : api::app_jobs(spec)) {
    const ComponentPlan* c = find_component(plan, job.component);
    if (!c) continue;  // validation names a job's unknown component
    JobPlan j{std::move(job), *c};
    if (!j.job.command.empty()) j.run.command = j.job.command;
    plan.jobs.push_back(std::move(j));
  }
  if (app.contains("autoscale") && app["autoscale"].is_object()) {
    const json& a = app["autoscale"];
    auto int_of = [&](const char* key, int fallback) {
      return a.contains(key) && a[key].is_number_integer() ? a[key].get<int>() : fallback;
    };
    plan.autoscaled = true;
    plan.autoscale.component = string_of(a, "component");
    if (plan.autoscale.component.empty()) plan.autoscale.component = plan.routed;
    plan.autoscale.min_replicas = int_of("minReplicas", 1);
    plan.autoscale.max_replicas = int_of("maxReplicas", plan.autoscale.min_replicas);
    plan.autoscale.target_cpu_percent = int_of("targetCPUUtilization", 0);
    plan.autoscale.target_requests_per_second = int_of("targetRequestsPerSecond", 0);
    if (!plan.autoscale.target_cpu_percent && !plan.autoscale.target_requests_per_second)
      plan.autoscale.target_cpu_percent = 80;
  }
  return plan;
}

const ComponentPlan* find_component(const SitePlan& plan, const std::string& name) {
  for (const auto& c : plan.components)
    if (c.name == name) return &c;
  return nullptr;
}

namespace {

json secret_env_json(const std::vector<SecretEnv>& list) {
  json out = json::array();
  for (const auto& e : list)
    out.push_back({{"name", e.name}, {"secret", e.secret}, {"key", e.key}});
  return out;
}

json component_json(const ComponentPlan& c) {
  return {{"name", c.name},
          {"replicas", c.replicas},
          {"image", c.image},
          {"command", c.command},
          {"port", c.port},
          {"routed", c.routed},
          {"balance", c.balance},
          {"env", c.env},
          {"secrets", c.secrets},
          {"secretEnv", secret_env_json(c.secret_env)},
          {"healthPath", c.health_path},
          {"memory", c.memory},
          {"cpu", c.cpu},
          {"serviceNames", c.service_names}};
}

}  // namespace

std::map<std::string, std::string> php_admin_values(const PhpPlan& php) {
  std::map<std::string, std::string> values = {
      {"session.save_path", "/tmp"},
      {"upload_tmp_dir", "/tmp"},
      {"sys_temp_dir", "/tmp"},
      {"log_errors", "On"},
      {"max_execution_time", std::to_string(php.timeout_ms / 1000)}};
  for (const auto& [key, value] : php.ini) values[key] = value;
  return values;
}

std::string hsts_header(const TlsPlan& tls) {
  if (!tls.enabled() || tls.hsts_max_age_s < 0) return "";
  return "max-age=" + std::to_string(tls.hsts_max_age_s) +
         (tls.hsts_include_subdomains ? "; includeSubDomains" : "");
}

json plan_json(const SitePlan& plan) {
  json out = {
      {"namespace", plan.ns},
      {"name", plan.name},
      {"mode", plan.mode},
      {"revision", plan.revision},
      {"routed", plan.routed},
      {"maxBodyBytes", plan.max_body_bytes},
      {"serveDotFiles", plan.serve_dot_files},
      {"access",
       {{"ipAllow", plan.ip_allow},
        {"ipDeny", plan.ip_deny},
        {"basicAuth", {{"secretName", plan.basic_auth_secret}, {"realm", plan.basic_auth_realm}}},
        {"exempt", plan.login_exempt}}},
      {"tls",
       {{"mode", plan.tls.mode},
        {"secretName", plan.tls.secret_name},
        {"redirect", plan.tls.redirect},
        {"hsts", hsts_header(plan.tls)}}},
      {"components", json::array()},
      {"volumes", json::array()},
      {"jobs", json::array()}};
  if (plan.oidc.enabled())
    out["access"]["oidc"] = {{"issuer", plan.oidc.issuer},
                             {"clientID", plan.oidc.client_id},
                             {"secretName", plan.oidc.secret_name},
                             {"scopes", plan.oidc.scopes},
                             {"userClaim", plan.oidc.user_claim},
                             {"groupsClaim", plan.oidc.groups_claim},
                             {"allowedUsers", plan.oidc.allowed_users},
                             {"allowedGroups", plan.oidc.allowed_groups},
                             {"sessionSeconds", plan.oidc.session_s}};
  for (const auto& c : plan.components) out["components"].push_back(component_json(c));
  for (const auto& v : plan.volumes)
    out["volumes"].push_back({{"name", v.name}, {"path", v.path}, {"size", v.size}});
  for (const auto& j : plan.jobs) {
    out["jobs"].push_back({{"name", j.job.name},
                           {"schedule", j.job.schedule},
                           {"component", j.job.component},
                           {"concurrencyPolicy", j.job.concurrency_policy},
                           {"timeoutMs", j.job.timeout_ms},
                           {"startingDeadlineMs", j.job.starting_deadline_ms},
                           {"successfulHistory", j.job.successful_history},
                           {"failedHistory", j.job.failed_history},
                           {"run", component_json(j.run)}});
  }
  if (plan.autoscaled) {
    out["autoscale"] = {{"component", plan.autoscale.component},
                        {"minReplicas", plan.autoscale.min_replicas},
                        {"maxReplicas", plan.autoscale.max_replicas},
                        {"targetCPUPercent", plan.autoscale.target_cpu_percent},
                        {"targetRequestsPerSecond", plan.autoscale.target_requests_per_second}};
  }
  if (plan.database.enabled()) {
    const DatabasePlan& db = plan.database;
    out["database"] = {{"engine", db.engine}, {"version", db.version},
                       {"size", db.size},     {"memory", db.memory},
                       {"cpu", db.cpu},       {"host", db.host},
                       {"port", db.port},     {"database", db.database},
                       {"user", db.user},     {"secretName", db.secret_name}};
  }
  for (const auto& s : plan.services) {
    if (!out.contains("services")) out["services"] = json::array();
    out["services"].push_back({{"name", s.name},
                               {"engine", s.engine},
                               {"version", s.version},
                               {"size", s.size},
                               {"memory", s.memory},
                               {"cpu", s.cpu},
                               {"host", s.host},
                               {"port", s.port},
                               {"user", s.user},
                               {"secretName", s.secret_name},
                               {"envPrefix", s.env_prefix}});
  }
  if (plan.backup.on_cluster)
    out["backup"] = {{"schedule", plan.backup.schedule}, {"onCluster", plan.backup.on_cluster}};
  if (plan.mode == "php") {
    out["php"] = {{"docroot", plan.php.docroot},
                  {"frontController", plan.php.front_controller},
                  {"ini", plan.php.ini},
                  {"timeoutMs", plan.php.timeout_ms}};
  }
  return out;
}

}  // namespace wok::render
