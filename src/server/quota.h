#pragma once
// A project's spec.quota (sites, cpu, memory, storage) at admission: with the
// site being created or replaced in place of its stored self, the sum over
// the project's sites must stay within every limit the project sets. An
// instance counts its resources.cpu and resources.memory (memory unset: the
// runtime's default, 256Mi); php runs one instance, app the sum of its
// components' replicas, static none. Storage is the sum of spec.storage sizes.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/bounds.h"
#include "api/validation.h"

namespace wok::server {

struct SiteUsage {
  int64_t instances = 0;
  int64_t cpu_millis = 0;    // over all its instances
  int64_t memory_bytes = 0;  // over all its instances
  int64_t storage_bytes = 0;
  bool cpu_unlimited = false;  // an instance without resources.cpu
};
SiteUsage site_usage(const nlohmann::json& spec);

// "" when within the quota; else which limit and the numbers:
// "project team-a's quota of memory is 1Gi; its sites would use 1.5Gi".
// `sites`: the project's stored sites; `site`: the one created or replaced.
std::string quota_error(const nlohmann::json& project, const std::vector<nlohmann::json>& sites,
                        const nlohmann::json& site);

// SiteBounds, site_bound_errors, format_bytes, format_cpu: api/bounds.h
// (the operator checks the same bounds).
using api::format_bytes;
using api::format_cpu;
using api::site_bound_errors;
using api::SiteBounds;

}  // namespace wok::server
