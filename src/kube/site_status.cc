#include "kube/site_status.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "kube/site_admission.h"

namespace wok::kube {
namespace {

using nlohmann::json;

struct Check {
  bool ok = true;
  std::string message;  // what is not ok yet
  void fail(const std::string& why) {
    if (!ok) message += "; ";
    ok = false;
    message += why;
  }
};

bool has_condition(const json& conditions, const std::string& type) {
  if (!conditions.is_array()) return false;
  for (const auto& c : conditions) {
    if (c.value("type", "") == type && c.value("status", "") == "True") return true;
  }
  return false;
}

std::string name_of(const json& object) { return object["metadata"].value("name", ""); }

bool deployment_available(const json& d) {
  const json& status = d.value("status", json::object());
  int64_t generation = d["metadata"].value("generation", 0);
  if (status.value("observedGeneration", generation) < generation) return false;
  int wanted = d.value("spec", json::object()).value("replicas", 1);
  if (has_condition(status.value("conditions", json::array()), "Available")) {
    return status.value("availableReplicas", wanted) >= wanted || wanted == 0;
  }
  return wanted == 0 || status.value("availableReplicas", 0) >= wanted;
}

bool route_admitted(const json& route) {
  const json& ingress = route.value("status", json::object()).value("ingress", json::array());
  for (const auto& i : ingress) {
    if (has_condition(i.value("conditions", json::array()), "Admitted")) return true;
  }
  return false;
}

bool ingress_admitted(const json& ingress) {
  const json& lb = ingress.value("status", json::object()).value("loadBalancer", json::object());
  return lb.contains("ingress") && lb["ingress"].is_array() && !lb["ingress"].empty();
}

json condition(const std::string& type, bool status, const std::string& reason,
               const std::string& message) {
  return {{"type", type},
          {"status", status ? "True" : "False"},
          {"reason", reason},
          {"message", message}};
}

}  // namespace

std::string host_conflict(const json& site, const std::vector<json>& sites) {
  // One rule with the admission webhook's (kube/site_admission.h).
  for (const auto& h : site.value("spec", json::object()).value("hosts", json::array())) {
    if (!h.is_string()) continue;
    if (const json* holder = host_holder(site, h.get<std::string>(), sites)) {
      const json& om = (*holder)["metadata"];
      return "host " + h.get<std::string>() + " is claimed by site " + om.value("namespace", "") +
             "/" + om.value("name", "");
    }
  }
  return "";
}

json site_status(const json& site, const std::vector<json>& owned, const Blocker& blocker,
                 const json& old_status, const std::string& now) {
  Check available, admitted, storage;
  bool any_deployment = false, any_exposure = false, any_claim = false;
  for (const auto& object : owned) {
    std::string kind = object.value("kind", "");
    if (kind == "Deployment") {
      any_deployment = true;
      if (!deployment_available(object))
        available.fail("deployment " + name_of(object) + " is not available");
    } else if (kind == "Ingress") {
      any_exposure = true;
      if (!ingress_admitted(object))
        admitted.fail("ingress " + name_of(object) + " has no address yet");
    } else if (kind == "Route") {
      any_exposure = true;
      if (!route_admitted(object)) admitted.fail("route " + name_of(object) + " is not admitted");
    } else if (kind == "PersistentVolumeClaim") {
      any_claim = true;
      std::string phase = object.value("status", json::object()).value("phase", "Pending");
      if (phase != "Bound") storage.fail("claim " + name_of(object) + " is " + phase);
    }
  }
  if (!any_deployment) available.fail("no deployment yet");
  if (!any_exposure && blocker.reason.empty()) admitted.fail("no ingress or route yet");

  json conditions = json::array();
  conditions.push_back(condition(
      "Available", available.ok, available.ok ? "DeploymentsAvailable" : "DeploymentUnavailable",
      available.ok ? "all deployments are available" : available.message));
  bool conflict = blocker.reason == "HostConflict";
  conditions.push_back(condition("Admitted", admitted.ok && any_exposure,
                                 conflict      ? "HostConflict"
                                 : admitted.ok ? "Admitted"
                                               : "Pending",
                                 conflict      ? blocker.message
                                 : admitted.ok ? "the ingress controller admitted the site"
                                               : admitted.message));
  if (any_claim) {
    conditions.push_back(condition("StorageBound", storage.ok, storage.ok ? "Bound" : "Pending",
                                   storage.ok ? "all claims are bound" : storage.message));
  }
  conditions.push_back(condition("HostConflict", conflict, conflict ? "HostConflict" : "NoConflict",
                                 conflict ? blocker.message : "no other site claims these hosts"));

  std::string reason = "Deployed", message = "the site is available";
  bool ready = false;
  if (!blocker.reason.empty()) {
    reason = blocker.reason;
    message = blocker.message;
  } else if (!available.ok) {
    reason = "Progressing";
    message = available.message;
  } else if (!storage.ok) {
    reason = "StoragePending";
    message = storage.message;
  } else if (!admitted.ok) {
    reason = "IngressPending";
    message = admitted.message;
  } else {
    ready = true;
  }
  conditions.push_back(condition("Ready", ready, reason, message));

  const json& old_conditions =
      old_status.is_object() ? old_status.value("conditions", json::array()) : json::array();
  for (auto& c : conditions) {
    c["lastTransitionTime"] = now;
    for (const auto& o : old_conditions) {
      if (o.value("type", "") == c["type"] && o.value("status", "") == c["status"] &&
          o.contains("lastTransitionTime")) {
        c["lastTransitionTime"] = o["lastTransitionTime"];
      }
    }
  }

  const json& meta = site["metadata"];
  json status = {{"observedGeneration", meta.value("generation", 1)},
                 {"revision", meta.value("generation", 1)},
                 {"conditions", conditions}};
  json urls = json::array();
  const json& spec = site.value("spec", json::object());
  bool tls = spec.contains("tls") && !spec["tls"].is_null() && spec["tls"] != false;
  for (const auto& h : spec.value("hosts", json::array())) {
    if (h.is_string()) urls.push_back((tls ? "https://" : "http://") + h.get<std::string>() + "/");
  }
  status["urls"] = urls;
  if (!blocker.reason.empty()) status["lastError"] = blocker.message;
  return status;
}

json merge_patch(const json& from, const json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  json patch = json::object();
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (!to.contains(it.key())) patch[it.key()] = nullptr;
  }
  for (auto it = to.begin(); it != to.end(); ++it) {
    auto old = from.find(it.key());
    if (old == from.end())
      patch[it.key()] = *it;
    else if (*old != *it)
      patch[it.key()] = it->is_object() ? merge_patch(*old, *it) : *it;
  }
  return patch;
}

std::string rfc3339_now() { return rfc3339_ago(0); }

std::string rfc3339_ago(long seconds_ago) {
  std::time_t t = std::time(nullptr) - seconds_ago;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace wok::kube
