#include "api/schema.h"

#include <nlohmann/json.hpp>

namespace wok::api::schema {
namespace {

using nlohmann::json;

Rule leaf(Rule::Type type, std::string description) {
  Rule r{type, {}, {}, {}, {}, false, std::move(description)};
  return r;
}

const char* type_name(Rule::Type t) {
  switch (t) {
    case Rule::kString:
      return "a string";
    case Rule::kInt:
      return "an integer";
    case Rule::kBool:
      return "a boolean";
    case Rule::kObject:
      return "an object";
    case Rule::kArray:
      return "a list";
    case Rule::kStringMap:
      return "a map of strings";
    case Rule::kAny:
      return "anything";
  }
  return "?";
}

bool has_type(const json& v, Rule::Type t) {
  switch (t) {
    case Rule::kString:
      return v.is_string();
    case Rule::kInt:
      return v.is_number_integer();
    case Rule::kBool:
      return v.is_boolean();
    case Rule::kObject:
      return v.is_object();
    case Rule::kArray:
      return v.is_array();
    case Rule::kStringMap:
      return v.is_object();
    case Rule::kAny:
      return true;
  }
  return false;
}

Rule metadata_rule(bool namespaced) {
  std::map<std::string, Rule> f = {
      {"name", str()},
      {"labels", string_map()},
      {"annotations", string_map()},
      {"uid", str()},
      {"resourceVersion", str()},
      {"generation", integer()},
      {"creationTimestamp", str()},
  };
  if (namespaced) f["namespace"] = str();
  return object(std::move(f), {"name"});
}

Rule top_rule(bool namespaced, Rule spec) {
  return object({{"apiVersion", str()},
                 {"kind", str()},
                 {"metadata", metadata_rule(namespaced)},
                 {"spec", std::move(spec)},
                 {"status", any("Written by wok: observedGeneration, revision, conditions.")}},
                {"apiVersion", "kind", "metadata", "spec"});
}

Rule quantity(std::string description) { return str(std::move(description)); }

// php mode: php-fpm behind the wok router.
Rule php_rule() {
  return object(
      {{"docroot", str("Directory served, relative to the source (default: its root).")},
       {"frontController", str("Script that answers paths with no file (index.php).")},
       {"ini", string_map("php.ini settings (memory_limit: 256M).")},
       {"timeout", str("Longest a request may take, whole seconds from 1s to 1h (default 60s): "
                       "php-fpm ends the script and the router answers 504.")}},
      {}, "The php mode: php-fpm pool settings.");
}

Rule component_rule() {
  return object(
      {{"name", str("Component name (web, worker).")},
       {"image", str("OCI image to run; or give command to run from the source.")},
       {"command", array(str(), "argv run from the source when no image is given.")},
       {"port", integer("Port the component listens on ($PORT); routed components have one.")},
       {"replicas", integer("Number of instances (default 1).")},
       {"balance", one_of({"round-robin", "least-connections"},
                          "How the router spreads requests over the routed component's replicas "
                          "(default round-robin).")},
       {"env", string_map("Environment variables.")},
       {"secrets", array(str(), "Secrets of the project whose keys become environment variables.")},
       {"health", object({{"path", str("HTTP path that answers 2xx when healthy.")}})}},
      {"name"});
}

Rule app_rule() {
  return object(
      {{"components", array(component_rule(), "The processes of the application.")},
       {"autoscale",
        object({{"component", str("Component to scale (default: the routed one).")},
                {"minReplicas", integer()},
                {"maxReplicas", integer()},
                {"targetCPUUtilization", integer("Average CPU of a replica, percent of its "
                                                 "resources.cpu (1 CPU without one).")},
                {"targetRequestsPerSecond",
                 integer("Requests per second per replica, as the router counts them "
                         "(the routed component only).")}},
               {"maxReplicas"})},
       {"jobs",
        array(object({{"name", str("Job name (a DNS label).")},
                      {"schedule", str("Cron schedule, UTC (\"0 3 * * *\", \"@daily\").")},
                      {"component", str("Component whose image, env, files and network the job "
                                        "uses (default: the first).")},
                      {"command", array(str(), "argv run instead of the component's command.")},
                      {"concurrencyPolicy",
                       one_of({"Forbid", "Allow", "Replace"},
                              "When a run is due while one still runs: skip it (Forbid, "
                              "the default), run both (Allow), or stop the old one (Replace).")},
                      {"timeout", str("Longest a run may take (default 1h, at most 24h): then "
                                      "every process of the run is killed.")},
                      {"startingDeadline",
                       str("A run missed (wok down) is still started this late at most; "
                           "unset: the last missed run is always started once.")},
                      {"successfulJobsHistoryLimit", integer("Successful runs whose logs are "
                                                             "kept (default 3, 0-10).")},
                      {"failedJobsHistoryLimit", integer("Failed runs whose logs are kept "
                                                         "(default 3, 0-10).")}},
                     {"name", "schedule", "command"}),
              "Scheduled jobs (cron).")}},
      {"components"}, "The app mode: components, autoscaling and jobs.");
}

}  // namespace

Rule str(std::string d) { return leaf(Rule::kString, std::move(d)); }
Rule integer(std::string d) { return leaf(Rule::kInt, std::move(d)); }
Rule boolean(std::string d) { return leaf(Rule::kBool, std::move(d)); }
Rule any(std::string d) { return leaf(Rule::kAny, std::move(d)); }
Rule string_map(std::string d) { return leaf(Rule::kStringMap, std::move(d)); }
Rule object(std::map<std::string, Rule> fields, std::set<std::string> required, std::string d) {
  Rule r = leaf(Rule::kObject, std::move(d));
  r.fields = std::move(fields);
  r.required = std::move(required);
  return r;
}
Rule array(Rule item, std::string d) {
  Rule r = leaf(Rule::kArray, std::move(d));
  r.item.push_back(std::move(item));
  return r;
}
Rule one_of(std::vector<std::string> values, std::string d) {
  Rule r = str(std::move(d));
  r.values = std::move(values);
  return r;
}
Rule reserved(Rule rule) {
  rule.reserved = true;
  return rule;
}

// spec.backup of a site, and of a project (the default of its sites that
// keep data and have none of their own).
static Rule backup_rule(std::string description) {
  return object({{"schedule", str("When backups are taken, as a cron schedule in UTC "
                                  "(\"0 3 * * *\": every day at 03:00).")},
                 {"keep", object({{"last", integer("The newest N backups.")},
                                  {"hourly", integer("The newest of each of the last N hours.")},
                                  {"daily", integer("The newest of each of the last N days.")},
                                  {"weekly", integer("The newest of each of the last N weeks.")},
                                  {"monthly", integer("The newest of each of the last N months.")}},
                                 {},
                                 "Which scheduled backups are kept (default daily 7, weekly "
                                 "4); the rest are forgotten.")}},
                {"schedule"}, std::move(description));
}

const Rule& project_rule() {
  static const Rule rule = top_rule(
      false,
      object(
          {{"hosts", array(str(), "Host names the project's sites may claim: a name or *.domain.")},
           {"members",
            array(object({{"user", str()}, {"role", one_of({"admin", "developer", "viewer"})}},
                         {"user", "role"}),
                  "Users and their roles in the project.")},
           {"quota", object({{"sites", integer("At most this many sites.")},
                             {"cpu", quantity("CPU limit of all the project's pods (4, 500m).")},
                             {"memory", quantity("Memory limit of all its pods (8Gi).")},
                             {"storage", quantity("Storage of all its volumes (20Gi).")}})},
           {"network",
            object({{"egress", boolean("Whether its sites, their builds included, reach the "
                                       "internet (default true). Never the host, private "
                                       "networks or other projects.")}})},
           {"backup", backup_rule("Scheduled backups of each of its sites that keeps data "
                                  "(storage, a database, services) and has no spec.backup of "
                                  "its own (docs/data.md).")}},
          {"hosts"}));
  return rule;
}

const Rule& site_rule() {
  static const Rule rule = top_rule(
      true,
      object(
          {{"mode", one_of({"static", "php", "app"}, "How the site runs.")},
           {"hosts", array(str(), "Host names the site answers.")},
           {"source",
            object({{"git",
                     object({{"url", str("https://, file:// or an absolute path.")},
                             {"ref", str("Branch, tag or commit (default main).")},
                             {"path", str("Directory of the repository the site lives in.")},
                             {"interval", str("How often to fetch (default 3m).")},
                             {"webhookSecret", str("Secret of the project whose key `token` "
                                                   "verifies push webhooks (docs/webhooks.md).")}},
                            {"url"})}},
                   {"git"},
                   "Where the site's files come from. Required, except for an app whose every "
                   "component "
                   "runs an image (and which has no build).")},
           {"build", object({{"command", array(str(), "argv of the build.")},
                             {"output", str("What the build produced, relative to path.")},
                             {"timeout", str("Default 10m.")},
                             {"env", string_map()}},
                            {"command"})},
           // Mode-specific sections: validate_site refuses them on the wrong mode.
           {"php", php_rule()},
           {"app", app_rule()},
           {"storage", array(object({{"name", str()},
                                     {"path", str("Mount path, relative to the source.")},
                                     {"size", quantity("Size (1Gi).")}},
                                    {"name", "path", "size"}),
                             "Persistent volumes.")},
           {"database",
            object({{"engine", one_of({"mariadb", "postgresql"},
                                      "The database server: mariadb or postgresql.")},
                    {"version", str("The server's major version (mariadb 10.11, postgresql 15; "
                                    "default: the platform's, written into the spec). Changed "
                                    "only by wok db upgrade.")},
                    {"size", quantity("Its volume (2Gi): the data can never grow past it.")},
                    {"memory", quantity("The server's memory limit (default 512Mi).")}},
                   {"engine", "size"},
                   "A database of the site's own, reachable from its instances only; "
                   "its connection is in DATABASE_URL and DB_* (docs/data.md).")},
           {"services",
            array(object({{"name", str("Its name (a DNS label): the host SITE-NAME, the env "
                                       "NAME_HOST, NAME_URL...")},
                          {"engine", one_of({"redis", "rabbitmq"}, "redis or rabbitmq.")},
                          {"size", quantity("Its volume (default 256Mi).")},
                          {"memory", quantity("Its memory limit (redis 128Mi, rabbitmq 512Mi "
                                              "by default).")}},
                         {"name", "engine"}),
                  "Servers of the site's own beside its database: a message queue, a cache "
                  "(docs/data.md).")},
           {"backup", backup_rule("Scheduled backups of the site: its revision, volumes, "
                                  "database and services (docs/data.md).")},
           {"cloneFrom",
            object({{"site", str("The site whose backup seeds this one.")},
                    {"project", str("Its project (default: this one); the writer must be a "
                                    "developer or admin there.")},
                    {"backup", str("A backup id, or latest (default).")}},
                   {"site"},
                   "Before its first revision runs, the site's volumes, database and services "
                   "are filled from a backup of another site: a copy to try an upgrade on.")},
           {"maxBodySize",
            quantity("Largest request body (413 beyond it); at most the router's own limit.")},
           {"serveDotFiles",
            boolean("Serve paths through dot-files (.env, .git/, .htaccess) like other files "
                    "(default false: not found, except .well-known/).")},
           {"access",
            object(
                {{"ipAllow", array(str(),
                                   "Only clients from these networks (10.0.0.0/8, "
                                   "2001:db8::/32) reach the site; others get 403.")},
                 {"ipDeny", array(str(),
                                  "Clients from these networks get 403, whatever "
                                  "ipAllow says.")},
                 {"basicAuth",
                  object({{"secretName", str("The project's secret whose key `auth` holds htpasswd "
                                             "lines (bcrypt or argon2 hashes).")},
                          {"realm", str("What the browser's login box says.")}},
                         {"secretName"}, "A user name and password before the site.")},
                 {"oidc",
                  object({{"issuer", str("The OpenID provider's issuer URL "
                                         "(https://id.example.org/realms/x).")},
                          {"clientID", str("This site's client at the provider.")},
                          {"secretName", str("The project's secret whose key `client-secret` "
                                             "holds the client secret (and, on Kubernetes, "
                                             "`cookie-secret` the session key).")},
                          {"scopes", array(str(),
                                           "Scopes asked (default openid, "
                                           "email, profile).")},
                          {"userClaim", str("The claim naming the user (default "
                                            "email).")},
                          {"groupsClaim", str("The claim listing the user's groups "
                                              "(default groups).")},
                          {"allowedUsers", array(str(),
                                                 "Users let in (by the user "
                                                 "claim).")},
                          {"allowedGroups", array(str(),
                                                  "Groups whose members are "
                                                  "let in.")},
                          {"sessionDuration", str("How long a sign-in lasts (8h).")}},
                         {"issuer", "clientID", "secretName"},
                         "Sign in with OpenID Connect before the site; nobody else "
                         "gets in when allowedUsers or allowedGroups is set.")},
                 {"exempt", array(str(),
                                  "Paths that need no login (/.well-known/, "
                                  "/healthz); the address lists still apply.")}},
                {}, "Who may reach the site (docs/access.md).")},
           {"tls",
            object({{"mode", one_of({"auto", "secret", "off"},
                                    "auto (default): a certificate from the platform's issuer "
                                    "(ACME, or wok's local CA); secret: the project's secret "
                                    "secretName (tls.crt, tls.key); off: HTTP only.")},
                    {"secretName", str("mode secret: the secret holding tls.crt and tls.key.")},
                    {"redirect", boolean("Answer http:// with a redirect to https:// (default "
                                         "false).")},
                    {"hsts", object({{"maxAge", str("How long browsers keep to HTTPS (8760h).")},
                                     {"includeSubDomains", boolean()}},
                                    {"maxAge"}, "Strict-Transport-Security on HTTPS answers.")}},
                   {}, "HTTPS for the site's hosts (docs/tls.md).")},
           {"resources", object({{"memory", quantity("Memory limit per instance.")},
                                 {"cpu", quantity("CPU limit per instance.")}})}},
          // source: validate_site says when it is required (an app of images needs none).
          {"mode", "hosts"}));
  return rule;
}

void check(const json& v, const Rule& rule, const std::string& path, std::vector<FieldError>& out,
           bool reserved_too) {
  if (rule.reserved && !reserved_too) return;  // refused by name by the caller
  if (!has_type(v, rule.type)) {
    out.push_back({path, std::string("must be ") + type_name(rule.type)});
    return;
  }
  if (rule.type == Rule::kStringMap) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it.value().is_string()) out.push_back({path + "." + it.key(), "must be a string"});
    }
  } else if (rule.type == Rule::kArray && !rule.item.empty()) {
    for (size_t i = 0; i < v.size(); ++i) {
      check(v[i], rule.item[0], path + "[" + std::to_string(i) + "]", out, reserved_too);
    }
  } else if (rule.type == Rule::kObject) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      auto f = rule.fields.find(it.key());
      std::string sub = path.empty() ? it.key() : path + "." + it.key();
      if (f == rule.fields.end()) {
        out.push_back({sub, "unknown field"});
      } else if (!it.value().is_null()) {
        check(it.value(), f->second, sub, out, reserved_too);
      }
    }
    for (const auto& r : rule.required) {
      if (!v.contains(r) || v[r].is_null()) {
        out.push_back({path.empty() ? r : path + "." + r, "is required"});
      }
    }
  }
}

namespace {

json node_schema(const Rule& rule) {
  json s = json::object();
  switch (rule.type) {
    case Rule::kString:
      s["type"] = "string";
      break;
    case Rule::kInt:
      s["type"] = "integer";
      break;
    case Rule::kBool:
      s["type"] = "boolean";
      break;
    case Rule::kStringMap:
      s["type"] = "object";
      s["additionalProperties"] = {{"type", "string"}};
      break;
    case Rule::kAny:
      // Structural schemas need a type; status is always an object.
      s["type"] = "object";
      s["x-kubernetes-preserve-unknown-fields"] = true;
      break;
    case Rule::kArray:
      s["type"] = "array";
      s["items"] = rule.item.empty() ? json{{"type", "string"}} : node_schema(rule.item[0]);
      break;
    case Rule::kObject: {
      s["type"] = "object";
      json props = json::object();
      for (const auto& [name, sub] : rule.fields) props[name] = node_schema(sub);
      s["properties"] = props;
      if (!rule.required.empty()) s["required"] = rule.required;
      break;
    }
  }
  if (!rule.values.empty()) s["enum"] = rule.values;
  if (!rule.description.empty()) s["description"] = rule.description;
  return s;
}

}  // namespace

json openapi_schema(const Rule& rule) {
  json s = node_schema(rule);
  // The API server owns metadata's schema; a CRD may only say it is an object.
  s["properties"]["metadata"] = {{"type", "object"}};
  // apiVersion, kind and metadata are filled in by the API server on the
  // way in; only spec is the user's to give.
  s["required"] = json::array({"spec"});
  return s;
}

}  // namespace wok::api::schema
