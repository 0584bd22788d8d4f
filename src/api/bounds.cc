#include "api/bounds.h"

#include <cstdio>
#include <tuple>

namespace wok::api {

using nlohmann::json;

namespace {

int64_t quantity(const json& object, const char* key, bool cpu) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return -1;
  const std::string text = object[key];
  return cpu ? parse_cpu_millis(text) : parse_memory_bytes(text);
}

}  // namespace

std::vector<FieldError> site_bound_errors(const json& spec, const SiteBounds& bounds) {
  std::vector<FieldError> out;
  if (!spec.is_object()) return out;
  const std::string& command = bounds.command;
  auto over = [&command](const std::string& value, const std::string& limit, const char* per,
                         const char* flag) {
    return value + " is over the platform's limit of " + limit + " per " + per + " (" + command +
           " --max-site-" + flag + ")";
  };
  const json resources = spec.value("resources", json::object());
  if (int64_t memory = quantity(resources, "memory", false); memory > bounds.memory_bytes) {
    out.push_back(
        {"spec.resources.memory", over(resources["memory"].get<std::string>(),
                                       format_bytes(bounds.memory_bytes), "instance", "memory")});
  }
  if (int64_t cpu = quantity(resources, "cpu", true); cpu > bounds.cpu_millis) {
    out.push_back({"spec.resources.cpu", over(resources["cpu"].get<std::string>(),
                                              format_cpu(bounds.cpu_millis), "instance", "cpu")});
  }
  if (spec.contains("app") && spec["app"].is_object() && spec["app"].contains("components") &&
      spec["app"]["components"].is_array()) {
    const json& components = spec["app"]["components"];
    for (size_t i = 0; i < components.size(); ++i) {
      const json& c = components[i];
      if (!c.is_object() || !c.contains("replicas") || !c["replicas"].is_number_integer()) continue;
      if (int64_t replicas = c["replicas"].get<int64_t>(); replicas > bounds.replicas) {
        out.push_back({"spec.app.components[" + std::to_string(i) + "].replicas",
                       over(std::to_string(replicas), std::to_string(bounds.replicas), "component",
                            "replicas")});
      }
    }
    // The autoscaler would run up to maxReplicas: the same bound holds.
    const json& a = spec["app"].contains("autoscale") ? spec["app"]["autoscale"] : json();
    if (a.is_object() && a.contains("maxReplicas") && a["maxReplicas"].is_number_integer()) {
      if (int64_t max = a["maxReplicas"].get<int64_t>(); max > bounds.replicas) {
        out.push_back(
            {"spec.app.autoscale.maxReplicas",
             over(std::to_string(max), std::to_string(bounds.replicas), "component", "replicas")});
      }
    }
  }
  if (spec.contains("storage") && spec["storage"].is_array()) {
    int64_t sum = 0;
    bool one_over = false;
    for (size_t i = 0; i < spec["storage"].size(); ++i) {
      const json& v = spec["storage"][i];
      int64_t size = quantity(v, "size", false);
      if (size <= 0) continue;
      sum = size > INT64_MAX - sum ? INT64_MAX : sum + size;
      if (size > bounds.storage_bytes) {
        one_over = true;
        out.push_back({"spec.storage[" + std::to_string(i) + "].size",
                       over(v["size"].get<std::string>(), format_bytes(bounds.storage_bytes),
                            "site", "storage")});
      }
    }
    if (!one_over && sum > bounds.storage_bytes) {
      out.push_back({"spec.storage", over(format_bytes(sum) + " in all",
                                          format_bytes(bounds.storage_bytes), "site", "storage")});
    }
  }
  return out;
}

bool parse_site_bounds(const std::string& memory, const std::string& cpu, int replicas,
                       const std::string& storage, SiteBounds* bounds, std::string* error) {
  bounds->memory_bytes = parse_memory_bytes(memory);
  bounds->cpu_millis = parse_cpu_millis(cpu);
  bounds->replicas = replicas;
  bounds->storage_bytes = parse_memory_bytes(storage);
  for (auto [value, text, flag] : {std::tuple{bounds->memory_bytes, &memory, "memory"},
                                   std::tuple{bounds->cpu_millis, &cpu, "cpu"},
                                   std::tuple{bounds->storage_bytes, &storage, "storage"}}) {
    if (value <= 0) {
      *error = "--max-site-" + std::string(flag) + " \"" + *text + "\" is not a positive quantity";
      return false;
    }
  }
  if (replicas < 0 || replicas > 20) {
    *error = "--max-site-replicas " + std::to_string(replicas) + " is out of range (0-20)";
    return false;
  }
  return true;
}

std::string format_bytes(int64_t bytes) {
  static const char* units[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes < 1024) return std::to_string(bytes);
  int unit = 0;
  double value = static_cast<double>(bytes) / 1024;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + units[unit];
}

std::string format_cpu(int64_t millis) {
  return millis % 1000 == 0 ? std::to_string(millis / 1000) : std::to_string(millis) + "m";
}

}  // namespace wok::api
