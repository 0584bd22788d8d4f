#include "server/quota.h"

#include <cstdint>
#include <cstdio>

#include "api/validation.h"

namespace wok::server {

using nlohmann::json;

namespace {

constexpr int64_t kDefaultMemoryBytes = 256ll << 20;  // runtime::Resources' default

int64_t quantity(const json& object, const char* key, bool cpu) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return -1;
  const std::string text = object[key];
  return cpu ? api::parse_cpu_millis(text) : api::parse_memory_bytes(text);
}

std::string name_of(const json& site) {
  return site.contains("metadata") && site["metadata"].is_object()
             ? site["metadata"].value("name", "")
             : "";
}

}  // namespace

SiteUsage site_usage(const json& spec) {
  SiteUsage u;
  if (!spec.is_object()) return u;
  const std::string mode = spec.value("mode", "static");
  if (mode == "php") {
    u.instances = 1;
  } else if (mode == "app" && spec.contains("app") && spec["app"].is_object() &&
             spec["app"].contains("components") && spec["app"]["components"].is_array()) {
    const json& components = spec["app"]["components"];
    // An autoscaled component counts the most it may run: its maxReplicas.
    const json autoscale = spec["app"].value("autoscale", json::object());
    std::string scaled;
    int64_t scaled_max = 0;
    if (autoscale.is_object() && !autoscale.empty()) {
      scaled = autoscale.value("component", "");
      if (scaled.empty()) {
        int routed = api::routed_component(components);
        if (routed >= 0) scaled = components[static_cast<size_t>(routed)].value("name", "");
      }
      if (autoscale.contains("maxReplicas") && autoscale["maxReplicas"].is_number_integer())
        scaled_max = autoscale["maxReplicas"].get<int64_t>();
    }
    for (const auto& c : components) {
      int64_t n = c.is_object() && c.contains("replicas") && c["replicas"].is_number_integer()
                      ? std::max<int64_t>(0, c["replicas"].get<int64_t>())
                      : 1;
      if (c.is_object() && !scaled.empty() && c.value("name", "") == scaled)
        n = std::max(n, scaled_max);
      u.instances += n;
    }
  }
  const json resources = spec.value("resources", json::object());
  int64_t memory = quantity(resources, "memory", false);
  int64_t cpu = quantity(resources, "cpu", true);
  if (memory < 0) memory = kDefaultMemoryBytes;
  u.memory_bytes = u.instances * memory;
  if (cpu <= 0)
    u.cpu_unlimited = u.instances > 0;
  else
    u.cpu_millis = u.instances * cpu;
  if (spec.contains("storage") && spec["storage"].is_array()) {
    for (const auto& v : spec["storage"])
      u.storage_bytes += std::max<int64_t>(0, quantity(v, "size", false));
  }
  // spec.database: one more instance, its memory limit and its volume.
  if (spec.contains("database") && spec["database"].is_object()) {
    const json& db = spec["database"];
    int64_t db_memory = quantity(db, "memory", false);
    u.instances += 1;
    u.memory_bytes += db_memory < 0 ? api::kDefaultDatabaseMemoryBytes : db_memory;
    u.storage_bytes += std::max<int64_t>(0, quantity(db, "size", false));
    if (cpu > 0)  // the site's CPU limit is its database's too
      u.cpu_millis += cpu;
    else
      u.cpu_unlimited = true;
  }
  // spec.services: the same, each.
  if (spec.contains("services") && spec["services"].is_array()) {
    for (const json& s : spec["services"]) {
      const api::ServiceEngine* e =
          s.is_object() ? api::service_engine(s.value("engine", "")) : nullptr;
      if (!e) continue;
      int64_t memory = quantity(s, "memory", false);
      int64_t size = quantity(s, "size", false);
      u.instances += 1;
      u.memory_bytes += memory < 0 ? e->default_memory : memory;
      u.storage_bytes += size < 0 ? api::kDefaultServiceBytes : size;
      if (cpu > 0)
        u.cpu_millis += cpu;
      else
        u.cpu_unlimited = true;
    }
  }
  return u;
}

namespace {

struct Totals {
  int64_t sites = 0;
  SiteUsage usage;
  std::string unlimited;  // a site whose instances have no cpu limit
};

// The project's sites, with `site` in place of its stored self (or without it).
Totals totals(const std::vector<json>& sites, const json* site) {
  Totals t;
  auto add = [&t](const json& s) {
    ++t.sites;
    SiteUsage u = site_usage(s.value("spec", json::object()));
    t.usage.cpu_millis += u.cpu_millis;
    t.usage.memory_bytes += u.memory_bytes;
    t.usage.storage_bytes += u.storage_bytes;
    if (u.cpu_unlimited && t.unlimited.empty()) t.unlimited = name_of(s);
  };
  if (site) add(*site);
  for (const auto& s : sites) {
    if (!site || name_of(s) != name_of(*site)) add(s);
  }
  return t;
}

}  // namespace

std::string quota_error(const json& project, const std::vector<json>& sites, const json& site) {
  if (!project.contains("spec") || !project["spec"].is_object() ||
      !project["spec"].contains("quota") || !project["spec"]["quota"].is_object()) {
    return "";
  }
  const json& quota = project["spec"]["quota"];
  const std::string prefix = "project " + project["metadata"].value("name", "") + "'s quota of ";
  const Totals next = totals(sites, &site);
  bool replaced = false;
  for (const auto& s : sites) replaced = replaced || name_of(s) == name_of(site);
  // Only what grows is refused: a project already over a quota the admin
  // lowered may still shrink its sites.
  const Totals now = totals(sites, nullptr);
  if (quota.contains("sites") && quota["sites"].is_number_integer() && !replaced &&
      next.sites > quota["sites"].get<int64_t>()) {
    return prefix + "sites is " + quota["sites"].dump() + "; it would have " +
           std::to_string(next.sites);
  }
  if (int64_t limit = quantity(quota, "cpu", true); limit >= 0) {
    if (!next.unlimited.empty() && next.unlimited == name_of(site)) {
      return prefix + "cpu is " + quota["cpu"].get<std::string>() + "; site " + next.unlimited +
             " runs instances without a cpu limit: set its resources.cpu";
    }
    if (next.usage.cpu_millis > limit && next.usage.cpu_millis > now.usage.cpu_millis) {
      return prefix + "cpu is " + quota["cpu"].get<std::string>() + "; its sites would use " +
             format_cpu(next.usage.cpu_millis);
    }
  }
  if (int64_t limit = quantity(quota, "memory", false);
      limit >= 0 && next.usage.memory_bytes > limit &&
      next.usage.memory_bytes > now.usage.memory_bytes) {
    return prefix + "memory is " + quota["memory"].get<std::string>() + "; its sites would use " +
           format_bytes(next.usage.memory_bytes);
  }
  if (int64_t limit = quantity(quota, "storage", false);
      limit >= 0 && next.usage.storage_bytes > limit &&
      next.usage.storage_bytes > now.usage.storage_bytes) {
    return prefix + "storage is " + quota["storage"].get<std::string>() + "; its sites would use " +
           format_bytes(next.usage.storage_bytes);
  }
  return "";
}

}  // namespace wok::server
