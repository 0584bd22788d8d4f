#pragma once
// A Site's events on a cluster: core/v1 Events about the Site, which
// `kubectl describe site` and `kubectl get events` show, with the reasons
// and words of wok up's own (store/status_events.h), made from the status
// the operator is about to write. The same event again counts up on one
// object (count, lastTimestamp), as client-go's recorder does; the API
// server's --event-ttl (1 h by default) bounds how long they last.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "store/site_events.h"

namespace wok::kube {

class KubeClient;

// What the change of a Site's status from `old_status` to `status` says:
// the transitions of its Ready condition (deployed, progressing, pending
// storage or ingress, and each reason it is blocked: FetchFailed,
// HostConflict, Invalid...) and of its Pinned one (a rollback).
std::vector<store::SiteEvent> site_status_events(const nlohmann::json& old_status,
                                                 const nlohmann::json& status);

// The Event object about `site` at `now` (RFC 3339). Its name is the
// site's and a hash of what it says, so the same event again finds it.
nlohmann::json event_object(const nlohmann::json& site, const store::SiteEvent& event,
                            const std::string& now);

// Writes it: creates the Event, or counts up the one with its name.
// Returns "" or why not.
std::string record_event(KubeClient& client, const nlohmann::json& site,
                         const store::SiteEvent& event);

}  // namespace wok::kube
