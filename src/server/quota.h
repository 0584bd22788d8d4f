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

#include "api/validation.h"

namespace wok::server {

struct SiteUsage {
  int64_t instances = 0;
  int64_t cpu_millis = 0;     // over all its instances
  int64_t memory_bytes = 0;   // over all its instances
  int64_t storage_bytes = 0;
  bool cpu_unlimited = false;  // an instance without resources.cpu
};
SiteUsage site_usage(const nlohmann::json& spec);

// "" when within the quota; else which limit and the numbers:
// "project team-a's quota of memory is 1Gi; its sites would use 1.5Gi".
// `sites`: the project's stored sites; `site`: the one created or replaced.
std::string quota_error(const nlohmann::json& project, const std::vector<nlohmann::json>& sites,
                        const nlohmann::json& site);

// The admin's upper bounds on one site (wok up --max-site-*), for members
// and the platform admin alike: resources.memory and resources.cpu of an
// instance, replicas of each component, the size of each storage volume and
// their sum. What is unset in the spec is not checked.
struct SiteBounds {
  int64_t memory_bytes = 4ll << 30;     // --max-site-memory 4Gi
  int64_t cpu_millis = 4000;            // --max-site-cpu 4
  int64_t replicas = 20;                // --max-site-replicas 20
  int64_t storage_bytes = 100ll << 30;  // --max-site-storage 100Gi
};

// Each field over a bound, with the bound and its flag:
// {"spec.app.components[0].replicas", "50 is over the platform's limit of 20
// per component (wok up --max-site-replicas)"}. Empty when within them.
std::vector<api::FieldError> site_bound_errors(const nlohmann::json& spec, const SiteBounds& bounds);

// 1610612736 -> "1.5Gi"; 1500 (millicores) -> "1500m", 2000 -> "2".
std::string format_bytes(int64_t bytes);
std::string format_cpu(int64_t millis);

}  // namespace wok::server
