#include "platform/site_stats_json.h"

namespace wok::platform {

nlohmann::json site_stats_json(const router::SiteStats& stats, const std::string& ns,
                               const std::string& name, int minutes) {
  router::SiteSummary s = stats.summary(ns, name, minutes);
  nlohmann::json classes = nlohmann::json::object();
  for (int c = 1; c <= 5; ++c) classes[std::to_string(c) + "xx"] = s.by_class[c];
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "SiteStats"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"windowMinutes", s.minutes},
          {"requests", s.requests},
          {"byStatusClass", classes},
          {"bytes", s.bytes},
          {"latencyMs", {{"p50", s.p50_ms}, {"p90", s.p90_ms}, {"p99", s.p99_ms}}}};
}

}  // namespace wok::platform
