#include "kube/site_events.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/kinds.h"
#include "kube/site_status.h"
#include "store/status_events.h"

namespace wok::kube {

using nlohmann::json;

namespace {

// The status with only the conditions events are made of.
json eventful(const json& status) {
  json out = {{"conditions", json::array()}};
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array())
    return out;
  for (const auto& c : status["conditions"]) {
    if (!c.is_object()) continue;
    std::string type = c.value("type", "");
    if (type == "Ready" || type == "Pinned") out["conditions"].push_back(c);
  }
  return out;
}

std::string ready_message(const json& status) {
  for (const auto& c : status["conditions"])
    if (c.value("type", "") == "Ready") return c.value("message", "");
  return "";
}

std::string instance_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "wok-operator";
  return host;
}

}  // namespace

std::vector<store::SiteEvent> site_status_events(const json& old_status, const json& status) {
  json now = eventful(status);
  return store::status_events(eventful(old_status), now, ready_message(now));
}

json event_object(const json& site, const store::SiteEvent& event, const std::string& now) {
  json e = store::event_object(site, event, now);  // wok up's, as a core/v1 Event
  e["apiVersion"] = "v1";
  e["involvedObject"]["apiVersion"] = site_kind().api_version;
  e["involvedObject"]["kind"] = site_kind().kind;
  e["source"] = {{"component", "wok-operator"}};
  e["reportingComponent"] = "wok.dev/operator";
  e["reportingInstance"] = instance_name();
  return e;
}

std::string record_event(KubeClient& client, const json& site, const store::SiteEvent& event) {
  const std::string now = rfc3339_now();
  json object = kube::event_object(site, event, now);
  const std::string ns = object["metadata"]["namespace"], name = object["metadata"]["name"];
  const std::string path = "/api/v1/namespaces/" + ns + "/events";
  Reply made = client.request("POST", path, object.dump());
  if (made.ok()) return "";
  if (made.status != 409) return "event " + ns + "/" + name + ": " + made.describe();
  // Said before: one more time on the same Event.
  Reply got = client.request("GET", path + "/" + name);
  auto current = json::parse(got.body, nullptr, false);
  if (!got.ok() || !current.is_object()) return "event " + ns + "/" + name + ": " + got.describe();
  int64_t count = current.value("count", int64_t{1});
  json patch = {{"count", count + 1}, {"lastTimestamp", now}};
  Reply counted =
      client.request("PATCH", path + "/" + name, patch.dump(), "application/merge-patch+json");
  return counted.ok() ? "" : "event " + ns + "/" + name + ": " + counted.describe();
}

}  // namespace wok::kube
