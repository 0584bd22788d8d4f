#include "store/site_events.h"

#include <time.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/text.h"
#include "store/store.h"

namespace wok::store {

using nlohmann::json;

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// FNV-1a, 64 bits, as 16 hex digits: the event's name suffix.
std::string hash_hex(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

std::string clean_event_message(const std::string& text) {
  return printable(text, kMaxEventMessage);
}

json event_object(const json& site, const SiteEvent& event, const std::string& now) {
  const json& md = site["metadata"];
  const std::string ns = md.value("namespace", ""), name = md.value("name", "");
  const std::string uid = md.value("uid", "");
  const std::string message = clean_event_message(event.message);
  // One event per site (uid), reason and message: again, it counts up.
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Event"},
          {"metadata",
           {{"name", name + "." + hash_hex(uid + "\n" + event.reason + "\n" + message)},
            {"namespace", ns}}},
          {"involvedObject",
           {{"apiVersion", "wok.dev/v1alpha1"},
            {"kind", "Site"},
            {"namespace", ns},
            {"name", name},
            {"uid", uid}}},
          {"type", event.type},
          {"reason", event.reason},
          {"message", message},
          {"source", {{"component", event.source}}},
          {"count", 1},
          {"firstTimestamp", now},
          {"lastTimestamp", now}};
}

void record_event(Store& store, const json& site, const SiteEvent& event) {
  const json& md = site["metadata"];
  const std::string ns = md.value("namespace", ""), name = md.value("name", "");
  const std::string uid = md.value("uid", "");
  // Only about a site that is still there (a pass that was under way when
  // it, or its project, was deleted records nothing).
  auto current = store.get("Site", ns, name);
  if (!current || current->value(json::json_pointer("/metadata/uid"), "") != uid) return;
  json e = event_object(site, event, now_rfc3339());
  const std::string event_name = e["metadata"]["name"];
  const std::string now = e["lastTimestamp"];
  if (auto before = store.get("Event", ns, event_name)) {
    e["count"] = before->value("count", 0) + 1;
    e["firstTimestamp"] = before->value("firstTimestamp", now);
  } else if (static_cast<size_t>(store.count("Event", ns)) >= kMaxEventsPerProject) {
    // Room for it: the project's events seen longest ago go.
    auto all = store.list("Event", ns);
    auto version = [](const json& e) {
      return std::stoll(e["metadata"].value("resourceVersion", "0"));
    };
    std::sort(all.begin(), all.end(),
              [&](const json& a, const json& b) { return version(a) < version(b); });
    size_t extra = all.size() + 1 - kMaxEventsPerProject;
    for (size_t i = 0; i < extra && i < all.size(); ++i)
      store.remove("Event", ns, all[i]["metadata"]["name"]);
  }
  store.upsert("Event", e);
}

size_t prune_events(Store& store, std::chrono::seconds ttl) {
  const std::string cutoff = rfc3339(std::chrono::system_clock::now() - ttl);
  size_t removed = 0;
  for (const auto& e : store.list("Event")) {
    if (e.value("lastTimestamp", "") >= cutoff) continue;
    if (store.remove("Event", e["metadata"].value("namespace", ""), e["metadata"]["name"]).ok())
      ++removed;
  }
  return removed;
}

}  // namespace wok::store
