#include "store/status_events.h"

#include <map>

namespace wok::store {

using nlohmann::json;

namespace {

const json* condition(const json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array())
    return nullptr;
  for (const auto& c : status["conditions"])
    if (c.is_object() && c.value("type", "") == type) return &c;
  return nullptr;
}

std::string text(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

// Ready=False while the first revision is made, or while a cluster binds
// storage or admits an ingress (StoragePending, IngressPending), is
// progress, not a problem.
bool is_warning(const json& c) {
  const std::string reason = text(c, "reason");
  return text(c, "status") == "False" && reason != "Progressing" && !reason.ends_with("Pending");
}

}  // namespace

std::vector<SiteEvent> status_events(const json& old_status, const json& patch,
                                     const std::string& ready_base) {
  std::vector<SiteEvent> out;
  for (const auto& c : patch.value("conditions", json::array())) {
    const std::string type = text(c, "type");
    const json* before = condition(old_status, type);
    const bool ready = type == "Ready";
    const std::string message = ready && !is_warning(c) ? ready_base : text(c, "message");
    bool changed = !before || text(*before, "status") != text(c, "status") ||
                   text(*before, "reason") != text(c, "reason");
    // The same state in other words: Ready's message starts with its base
    // whatever the instances added; the others say it whole.
    if (!changed)
      changed = ready ? !text(*before, "message").starts_with(ready_base)
                      : text(*before, "message") != message;
    if (!changed) continue;
    out.push_back({is_warning(c) ? "Warning" : "Normal", text(c, "reason"), message});
  }
  // A condition that no longer holds (hosts allowed again, a certificate
  // ready): said once.
  static const std::pair<const char*, const char*> kResolved[] = {
      {"HostsAllowed", "every host of the site is allowed"},
      {"CertificateReady", "the site's certificate problem is over"},
      {"AccessReady", "logging in works again"}};
  for (const auto& [type, message] : kResolved) {
    if (condition(old_status, type) && !condition(patch, type))
      out.push_back({"Normal", type, message});
  }
  // Instances: a restart the runtime made since the last status.
  std::map<std::string, json> before;
  if (old_status.is_object() && old_status.contains("instances") &&
      old_status["instances"].is_array())
    for (const auto& i : old_status["instances"]) before[text(i, "name")] = i;
  if (patch.contains("instances") && patch["instances"].is_array()) {
    for (const auto& i : patch["instances"]) {
      auto it = before.find(text(i, "name"));
      int64_t was = it == before.end() ? 0 : it->second.value("restarts", int64_t{0});
      if (i.value("restarts", int64_t{0}) <= was) continue;
      const std::string name = text(i, "name");
      if (i.value("oomKilled", false)) {
        out.push_back({"Warning", "OOMKilled",
                       "instance " + name +
                           " was killed for using more memory than its limit; "
                           "restarted"});
        continue;
      }
      int code = i.value("lastExitCode", 0), signal = i.value("lastSignal", 0);
      std::string how = signal ? "was killed by signal " + std::to_string(signal)
                               : "exited with code " + std::to_string(code);
      std::string why = text(i, "lastError");
      out.push_back(
          {"Warning", "Restarted",
           "instance " + name + " " + how + (why.empty() ? "" : " (" + why + ")") + "; restarted"});
    }
  }
  // The autoscaler's decisions.
  if (patch.contains("autoscale") && patch["autoscale"].is_object()) {
    std::string reason = text(patch["autoscale"], "lastScaleReason");
    std::string was = old_status.is_object() && old_status.contains("autoscale")
                          ? text(old_status["autoscale"], "lastScaleReason")
                          : "";
    if (!reason.empty() && reason != was) out.push_back({"Normal", "Scaled", reason});
  }
  // A certificate issued or renewed (a patch that ends the wait says
  // "message": null).
  if (patch.contains("tls") && patch["tls"].is_object() &&
      !patch["tls"].value("message", json()).is_string()) {
    const json& tls = patch["tls"];
    std::string not_after = text(tls, "notAfter");
    std::string was = old_status.is_object() && old_status.contains("tls")
                          ? text(old_status["tls"], "notAfter")
                          : "";
    if (!not_after.empty() && not_after != was) {
      std::string hosts;
      for (const auto& h : tls.value("hosts", json::array()))
        if (h.is_string()) hosts += (hosts.empty() ? "" : ", ") + h.get<std::string>();
      out.push_back({"Normal", was.empty() ? "CertificateIssued" : "CertificateRenewed",
                     "certificate for " + hosts + " from " + text(tls, "issuer") +
                         ", valid until " + not_after});
    }
  }
  return out;
}

}  // namespace wok::store
