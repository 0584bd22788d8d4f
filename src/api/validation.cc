#include "api/validation.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "api/schema.h"

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
  if (md.contains("name") && md["name"].is_string() && !is_dns_label(md["name"].get<std::string>())) {
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

}  // namespace

std::string join_errors(const std::vector<FieldError>& errors) {
  std::string s;
  for (const auto& e : errors) {
    if (!s.empty()) s += "; ";
    s += e.field + ": " + e.message;
  }
  return s;
}

bool is_dns_label(std::string_view n) {
  if (n.empty() || n.size() > 63) return false;
  for (char c : n) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-')) {
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
    std::string_view label = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
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
    if (unit == "ms") total += n;
    else if (unit == "s") total += n * 1000;
    else if (unit == "m") total += n * 60'000;
    else if (unit == "h") total += n * 3'600'000;
    else return -1;
  }
  return total;
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
  if (spec.contains("quota") && spec["quota"].contains("sites") && spec["quota"]["sites"].get<long long>() < 0) {
    out.push_back({"spec.quota.sites", "must not be negative"});
  }
  return out;
}

std::vector<FieldError> validate_site(const json& obj) {
  std::vector<FieldError> out;
  if (!obj.is_object()) return {{"", "must be an object"}};
  check(obj, site_rule(), "", out);
  check_metadata(obj, "Site", true, out);
  if (!out.empty()) return out;
  const json& spec = obj["spec"];
  std::string mode = spec["mode"].get<std::string>();
  if (mode == "php" || mode == "app") {
    out.push_back({"spec.mode", quote(mode) +
                                    " is not available yet: this version of wok hosts only "
                                    "\"static\" sites"});
  } else if (mode != "static") {
    out.push_back({"spec.mode", quote(mode) + " is not a mode (static, php, app)"});
  }
  for (const char* reserved : {"php", "app", "storage", "resources"}) {
    if (spec.contains(reserved)) {
      out.push_back({std::string("spec.") + reserved, "is not available yet for \"static\" sites"});
    }
  }
  check_hosts(spec["hosts"], false, out);
  const json& git = spec["source"]["git"];
  std::string url = git["url"].get<std::string>();
  if (url.empty()) out.push_back({"spec.source.git.url", "must not be empty"});
  else if (!(url.starts_with("file://") || url.starts_with("https://") || url.starts_with("http://") ||
             url.starts_with("/"))) {
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
    if (ms < 0) out.push_back({"spec.source.git.interval", quote(git["interval"].get<std::string>()) + " is not a duration (e.g. 60s, 5m)"});
    else if (ms > 0 && ms < 1000) out.push_back({"spec.source.git.interval", "must be at least 1s (or 0 to never poll)"});
  }
  if (spec.contains("build")) {
    const json& b = spec["build"];
    if (b["command"].empty()) out.push_back({"spec.build.command", "must not be empty"});
    if (b.contains("output") && b["output"].is_string() && !is_relative_inside(b["output"].get<std::string>())) {
      out.push_back({"spec.build.output", "must be a relative path inside the source"});
    }
    if (b.contains("timeout") && b["timeout"].is_string() && parse_duration_ms(b["timeout"].get<std::string>()) <= 0) {
      out.push_back({"spec.build.timeout", quote(b["timeout"].get<std::string>()) + " is not a duration (e.g. 10m)"});
    }
  }
  return out;
}

void default_site(json& obj) {
  json& git = obj["spec"]["source"]["git"];
  if (!git.contains("ref") || git["ref"].is_null()) git["ref"] = "main";
  if (!git.contains("interval") || git["interval"].is_null()) git["interval"] = "3m";
  if (obj["spec"].contains("build") && obj["spec"]["build"].is_object()) {
    json& b = obj["spec"]["build"];
    if (!b.contains("timeout") || b["timeout"].is_null()) b["timeout"] = "10m";
  }
}

}  // namespace wok::api
