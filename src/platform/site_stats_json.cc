#include "platform/site_stats_json.h"

#include <time.h>

#include <algorithm>
#include <chrono>

namespace wok::platform {

namespace {

// The window minute by minute, oldest first: what the console charts.
nlohmann::json minute_series(const router::SiteStats& stats, const std::string& ns,
                             const std::string& name, int minutes) {
  const int64_t now = std::chrono::duration_cast<std::chrono::minutes>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t m = now - std::max(minutes, 1) + 1; m <= now; ++m) {
    router::SiteSummary one = stats.summary_at(ns, name, 1, m);
    nlohmann::json classes = nlohmann::json::object();
    for (int c = 1; c <= 5; ++c) classes[std::to_string(c) + "xx"] = one.by_class[c];
    time_t t = static_cast<time_t>(m * 60);
    tm utc{};
    gmtime_r(&t, &utc);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    out.push_back({{"minute", when},
                   {"requests", one.requests},
                   {"byStatusClass", classes},
                   {"bytes", one.bytes},
                   {"p50", one.p50_ms},
                   {"p99", one.p99_ms}});
  }
  return out;
}

}  // namespace

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
          {"latencyMs", {{"p50", s.p50_ms}, {"p90", s.p90_ms}, {"p99", s.p99_ms}}},
          {"series", minute_series(stats, ns, name, s.minutes)}};
}

}  // namespace wok::platform
