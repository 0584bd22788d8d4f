#pragma once
// What happened to a site, as Kubernetes Events of its project (docs/api.md,
// "Events"): kind Event objects in the store, so they list and watch like
// sites. The same reason and message about the same site again count up on
// one event (count, lastTimestamp) instead of making another, as
// Kubernetes aggregates them. Bounded twice: events last seen longer ago
// than the retention go (prune_events), and a project keeps its newest
// kMaxEventsPerProject.
#include <chrono>
#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace wok::store {

class Store;

struct SiteEvent {
  std::string type = "Normal";  // or "Warning"
  std::string reason;           // CamelCase: Deployed, BuildFailed, OOMKilled, Scaled...
  std::string message;          // cut at 1 KiB, control characters replaced
  std::string source = "wok-controller";
};

inline constexpr size_t kMaxEventsPerProject = 500;
inline constexpr std::chrono::hours kEventRetention{24};
inline constexpr size_t kMaxEventMessage = 1024;

// The Event about `site` (a Site object: namespace, name, uid) at `now`
// (RFC 3339), in the shape of Kubernetes' core Event: named after the site
// and a hash of its uid, reason and message, so that the same event again
// finds it and counts up. wok up keeps it; the operator writes it as a
// core/v1 Event (kube/site_events.h).
nlohmann::json event_object(const nlohmann::json& site, const SiteEvent& event,
                            const std::string& now);

// Records it about `site` (a Site object: namespace, name, uid).
void record_event(Store& store, const nlohmann::json& site, const SiteEvent& event);

// Deletes the events last seen before now - ttl; returns how many.
size_t prune_events(Store& store, std::chrono::seconds ttl);

// A message fit to keep and print: control characters (terminal escapes)
// become spaces, invalid UTF-8 '?', cut at kMaxEventMessage bytes on a
// character boundary.
std::string clean_event_message(const std::string& text);

}  // namespace wok::store
