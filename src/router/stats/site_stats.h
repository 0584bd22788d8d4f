#pragma once
// Per-site request counters and latency histograms, kept in memory: totals
// since start (exported as Prometheus text) and per-minute buckets for the
// last 15 minutes (for `wok stats site`). Recording is lock-free once a
// site has been seen; sites appear on their first request.
#include <array>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "router/stats/request_observer.h"

namespace wok::router {

struct SiteSummary {
  int minutes = 0;                        // the window actually covered
  std::array<uint64_t, 6> by_class = {};  // index 1..5: 1xx..5xx
  uint64_t requests = 0;
  uint64_t bytes = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;  // upper bounds of the histogram bucket
};

class SiteStats : public RequestObserver {
 public:
  static constexpr int kMinutes = 15;

  SiteStats();
  ~SiteStats() override;
  void on_request(const RequestRecord& record) override;
  // The last `minutes` minutes (1..15), the current one included. Sites
  // without requests yet get an all-zero summary.
  SiteSummary summary(std::string_view project, std::string_view site, int minutes) const;
  // Requests answered for the site since start (every status class): what
  // the autoscaler turns into requests per second.
  uint64_t requests_total(std::string_view project, std::string_view site) const;
  // Prometheus text: wok_site_requests_total, wok_site_response_bytes_total,
  // wok_site_request_duration_seconds (histogram).
  std::string prometheus() const;

  // For tests: record at an explicit minute (minutes since the epoch).
  void record_at(std::string_view project, std::string_view site, int status, uint64_t bytes,
                 std::chrono::microseconds duration, int64_t minute);
  SiteSummary summary_at(std::string_view project, std::string_view site, int minutes,
                         int64_t now_minute) const;

 private:
  struct Site;
  Site* find_or_add(std::string_view project, std::string_view site);
  Site* lookup_or_add(std::string_view project, std::string_view site);
  const Site* find(std::string_view project, std::string_view site) const;

  const uint64_t id_;  // tells this object's entries in a thread's cache from another's
  mutable std::shared_mutex mutex_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<Site>, Hash, std::equal_to<>>
      sites_;  // "project/site"
};

}  // namespace wok::router
