#pragma once
// A Site's status on a cluster, computed from the objects the operator owns
// for it (pure functions: no I/O, so they are tested on their own).
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace wok::kube {

// Why the operator could not (fully) act on a Site; empty reason when it could.
struct Blocker {
  std::string reason;  // HostConflict, ProjectNotFound, RenderFailed, ApplyFailed
  std::string message;
};

// Which other Site keeps a host this one also claims: the older claim wins
// (creationTimestamp, then namespace/name), so both sides agree without
// talking. Returns "host H is claimed by site NS/NAME", or "" when none.
std::string host_conflict(const nlohmann::json& site, const std::vector<nlohmann::json>& sites);

// The full status: observedGeneration, revision, urls, lastError and the
// conditions Available, Admitted, StorageBound (when there are PVCs),
// HostConflict and Ready. lastTransitionTime is kept from old_status for a
// condition whose status did not change; `now` is RFC 3339.
nlohmann::json site_status(const nlohmann::json& site, const std::vector<nlohmann::json>& owned,
                           const Blocker& blocker, const nlohmann::json& old_status,
                           const std::string& now);

// A JSON merge patch turning `from` into `to` (keys gone become null).
nlohmann::json merge_patch(const nlohmann::json& from, const nlohmann::json& to);

std::string rfc3339_now();
// The same for `seconds_ago` seconds before now (comparable as text).
std::string rfc3339_ago(long seconds_ago);

}  // namespace wok::kube
