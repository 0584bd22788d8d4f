#pragma once
// The one claim check on a site's hosts: a project's sites may serve only the
// host names its spec.hosts patterns allow ("www.a.example", "*.a.example").
// The API refuses a site (apply, rollout undo) naming any other; the store
// releases a host its project no longer allows; the reconciler routes only
// what is allowed and claimed (Store::routable_hosts).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/validation.h"

namespace wok::store {

struct RefusedHost {
  size_t index = 0;  // in spec.hosts
  std::string host;
};

// The hosts of a Site spec that `project` (a Project object) may not claim.
std::vector<RefusedHost> refused_hosts(const nlohmann::json& site_spec,
                                       const nlohmann::json& project);

// The same, as field errors in the API server's words (a Site refused at
// admission by `wok up` and by the operator's webhook alike):
// {"spec.hosts[1]", "\"x.b.example\" is not among the host names project \"a\" may claim ([...])"}.
std::vector<api::FieldError> host_claim_errors(const nlohmann::json& site_spec,
                                               const nlohmann::json& project,
                                               const std::string& ns);

// "*.team-a.example, www.team-a.example": the project's patterns, for messages.
std::string host_patterns(const nlohmann::json& project);

}  // namespace wok::store
