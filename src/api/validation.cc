#include "api/validation.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "api/cron.h"
#include "api/jobs.h"
#include "api/schema.h"
#include "base/cidr.h"
#include "base/text.h"

namespace wok::api {
namespace {

using nlohmann::json;

using schema::check;
using schema::project_rule;
using schema::site_rule;

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A relative path inside the repository: no "..", not absolute.
bool is_relative_inside(std::string_view p) {
  if (p.empty()) return true;
  if (p.front() == '/' || p.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (p.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

void check_metadata(const json& obj, std::string_view kind, bool namespaced,
                    std::vector<FieldError>& out) {
  if (obj.value("apiVersion", "") != kApiVersion && obj.contains("apiVersion")) {
    out.push_back({"apiVersion", "must be " + std::string(kApiVersion)});
  }
  if (obj.contains("kind") && obj["kind"] != kind) {
    out.push_back({"kind", "must be " + std::string(kind)});
  }
  const json& md = obj.value("metadata", json::object());
  if (md.contains("name") && md["name"].is_string() &&
      !is_dns_label(md["name"].get<std::string>())) {
    out.push_back({"metadata.name", quote(md["name"].get<std::string>()) +
                                        " is not a valid name (lowercase letters, digits and "
                                        "'-', starting and ending with a letter or digit, at "
                                        "most 63 characters)"});
  }
  if (namespaced) {
    if (!md.contains("namespace") || !md["namespace"].is_string()) {
      out.push_back({"metadata.namespace", "is required (the project)"});
    } else if (!is_dns_label(md["namespace"].get<std::string>())) {
      out.push_back({"metadata.namespace",
                     quote(md["namespace"].get<std::string>()) + " is not a valid project name"});
    }
  }
}

void check_hosts(const json& hosts, bool patterns, std::vector<FieldError>& out) {
  if (!hosts.is_array()) return;
  if (hosts.empty()) out.push_back({"spec.hosts", "must list at least one host name"});
  std::set<std::string> seen;
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (!hosts[i].is_string()) continue;
    std::string h = hosts[i].get<std::string>();
    std::string path = "spec.hosts[" + std::to_string(i) + "]";
    if (!(patterns ? is_host_pattern(h) : is_host_pattern(h))) {
      out.push_back({path, quote(h) + " is not a valid host name"});
    } else if (!seen.insert(h).second) {
      out.push_back({path, quote(h) + " is listed twice"});
    }
  }
}

// Rejects a section that belongs to another mode, naming the field.
void check_mode_sections(const json& spec, const std::string& mode, std::vector<FieldError>& out) {
  const std::pair<const char*, const char*> owners[] = {{"php", "php"}, {"app", "app"}};
  for (const auto& [field, owner] : owners) {
    if (spec.contains(field) && !spec[field].is_null() && mode != owner) {
      out.push_back({std::string("spec.") + field,
                     "is only for \"" + std::string(owner) + "\" sites, not \"" + mode + "\""});
    }
  }
  if (spec.contains("storage") && !spec["storage"].is_null() && mode == "static") {
    out.push_back(
        {"spec.storage", "is only for \"php\" and \"app\" sites (static sites run no process)"});
  }
  if (spec.contains("resources") && !spec["resources"].is_null() && mode == "static") {
    out.push_back(
        {"spec.resources", "is only for \"php\" and \"app\" sites (static sites run no process)"});
  }
  if (spec.contains("maxBodySize") && !spec["maxBodySize"].is_null() && mode == "static") {
    out.push_back({"spec.maxBodySize",
                   "is only for \"php\" and \"app\" sites (static sites take no request bodies)"});
  }
  if (spec.contains("serveDotFiles") && !spec["serveDotFiles"].is_null() && mode == "app") {
    out.push_back({"spec.serveDotFiles",
                   "is only for \"static\" and \"php\" sites (an app serves its own paths)"});
  }
}

void check_php(const json& spec, std::vector<FieldError>& out) {
  if (spec.contains("php") && spec["php"].is_object()) {
    const json& php = spec["php"];
    if (php.contains("docroot") && php["docroot"].is_string() &&
        !is_relative_inside(php["docroot"].get<std::string>())) {
      out.push_back({"spec.php.docroot", "must be a relative path inside the source (no \"..\")"});
    }
    if (php.contains("frontController") && php["frontController"].is_string()) {
      std::string fc = php["frontController"];
      if (fc.empty() || !is_relative_inside(fc) || !fc.ends_with(".php")) {
        out.push_back({"spec.php.frontController",
                       quote(fc) + " must be a .php script relative to the docroot"});
      }
    }
    // Keys and values go into php-fpm's pool file on both platforms: a
    // line break, a quote or a bracket there would write other directives.
    if (php.contains("ini") && php["ini"].is_object()) {
      for (const auto& [key, value] : php["ini"].items()) {
        const std::string field = "spec.php.ini." + key;
        bool key_ok = !key.empty() && key.size() <= 128;
        for (char c : key)
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') key_ok = false;
        if (!key_ok) {
          out.push_back(
              {"spec.php.ini", quote(key) + " is not an ini name (letters, digits, _ and .)"});
          continue;
        }
        if (!value.is_string()) continue;  // the schema says what type
        const std::string v = value.get<std::string>();
        if (v.size() > 4096 || v.find_first_of(std::string("\n\r\"\0", 4)) != std::string::npos)
          out.push_back({field, "must be at most 4096 characters, without quotes or line breaks"});
      }
    }
    if (php.contains("timeout") && php["timeout"].is_string()) {
      std::string t = php["timeout"];
      long long ms = parse_duration_ms(t);
      if (ms < 0) {
        out.push_back({"spec.php.timeout", quote(t) + " is not a duration (e.g. 30s, 5m)"});
      } else if (ms < kMinPhpTimeoutMs || ms > kMaxPhpTimeoutMs) {
        out.push_back({"spec.php.timeout", quote(t) + " must be between 1s and 1h"});
      } else if (ms % 1000 != 0) {
        out.push_back(
            {"spec.php.timeout", quote(t) + " must be whole seconds (php-fpm counts in seconds)"});
      }
    }
  }
}

// Directories of an app's sandbox a volume never hides: an image
// component's volume `path` is mounted at "/" + path, and these belong to
// the kernel or to wok (the sandbox's users, /etc/wok, /run/wok).
bool reserved_app_mount(const std::string& path) {
  std::string first = path.substr(0, path.find('/'));
  for (const char* r : {"proc", "sys", "dev", "etc", "run", "tmp"})
    if (first == r) return true;
  return false;
}

void check_storage(const json& spec, const std::string& mode, std::vector<FieldError>& out) {
  if (!spec.contains("storage") || !spec["storage"].is_array()) return;
  std::set<std::string> names;
  for (size_t i = 0; i < spec["storage"].size(); ++i) {
    const json& v = spec["storage"][i];
    std::string path = "spec.storage[" + std::to_string(i) + "]";
    std::string name = v["name"], mount = v["path"], size = v["size"];
    if (!is_dns_label(name))
      out.push_back({path + ".name", quote(name) + " is not a valid name (a DNS label)"});
    else if (!names.insert(name).second)
      out.push_back({path + ".name", quote(name) + " is listed twice"});
    if (mount.empty() || !is_relative_inside(mount)) {
      out.push_back(
          {path + ".path", "must be a non-empty relative path inside the source (no \"..\")"});
    } else if (mode == "app") {
      std::string clean = std::filesystem::path(mount).lexically_normal().string();
      while (!clean.empty() && clean.back() == '/') clean.pop_back();
      if (clean.empty() || clean == ".") {
        out.push_back({path + ".path", quote(mount) + " must name a directory, not the root"});
      } else if (reserved_app_mount(clean)) {
        out.push_back(
            {path + ".path", quote(mount) + " would hide the sandbox's /" +
                                 clean.substr(0, clean.find('/')) +
                                 " (proc, sys, dev, etc, run and tmp are not for volumes)"});
      }
    }
    if (parse_memory_bytes(size) <= 0)
      out.push_back({path + ".size", quote(size) + " is not a size (e.g. 1Gi, 500Mi)"});
  }
}

void check_app(const json& spec, std::vector<FieldError>& out) {
  if (!spec.contains("app") || !spec["app"].is_object()) {
    out.push_back({"spec.app", "is required for \"app\" sites (its components)"});
    return;
  }
  const json& app = spec["app"];
  check_jobs(app, out);
  const json& comps = app["components"];
  if (comps.empty()) out.push_back({"spec.app.components", "must list at least one component"});
  std::set<std::string> names;
  const int routed = routed_component(comps);
  for (size_t i = 0; i < comps.size(); ++i) {
    const json& c = comps[i];
    std::string path = "spec.app.components[" + std::to_string(i) + "]";
    std::string name = c["name"];
    if (!is_dns_label(name))
      out.push_back({path + ".name", quote(name) + " is not a valid name (a DNS label)"});
    else if (!names.insert(name).second)
      out.push_back({path + ".name", quote(name) + " is listed twice"});
    bool image = c.contains("image") && !c["image"].is_null(),
         command = c.contains("command") && !c["command"].is_null();
    if (image == command) out.push_back({path, "needs exactly one of image and command"});
    if (command && c["command"].empty()) out.push_back({path + ".command", "must not be empty"});
    if (image && c["image"].get<std::string>().empty())
      out.push_back({path + ".image", "must not be empty"});
    if (c.contains("port") && c["port"].is_number_integer()) {
      long long p = c["port"];
      if (p < 1 || p > 65535)
        out.push_back({path + ".port", std::to_string(p) + " is not a port (1-65535)"});
    }
    if (c.contains("replicas") && c["replicas"].is_number_integer()) {
      long long r = c["replicas"];
      if (r < 0 || r > 20)
        out.push_back({path + ".replicas", std::to_string(r) + " is out of range (0-20)"});
    }
    if (c.contains("balance") && c["balance"].is_string()) {
      std::string b = c["balance"];
      if (b != "round-robin" && b != "least-connections") {
        out.push_back(
            {path + ".balance", quote(b) + " is not one of round-robin, least-connections"});
      } else if (static_cast<int>(i) != routed) {
        out.push_back(
            {path + ".balance",
             "only the routed component (\"web\", else the first with a port) is balanced"});
      }
    }
    if (c.contains("secrets") &&
        c["secrets"].is_array()) {  // secrets of the site's own project, by name
      std::set<std::string> seen;
      for (size_t k = 0; k < c["secrets"].size(); ++k) {
        if (!c["secrets"][k].is_string()) continue;  // the schema said so
        std::string s = c["secrets"][k], at = path + ".secrets[" + std::to_string(k) + "]";
        if (!is_dns_label(s))
          out.push_back({at, quote(s) + " is not a valid secret name (a DNS label)"});
        else if (!seen.insert(s).second)
          out.push_back({at, quote(s) + " is listed twice"});
      }
    }
    if (c.contains("health") && c["health"].is_object() && c["health"].contains("path") &&
        c["health"]["path"].is_string()) {
      std::string hp = c["health"]["path"];
      if (!hp.starts_with("/"))
        out.push_back({path + ".health.path", quote(hp) + " must start with '/'"});
    }
  }
}

// A job runs as the CronJob "SITE-JOB" on Kubernetes, whose names are at
// most 52 characters (11 are left for the Jobs' suffix): the same file must
// be accepted on both platforms, so both refuse a longer one.
void check_job_names(const std::string& site, const json& spec, std::vector<FieldError>& out) {
  if (!spec.contains("app") || !spec["app"].is_object() || !spec["app"].contains("jobs")) return;
  const json& jobs = spec["app"]["jobs"];
  if (!jobs.is_array()) return;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!jobs[i].is_object() || !jobs[i].contains("name") || !jobs[i]["name"].is_string()) continue;
    std::string cron_job = site + "-" + jobs[i]["name"].get<std::string>();
    // The names of the site's backup CronJob and of the Jobs of its
    // restores, lists and clones on a cluster (SITE-restore-HASH...).
    const std::string job = jobs[i]["name"];
    if (job == "backup" || job == "restore" || job == "list" || job == "clone") {
      out.push_back({"spec.app.jobs[" + std::to_string(i) + "].name",
                     quote(job) + " is taken: " + quote(cron_job) +
                         " names the site's backups on a cluster (backup, restore, list, clone)"});
    } else if (cron_job.size() > 52) {
      out.push_back(
          {"spec.app.jobs[" + std::to_string(i) + "].name",
           "makes the CronJob name " + quote(cron_job) + " " + std::to_string(cron_job.size()) +
               " characters long; Kubernetes allows 52 (shorten the site or the job name)"});
    }
  }
}

// spec.app.autoscale: bounds and targets that a replica count can follow.
void check_autoscale(const json& spec, std::vector<FieldError>& out) {
  if (!spec.contains("app") || !spec["app"].is_object() || !spec["app"].contains("autoscale"))
    return;
  const json& a = spec["app"]["autoscale"];
  if (!a.is_object()) return;
  const std::string path = "spec.app.autoscale";
  const json& comps = spec["app"].value("components", json::array());
  const int routed = routed_component(comps);
  std::string component = a.value("component", "");
  int index = -1;
  if (component.empty()) {
    index = routed;
    if (index < 0) out.push_back({path + ".component", "is required when no component has a port"});
  } else {
    for (size_t i = 0; i < comps.size(); ++i)
      if (comps[i].is_object() && comps[i].value("name", "") == component)
        index = static_cast<int>(i);
    if (index < 0)
      out.push_back({path + ".component", quote(component) + " is not a component of this site"});
  }
  auto int_of = [&](const char* key, long long fallback) {
    return a.contains(key) && a[key].is_number_integer() ? a[key].get<long long>() : fallback;
  };
  long long min = int_of("minReplicas", 1), max = int_of("maxReplicas", 1);
  if (min < 1 || min > 20)
    out.push_back({path + ".minReplicas", std::to_string(min) + " is out of range (1-20)"});
  if (max < 1 || max > 20)
    out.push_back({path + ".maxReplicas", std::to_string(max) + " is out of range (1-20)"});
  else if (max < min)
    out.push_back({path + ".maxReplicas",
                   std::to_string(max) + " is below minReplicas (" + std::to_string(min) + ")"});
  long long cpu = int_of("targetCPUUtilization", 80), rps = int_of("targetRequestsPerSecond", 1);
  if (cpu < 1 || cpu > 1000)
    out.push_back({path + ".targetCPUUtilization",
                   std::to_string(cpu) + " is out of range (1-1000 percent)"});
  if (rps < 1)
    out.push_back({path + ".targetRequestsPerSecond", std::to_string(rps) + " must be at least 1"});
  if (a.contains("targetRequestsPerSecond") && index >= 0 && index != routed)
    out.push_back({path + ".targetRequestsPerSecond",
                   "counts the routed component's requests: only it can follow them"});
}

// spec.access: networks in CIDR notation, a bounded number of each.
void check_access(const json& spec, std::vector<FieldError>& out) {
  if (!spec.contains("access") || !spec["access"].is_object()) return;
  for (const char* list : {"ipAllow", "ipDeny"}) {
    const json& a = spec["access"].value(list, json::array());
    if (!a.is_array()) continue;  // the schema says what type
    const std::string path = std::string("spec.access.") + list;
    if (a.size() > kMaxAccessNetworks) {
      out.push_back({path, "lists " + std::to_string(a.size()) + " networks; at most " +
                               std::to_string(kMaxAccessNetworks)});
    }
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) continue;
      std::string error;
      const std::string text = a[i].get<std::string>();
      if (!base::parse_cidr(text, &error))
        out.push_back({path + "[" + std::to_string(i) + "]", quote(text) + " " + error});
    }
  }
}

// spec.tls: a secret named for mode secret only; redirect and HSTS need HTTPS.
// spec.access.basicAuth and exempt: a secret's name, a realm a header can
// carry, absolute paths without tricks.
void check_login(const json& spec, std::vector<FieldError>& out) {
  if (!spec.contains("access") || !spec["access"].is_object()) return;
  const json& a = spec["access"];
  if (a.contains("basicAuth") && a["basicAuth"].is_object()) {
    const json& b = a["basicAuth"];
    if (b.contains("secretName") && b["secretName"].is_string() &&
        !is_dns_label(b["secretName"].get<std::string>()))
      out.push_back({"spec.access.basicAuth.secretName",
                     quote(b["secretName"].get<std::string>()) + " is not a secret name"});
    if (b.contains("realm") && b["realm"].is_string()) {
      std::string realm = b["realm"];
      bool printable = std::all_of(realm.begin(), realm.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f && c != '"' && c != '\\';
      });
      if (realm.size() > 100 || !printable)
        out.push_back({"spec.access.basicAuth.realm",
                       "must be at most 100 printable characters without quotes or backslashes"});
    }
  }
  if (a.contains("exempt") && a["exempt"].is_array()) {
    const json& list = a["exempt"];
    if (list.size() > 20)
      out.push_back(
          {"spec.access.exempt", "lists " + std::to_string(list.size()) + " paths; at most 20"});
    if (!a.contains("basicAuth") && !a.contains("oidc"))
      out.push_back({"spec.access.exempt", "exempts paths from a login: set basicAuth or oidc"});
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string()) continue;
      std::string p = list[i];
      bool clean = p.size() <= 256 && p.starts_with("/") &&
                   std::none_of(p.begin(), p.end(),
                                [](char c) {
                                  return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f ||
                                         c == '?' || c == '#' || c == '%' || c == '\\' ||
                                         c == ',' || c == '=';
                                }) &&
                   p.find("/../") == std::string::npos && !p.ends_with("/..") &&
                   p.find("//") == std::string::npos;
      if (!clean)
        out.push_back({"spec.access.exempt[" + std::to_string(i) + "]",
                       quote(p) +
                           " is not a plain absolute path (/.well-known/, /healthz; no spaces, "
                           "?, #, %, \\, commas or =)"});
    }
  }
}

// spec.access.oidc: an https:// issuer (OpenID Connect Discovery 1.0:
// the provider's identity, and what wok fetches: nothing else is asked of
// it), names a header or cookie can carry, bounded lists.
void check_oidc(const json& spec, std::vector<FieldError>& out) {
  if (!spec.contains("access") || !spec["access"].is_object()) return;
  const json& a = spec["access"];
  if (!a.contains("oidc") || !a["oidc"].is_object()) return;
  const json& o = a["oidc"];
  const std::string at = "spec.access.oidc.";
  if (a.contains("basicAuth"))
    out.push_back({"spec.access.oidc", "a site has one login: basicAuth or oidc, not both"});
  auto printable = [](const std::string& v, size_t max) {
    return !v.empty() && v.size() <= max && std::all_of(v.begin(), v.end(), [](char c) {
      auto u = static_cast<unsigned char>(c);
      return u > 0x20 && u < 0x7f && c != '"' && c != '\\' && c != ',' && c != ';';
    });
  };
  if (o.contains("issuer") && o["issuer"].is_string()) {
    std::string issuer = o["issuer"];
    std::string rest = issuer.starts_with("https://") ? issuer.substr(8) : "";
    bool ok = !rest.empty() && rest.front() != '/' && issuer.size() <= 512 &&
              issuer.find_first_of("?#@ \\") == std::string::npos &&
              std::none_of(issuer.begin(), issuer.end(), [](char c) {
                return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
              });
    if (!ok)
      out.push_back({at + "issuer", quote(issuer) +
                                        " is not an https:// issuer URL without query, fragment "
                                        "or user (https://id.example.org/realms/x)"});
  }
  if (o.contains("clientID") && o["clientID"].is_string() &&
      !printable(o["clientID"].get<std::string>(), 256))
    out.push_back({at + "clientID",
                   "must be 1 to 256 printable characters without spaces, "
                   "quotes, commas or semicolons"});
  if (o.contains("secretName") && o["secretName"].is_string() &&
      !is_dns_label(o["secretName"].get<std::string>()))
    out.push_back(
        {at + "secretName", quote(o["secretName"].get<std::string>()) + " is not a secret name"});
  for (const char* claim : {"userClaim", "groupsClaim"}) {
    if (o.contains(claim) && o[claim].is_string() && !printable(o[claim].get<std::string>(), 64))
      out.push_back({at + claim, "must be a claim name of 1 to 64 printable characters"});
  }
  for (const char* list : {"scopes", "allowedUsers", "allowedGroups"}) {
    if (!o.contains(list) || !o[list].is_array()) continue;
    const json& l = o[list];
    if (l.size() > 100)
      out.push_back({at + list, "lists " + std::to_string(l.size()) + " entries; at most 100"});
    for (size_t i = 0; i < l.size(); ++i)
      if (l[i].is_string() && !printable(l[i].get<std::string>(), 256))
        out.push_back({at + list + "[" + std::to_string(i) + "]",
                       quote(l[i].get<std::string>()) +
                           " must be 1 to 256 printable characters without spaces, quotes, "
                           "commas or semicolons"});
  }
  if (o.contains("scopes") && o["scopes"].is_array()) {
    bool openid = false;
    for (const json& v : o["scopes"]) openid = openid || v == "openid";
    if (!openid) out.push_back({at + "scopes", "must include openid"});
  }
  if (o.contains("sessionDuration") && o["sessionDuration"].is_string()) {
    std::string d = o["sessionDuration"];
    long long ms = parse_duration_ms(d);
    if (ms < 60 * 1000 || ms > 30LL * 24 * 3600 * 1000)
      out.push_back({at + "sessionDuration", quote(d) + " must be a duration from 1m to 720h"});
  }
}

// obj[key], a size (a volume) or a memory limit, when set: a quantity of at
// least `min` bytes; `engine` says whose minimum it is ("" for none).
void check_server_quantity(const json& obj, const char* key, const std::string& field, bool memory,
                           long long min, const std::string& engine, std::vector<FieldError>& out) {
  if (!obj.contains(key) || !obj[key].is_string()) return;
  const std::string text = obj[key];
  long long bytes = parse_memory_bytes(text);
  if (memory ? bytes < 0 : bytes <= 0)
    out.push_back({field, quote(text) + (memory ? " is not a memory quantity (e.g. 512Mi)"
                                                : " is not a size (e.g. 1Gi, 500Mi)")});
  else if (bytes < min)
    out.push_back({field, quote(text) + " is too small" + (engine.empty() ? "" : " for " + engine) +
                              " (at least " + std::to_string(min >> 20) + "Mi)"});
}

// SITE-NAME names a StatefulSet on a cluster: at most 52 characters.
void check_server_name_length(const std::string& site, const std::string& field,
                              const std::string& name, std::vector<FieldError>& out) {
  if (site.size() + 1 + name.size() > 52)
    out.push_back({field, "\"" + site + "-" + name +
                              "\" is too long a name for its server (at most 52 characters: a "
                              "shorter site or service name)"});
}

void check_database(const json& spec, const std::string& mode, const std::string& site,
                    std::vector<FieldError>& out) {
  if (!spec.contains("database") || !spec["database"].is_object()) return;
  const json& db = spec["database"];
  if (mode == "static") {
    out.push_back({"spec.database", "is only for \"php\" and \"app\" sites"});
    return;
  }
  const std::string engine = db.value("engine", "");
  const DatabaseEngine* e = database_engine(engine);
  if (!e) {
    out.push_back(
        {"spec.database.engine", quote(engine) + " is not an engine (mariadb, postgresql)"});
    return;
  }
  if (db.contains("version") && db["version"].is_string()) {
    const std::vector<std::string> offered = database_versions(engine);
    if (std::find(offered.begin(), offered.end(), db["version"].get<std::string>()) ==
        offered.end()) {
      out.push_back({"spec.database.version", quote(db["version"].get<std::string>()) +
                                                  " is not a version of " + engine +
                                                  " this platform runs (" + join(offered) + ")"});
    }
  }
  check_server_name_length(site, "spec.database", "db", out);
  check_server_quantity(db, "size", "spec.database.size", false, e->min_bytes, engine, out);
  check_server_quantity(db, "memory", "spec.database.memory", true, kMinDatabaseMemoryBytes, "",
                        out);
  // Its name in the site's network, and its Service's "SITE-db" on a cluster.
  if (mode == "app" && spec.contains("app") && spec["app"].contains("components") &&
      spec["app"]["components"].is_array()) {
    const json& list = spec["app"]["components"];
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i].is_object() && list[i].value("name", "") == "db")
        out.push_back({"spec.app.components[" + std::to_string(i) + "].name",
                       "\"db\" is the database's name when spec.database is set"});
  }
}

void check_services(const json& spec, const std::string& mode, const std::string& site,
                    std::vector<FieldError>& out) {
  if (!spec.contains("services") || !spec["services"].is_array()) return;
  const json& list = spec["services"];
  if (mode == "static") {
    out.push_back({"spec.services", "is only for \"php\" and \"app\" sites"});
    return;
  }
  if (list.size() > kMaxServices) {
    out.push_back({"spec.services", "has " + std::to_string(list.size()) + " services; at most " +
                                        std::to_string(kMaxServices)});
    return;
  }
  // Names share the site's network and its Services with the components.
  std::set<std::string> taken = {"db", "database"};  // "database": DATABASE_URL is the database's
  if (mode == "php") taken.insert("php");
  if (mode == "app" && spec.contains("app") && spec["app"].contains("components") &&
      spec["app"]["components"].is_array())
    for (const json& c : spec["app"]["components"])
      if (c.is_object() && c.contains("name") && c["name"].is_string()) taken.insert(c["name"]);
  for (size_t i = 0; i < list.size(); ++i) {
    const json& s = list[i];
    const std::string path = "spec.services[" + std::to_string(i) + "]";
    const std::string name = s.value("name", ""), engine = s.value("engine", "");
    // No "-": SITE-NAME would be another site's (a site "blog" with a
    // service "x-db" and a site "blog-x" with a database).
    if (!is_dns_label(name) || name.size() > 20 || name.find('-') != std::string::npos)
      out.push_back({path + ".name", quote(name) + " is not a valid name (lowercase letters and "
                                                   "digits, at most 20)"});
    else if (taken.count(name))
      out.push_back({path + ".name", quote(name) + " is taken (the database, a component or "
                                                   "another service)"});
    taken.insert(name);
    check_server_name_length(site, path + ".name", name, out);
    const ServiceEngine* e = service_engine(engine);
    if (!e)
      out.push_back({path + ".engine", quote(engine) + " is not an engine (redis, rabbitmq)"});
    check_server_quantity(s, "size", path + ".size", false, kMinServiceBytes, "", out);
    check_server_quantity(s, "memory", path + ".memory", true, e ? e->min_memory : 0,
                          e ? engine : "", out);
  }
}

void check_tls(const json& spec, std::vector<FieldError>& out) {
  if (!spec.contains("tls") || !spec["tls"].is_object()) return;
  const json& t = spec["tls"];
  const std::string mode = t.contains("mode") && t["mode"].is_string() ? t["mode"] : "auto";
  if (mode != "auto" && mode != "secret" && mode != "off") {
    out.push_back({"spec.tls.mode", quote(mode) + " is not a mode (auto, secret, off)"});
    return;
  }
  const bool has_secret = t.contains("secretName") && t["secretName"].is_string();
  if (mode == "secret" && !has_secret)
    out.push_back({"spec.tls.secretName", "is required with mode secret"});
  if (has_secret) {
    std::string name = t["secretName"];
    if (mode != "secret")
      out.push_back(
          {"spec.tls.secretName", "is only read with mode secret (mode is " + mode + ")"});
    else if (!is_dns_label(name))
      out.push_back({"spec.tls.secretName", quote(name) + " is not a secret name"});
  }
  if (mode == "off") {
    if (t.value("redirect", false))
      out.push_back({"spec.tls.redirect", "needs HTTPS: mode is off"});
    if (t.contains("hsts")) out.push_back({"spec.tls.hsts", "needs HTTPS: mode is off"});
  }
  if (t.contains("hsts") && t["hsts"].is_object() && t["hsts"].contains("maxAge") &&
      t["hsts"]["maxAge"].is_string()) {
    std::string age = t["hsts"]["maxAge"];
    long long ms = parse_duration_ms(age);
    if (ms < 0)
      out.push_back({"spec.tls.hsts.maxAge", quote(age) + " is not a duration (e.g. 8760h)"});
    else if (ms > 2ll * 366 * 24 * 3600 * 1000)
      out.push_back({"spec.tls.hsts.maxAge", quote(age) + " is over two years"});
  }
}

void check_resources(const json& spec, std::vector<FieldError>& out) {
  if (spec.contains("maxBodySize") && spec["maxBodySize"].is_string()) {
    std::string size = spec["maxBodySize"];
    if (parse_memory_bytes(size) < 0) {
      out.push_back({"spec.maxBodySize", quote(size) + " is not a size (e.g. 1Mi, 100Mi, 2Gi)"});
    }
  }
  if (!spec.contains("resources") || !spec["resources"].is_object()) return;
  const json& r = spec["resources"];
  if (r.contains("memory") && r["memory"].is_string()) {
    std::string m = r["memory"];
    long long bytes = parse_memory_bytes(m);
    if (bytes < 0)
      out.push_back(
          {"spec.resources.memory", quote(m) + " is not a memory quantity (e.g. 256Mi, 1Gi)"});
    else if (bytes < (4ll << 20))
      out.push_back({"spec.resources.memory", quote(m) + " is too small (at least 4Mi)"});
  }
  if (r.contains("cpu") && r["cpu"].is_string()) {
    std::string c = r["cpu"];
    long long millis = parse_cpu_millis(c);
    if (millis < 0)
      out.push_back(
          {"spec.resources.cpu", quote(c) + " is not a CPU quantity (e.g. 500m, 1, 2.5)"});
    else if (millis < 10)
      out.push_back({"spec.resources.cpu", quote(c) + " is too small (at least 10m)"});
  }
}

// Mantissa * 10^exp10 * 2^exp2, rounded nowhere: -1 unless a whole number.
long long scaled(std::string_view digits, long long exp10, int exp2) {
  size_t dot = digits.find('.');
  std::string whole(digits.substr(0, dot));
  std::string frac = dot == std::string_view::npos ? "" : std::string(digits.substr(dot + 1));
  if ((whole.empty() && frac.empty()) || whole.size() + frac.size() > 18) return -1;
  for (char ch : whole + frac) {
    if (!std::isdigit(static_cast<unsigned char>(ch))) return -1;
  }
  __int128 n = std::stoll("0" + whole + frac);
  exp10 -= static_cast<long long>(frac.size());
  const __int128 limit = __int128(1) << 62;
  for (; exp10 > 0; --exp10) {
    n *= 10;
    if (n > limit) return -1;
  }
  n <<= exp2;
  if (n > limit) return -1;
  for (; exp10 < 0; ++exp10) {
    if (n % 10 != 0) return -1;
    n /= 10;
  }
  return static_cast<long long>(n);
}

// Kubernetes suffixes, as (power of ten, power of two); base units.
long long parse_quantity(std::string_view text, long long extra_exp10) {
  static const std::pair<std::string_view, std::pair<int, int>> suffixes[] = {
      {"Ki", {0, 10}}, {"Mi", {0, 20}}, {"Gi", {0, 30}}, {"Ti", {0, 40}}, {"Pi", {0, 50}},
      {"Ei", {0, 60}}, {"k", {3, 0}},   {"M", {6, 0}},   {"G", {9, 0}},   {"T", {12, 0}},
      {"P", {15, 0}},  {"E", {18, 0}},  {"m", {-3, 0}}};
  for (const auto& [suffix, exps] : suffixes) {
    if (text.size() > suffix.size() && text.ends_with(suffix)) {
      return scaled(text.substr(0, text.size() - suffix.size()), exps.first + extra_exp10,
                    exps.second);
    }
  }
  return scaled(text, extra_exp10, 0);
}

void check_source(const json& git, std::vector<FieldError>& out) {
  std::string url = git["url"].get<std::string>();
  if (url.empty())
    out.push_back({"spec.source.git.url", "must not be empty"});
  else if (!(url.starts_with("file://") || url.starts_with("https://") ||
             url.starts_with("http://") || url.starts_with("/"))) {
    out.push_back({"spec.source.git.url",
                   quote(url) + " is not supported (use https://, file:// or an absolute path)"});
  }
  if (git.contains("ref") && git["ref"].is_string() && git["ref"].get<std::string>().empty()) {
    out.push_back({"spec.source.git.ref", "must not be empty"});
  }
  if (git.contains("path") && git["path"].is_string() &&
      !is_relative_inside(git["path"].get<std::string>())) {
    out.push_back({"spec.source.git.path", "must be a relative path inside the repository"});
  }
  if (git.contains("interval") && git["interval"].is_string()) {
    long long ms = parse_duration_ms(git["interval"].get<std::string>());
    if (ms < 0)
      out.push_back({"spec.source.git.interval", quote(git["interval"].get<std::string>()) +
                                                     " is not a duration (e.g. 60s, 5m)"});
    else if (ms > 0 && ms < 1000)
      out.push_back({"spec.source.git.interval", "must be at least 1s (or 0 to never poll)"});
  }
  if (git.contains("webhookSecret") && git["webhookSecret"].is_string() &&
      !is_dns_label(git["webhookSecret"].get<std::string>())) {
    out.push_back(
        {"spec.source.git.webhookSecret", quote(git["webhookSecret"].get<std::string>()) +
                                              " is not a valid secret name (a DNS label)"});
  }
}

void check_build(const json& spec, std::vector<FieldError>& out) {
  if (spec.contains("build") && spec["build"].is_object()) {
    const json& b = spec["build"];
    if (b["command"].empty()) out.push_back({"spec.build.command", "must not be empty"});
    if (b.contains("output") && b["output"].is_string() &&
        !is_relative_inside(b["output"].get<std::string>())) {
      out.push_back({"spec.build.output", "must be a relative path inside the source"});
    }
    if (b.contains("timeout") && b["timeout"].is_string() &&
        parse_duration_ms(b["timeout"].get<std::string>()) <= 0) {
      out.push_back({"spec.build.timeout",
                     quote(b["timeout"].get<std::string>()) + " is not a duration (e.g. 10m)"});
    }
  }
}

// Why a site with no spec.source needs one ("" when it does not: an app
// whose every component runs an image, with no build).
std::string source_needed_by(const json& spec) {
  if (spec.value("mode", "") != "app") {
    return "a \"" + spec.value("mode", "") + "\" site serves the repository's files";
  }
  if (spec.contains("build") && !spec["build"].is_null())
    return "spec.build runs in the repository";
  if (!spec.contains("app") || !spec["app"].is_object() || !spec["app"].contains("components") ||
      !spec["app"]["components"].is_array()) {
    return "";  // check_app names what is missing
  }
  for (const json& c : spec["app"]["components"]) {
    if (!c.is_object() || (c.contains("image") && !c["image"].is_null())) continue;
    return "component " + c.value("name", "") + " runs a command from the repository";
  }
  return "";
}

}  // namespace

bool has_source(const json& spec) {
  return spec.is_object() && spec.contains("source") && spec["source"].is_object() &&
         spec["source"].contains("git") && spec["source"]["git"].is_object();
}

long long parse_memory_bytes(std::string_view text) { return parse_quantity(text, 0); }
long long parse_cpu_millis(std::string_view text) { return parse_quantity(text, 3); }

std::string join_errors(const std::vector<FieldError>& errors) {
  std::string s;
  for (const auto& e : errors) {
    if (!s.empty()) s += "; ";
    s += e.field + ": " + e.message;
  }
  return s;
}

bool serves_dot_files(const json& spec) {
  return spec.is_object() && spec.contains("serveDotFiles") && spec["serveDotFiles"].is_boolean() &&
         spec["serveDotFiles"].get<bool>();
}

bool project_egress(const json& project_spec) {
  if (!project_spec.is_object() || !project_spec.contains("network") ||
      !project_spec["network"].is_object())
    return true;
  const json& n = project_spec["network"];
  return !n.contains("egress") || !n["egress"].is_boolean() || n["egress"].get<bool>();
}

int routed_component(const json& components) {
  if (!components.is_array()) return -1;
  auto listens = [](const json& c) {
    return c.is_object() && c.contains("port") && !c["port"].is_null();
  };
  for (size_t i = 0; i < components.size(); ++i) {
    const json& c = components[i];
    if (listens(c) && c.contains("name") && c["name"] == "web") return static_cast<int>(i);
  }
  for (size_t i = 0; i < components.size(); ++i) {
    if (listens(components[i])) return static_cast<int>(i);
  }
  return -1;
}

const ServiceEngine* service_engine(std::string_view name) {
  static const ServiceEngine engines[] = {{"redis", "7.0", 6379, 128ll << 20, 32ll << 20},
                                          {"rabbitmq", "3.10", 5672, 512ll << 20, 256ll << 20}};
  for (const auto& e : engines)
    if (name == e.name) return &e;
  return nullptr;
}

const DatabaseEngine* database_engine(std::string_view name) {
  static const DatabaseEngine engines[] = {{"mariadb", "10.11", 3306, 256ll << 20},
                                           {"postgresql", "15", 5432, 64ll << 20}};
  for (const auto& e : engines)
    if (name == e.name) return &e;
  return nullptr;
}

namespace {
std::mutex versions_mutex;
std::map<std::string, std::vector<std::string>, std::less<>>& offered_versions() {
  static std::map<std::string, std::vector<std::string>, std::less<>> offered;
  return offered;
}
}  // namespace

std::vector<std::string> database_versions(std::string_view engine) {
  const DatabaseEngine* e = database_engine(engine);
  if (!e) return {};
  std::vector<std::string> out;
  {
    std::lock_guard lock(versions_mutex);
    auto it = offered_versions().find(engine);
    if (it != offered_versions().end()) out = it->second;
  }
  if (std::find(out.begin(), out.end(), e->version) == out.end()) out.push_back(e->version);
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return compare_versions(a, b) < 0; });
  return out;
}

void offer_database_versions(std::string_view engine, std::vector<std::string> versions) {
  std::lock_guard lock(versions_mutex);
  offered_versions()[std::string(engine)] = std::move(versions);
}

int compare_versions(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    auto part = [](std::string_view& s) {
      long long n = 0;
      size_t i = 0;
      for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && n < 1'000'000; ++i)
        n = n * 10 + (s[i] - '0');
      s.remove_prefix(i < s.size() ? i + 1 : i);  // and the separator
      return n;
    };
    long long x = part(a), y = part(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string keep_database_version(const json& now, json& spec) {
  if (!now.is_object() || !spec.is_object() || !now.contains("database") ||
      !spec.contains("database") || !now["database"].is_object() || !spec["database"].is_object())
    return "";
  const json& was = now["database"];
  json& db = spec["database"];
  if (!was.contains("version") || !was["version"].is_string() ||
      was.value("engine", "") != db.value("engine", ""))
    return "";
  std::string asked;
  if (db.contains("version") && db["version"].is_string() && db["version"] != was["version"])
    asked = db["version"];
  db["version"] = was["version"];
  return asked;
}

bool is_backup_ref(const std::string& id) {
  return id == "latest" || (id.size() >= 8 && id.size() <= 64 &&
                            id.find_first_not_of("0123456789abcdef") == std::string::npos);
}

bool is_dns_label(std::string_view n) {
  if (n.empty() || n.size() > 63) return false;
  for (char c : n) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return n.front() != '-' && n.back() != '-';
}

bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (!is_dns_label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_host_pattern(std::string_view host) {
  if (host.starts_with("*.")) return is_host_name(host.substr(2));
  return is_host_name(host);
}

bool host_matches(std::string_view pattern, std::string_view host) {
  if (pattern == host) return true;
  if (!pattern.starts_with("*.") || host.starts_with("*.")) return false;
  std::string_view suffix = pattern.substr(1);  // ".team-a.localhost"
  if (host.size() <= suffix.size() || !host.ends_with(suffix)) return false;
  std::string_view first = host.substr(0, host.size() - suffix.size());
  return first.find('.') == std::string_view::npos;
}

long long php_timeout_ms(const json& spec) {
  if (!spec.is_object() || !spec.contains("php") || !spec["php"].is_object())
    return kDefaultPhpTimeoutMs;
  const json& php = spec["php"];
  if (!php.contains("timeout") || !php["timeout"].is_string()) return kDefaultPhpTimeoutMs;
  long long ms = parse_duration_ms(php["timeout"].get<std::string>());
  return ms < kMinPhpTimeoutMs || ms > kMaxPhpTimeoutMs ? kDefaultPhpTimeoutMs : ms / 1000 * 1000;
}

long long parse_duration_ms(std::string_view text) {
  if (text.empty()) return -1;
  long long total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 9) return -1;
    long long n = std::stoll(std::string(text.substr(start, i - start)));
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    if (unit == "ms")
      total += n;
    else if (unit == "s")
      total += n * 1000;
    else if (unit == "m")
      total += n * 60'000;
    else if (unit == "h")
      total += n * 3'600'000;
    else
      return -1;
  }
  return total;
}

// spec.backup, of a site or a project: a schedule cron reads, counts
// restic takes.
void check_backup_policy(const json& spec, std::vector<FieldError>& out) {
  if (!spec.contains("backup") || !spec["backup"].is_object()) return;
  const json& b = spec["backup"];
  std::string error;
  if (b.contains("schedule") && b["schedule"].is_string() && !parse_cron(b["schedule"], &error))
    out.push_back({"spec.backup.schedule", error});
  if (b.contains("keep") && b["keep"].is_object()) {
    for (const auto& [key, value] : b["keep"].items())
      if (value.is_number_integer() && (value.get<int64_t>() < 0 || value.get<int64_t>() > 1000))
        out.push_back({"spec.backup.keep." + key, "must be from 0 to 1000"});
  }
}

json backup_policy(const json& site_spec, const json& project_spec) {
  if (site_spec.is_object() && site_spec.contains("backup") && site_spec["backup"].is_object())
    return site_spec["backup"];
  auto non_empty = [&](const char* key) {
    if (!site_spec.is_object() || !site_spec.contains(key)) return false;
    const json& v = site_spec[key];
    return v.is_object() || (v.is_array() && !v.empty());
  };
  const bool keeps_data = non_empty("storage") || non_empty("database") || non_empty("services");
  if (keeps_data && project_spec.is_object() && project_spec.contains("backup") &&
      project_spec["backup"].is_object())
    return project_spec["backup"];
  return nullptr;
}

std::vector<FieldError> validate_project(const json& obj) {
  std::vector<FieldError> out;
  if (!obj.is_object()) return {{"", "must be an object"}};
  check(obj, project_rule(), "", out);
  check_metadata(obj, "Project", false, out);
  if (!out.empty()) return out;
  const json& spec = obj["spec"];
  check_hosts(spec["hosts"], true, out);
  if (spec.contains("members")) {
    std::set<std::string> users;
    for (size_t i = 0; i < spec["members"].size(); ++i) {
      const json& m = spec["members"][i];
      std::string path = "spec.members[" + std::to_string(i) + "]";
      std::string role = m["role"].get<std::string>();
      if (role != "admin" && role != "developer" && role != "viewer") {
        out.push_back({path + ".role", quote(role) + " is not a role (admin, developer, viewer)"});
      }
      std::string user = m["user"].get<std::string>();
      if (!is_dns_label(user)) {
        out.push_back({path + ".user", quote(user) + " is not a valid user name"});
      } else if (!users.insert(user).second) {
        out.push_back({path + ".user", quote(user) + " is listed twice"});
      }
    }
  }
  if (spec.contains("quota") && spec["quota"].contains("sites") &&
      spec["quota"]["sites"].get<long long>() < 0) {
    out.push_back({"spec.quota.sites", "must not be negative"});
  }
  check_backup_policy(spec, out);
  return out;
}

void check_backup(const json& spec, std::vector<FieldError>& out) {
  check_backup_policy(spec, out);
  if (spec.contains("cloneFrom") && spec["cloneFrom"].is_object()) {
    const json& c = spec["cloneFrom"];
    if (c.contains("site") && c["site"].is_string() && !is_dns_label(c["site"].get<std::string>()))
      out.push_back(
          {"spec.cloneFrom.site", quote(c["site"].get<std::string>()) + " is not a site name"});
    if (c.contains("project") && c["project"].is_string() &&
        !is_dns_label(c["project"].get<std::string>()))
      out.push_back({"spec.cloneFrom.project",
                     quote(c["project"].get<std::string>()) + " is not a project name"});
    if (c.contains("backup") && c["backup"].is_string()) {
      const std::string id = c["backup"];
      if (!is_backup_ref(id))
        out.push_back({"spec.cloneFrom.backup",
                       quote(id) + " is not a backup id (8 to 64 hex digits) nor latest"});
    }
  }
}

std::vector<FieldError> validate_site(const json& obj) {
  std::vector<FieldError> out;
  if (!obj.is_object()) return {{"", "must be an object"}};
  check(obj, site_rule(), "", out);
  check_metadata(obj, "Site", true, out);
  if (!out.empty()) return out;
  const json& spec = obj["spec"];
  std::string mode = spec["mode"].get<std::string>();
  if (mode != "static" && mode != "php" && mode != "app") {
    out.push_back({"spec.mode", quote(mode) + " is not a mode (static, php, app)"});
  } else {
    check_mode_sections(spec, mode, out);
    if (mode == "php") check_php(spec, out);
    if (mode != "static") check_storage(spec, mode, out);
    if (mode == "app") {
      check_app(spec, out);
      check_autoscale(spec, out);
      check_job_names(obj["metadata"].value("name", ""), spec, out);
    }
    check_resources(spec, out);
    check_access(spec, out);
    check_login(spec, out);
    check_oidc(spec, out);
    check_tls(spec, out);
    const std::string site = obj["metadata"].value("name", "");
    check_database(spec, mode, site, out);
    check_services(spec, mode, site, out);
    check_backup(spec, out);
  }
  check_hosts(spec["hosts"], false, out);
  check_build(spec, out);
  if (!has_source(spec)) {
    if (std::string why = source_needed_by(spec); !why.empty())
      out.push_back({"spec.source", "is required: " + why});
    return out;
  }
  check_source(spec["source"]["git"], out);
  return out;
}

void default_site(json& obj) {
  if (has_source(obj["spec"])) {
    json& git = obj["spec"]["source"]["git"];
    if (!git.contains("ref") || git["ref"].is_null()) git["ref"] = "main";
    if (!git.contains("interval") || git["interval"].is_null()) git["interval"] = "3m";
  }
  if (obj["spec"].contains("build") && obj["spec"]["build"].is_object()) {
    json& b = obj["spec"]["build"];
    if (!b.contains("timeout") || b["timeout"].is_null()) b["timeout"] = "10m";
  }
  json& spec = obj["spec"];
  if (spec.contains("database") && spec["database"].is_object()) {
    json& db = spec["database"];
    const DatabaseEngine* e = database_engine(db.value("engine", ""));
    if (e && (!db.contains("version") || db["version"].is_null())) db["version"] = e->version;
  }
  if (spec.value("mode", "") == "app" && spec.contains("app") && spec["app"].is_object() &&
      spec["app"].contains("components") && spec["app"]["components"].is_array()) {
    for (auto& c : spec["app"]["components"]) {
      if (c.is_object() && (!c.contains("replicas") || c["replicas"].is_null())) c["replicas"] = 1;
    }
  }
}

}  // namespace wok::api
