#pragma once
// The admin's upper bounds on every site, checked the same way by the API
// server of `wok up` (at admission) and by `wok operator` (at reconcile).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/validation.h"

namespace wok::api {

// The admin's upper bounds on one site (`wok up` or `wok operator` --max-site-*), for members
// and the platform admin alike: resources.memory and resources.cpu of an
// instance, replicas of each component, the size of each storage volume and
// their sum. What is unset in the spec is not checked.
struct SiteBounds {
  int64_t memory_bytes = 4ll << 30;     // --max-site-memory 4Gi
  int64_t cpu_millis = 4000;            // --max-site-cpu 4
  int64_t replicas = 20;                // --max-site-replicas 20
  int64_t storage_bytes = 100ll << 30;  // --max-site-storage 100Gi
  std::string command = "wok up";       // named in the errors, with the flag
};

// Each field over a bound, with the bound and its flag:
// {"spec.app.components[0].replicas", "50 is over the platform's limit of 20
// per component (wok up --max-site-replicas)"}. Empty when within them.
std::vector<FieldError> site_bound_errors(const nlohmann::json& spec, const SiteBounds& bounds);

// The bounds from the flags' text (--max-site-memory 4Gi, --max-site-cpu 4,
// --max-site-replicas 20, --max-site-storage 100Gi); false with `error`
// naming the flag when one is not a positive quantity.
bool parse_site_bounds(const std::string& memory, const std::string& cpu, int replicas,
                       const std::string& storage, SiteBounds* bounds, std::string* error);

// 1610612736 -> "1.5Gi"; 1500 (millicores) -> "1500m", 2000 -> "2".
std::string format_bytes(int64_t bytes);
std::string format_cpu(int64_t millis);

}  // namespace wok::api
