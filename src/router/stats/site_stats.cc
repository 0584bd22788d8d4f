#include "router/stats/site_stats.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <vector>

namespace wok::router {
namespace {

// Prometheus buckets, in seconds.
constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
// Finer, log-spaced buckets for percentiles: bucket i ends at 10 µs * 1.25^i
// (about 12% resolution), the last one is open.
constexpr int kFine = 72;

// Upper bounds of the fine buckets, in microseconds.
const std::array<double, kFine>& fine_bounds() {
  static const std::array<double, kFine> bounds = [] {
    std::array<double, kFine> b{};
    for (int i = 0; i < kFine; ++i) b[i] = 10.0 * std::pow(1.25, i);
    return b;
  }();
  return bounds;
}

// The first bucket whose upper bound holds `us` (a binary search: no
// logarithm per request).
int fine_bucket(int64_t us) {
  const auto& bounds = fine_bounds();
  auto it = std::lower_bound(bounds.begin(), bounds.end() - 1, static_cast<double>(us));
  return static_cast<int>(it - bounds.begin());
}

double fine_upper_ms(int i) { return 0.01 * std::pow(1.25, i); }

int status_class(int status) {
  int c = status / 100;
  return c >= 1 && c <= 5 ? c : 0;
}

int64_t minute_now() {
  using namespace std::chrono;
  return duration_cast<minutes>(system_clock::now().time_since_epoch()).count();
}

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

struct SiteStats::Site {
  std::string project, name;
  std::atomic<uint64_t> by_class[6] = {};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> buckets[kBuckets.size() + 1] = {};  // not cumulative; last: +Inf
  std::atomic<uint64_t> sum_us{0};

  struct Minute {
    std::atomic<int64_t> minute{-1};
    std::atomic<uint64_t> by_class[6] = {};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> fine[kFine] = {};
  };
  Minute minutes[kMinutes];
  std::mutex rollover;  // taken once per minute per site, to clear a slot

  Minute& slot(int64_t minute) {
    Minute& m = minutes[minute % kMinutes];
    if (m.minute.load(std::memory_order_acquire) == minute) return m;
    std::lock_guard lock(rollover);
    if (m.minute.load(std::memory_order_relaxed) != minute) {
      for (auto& c : m.by_class) c.store(0, std::memory_order_relaxed);
      m.bytes.store(0, std::memory_order_relaxed);
      for (auto& f : m.fine) f.store(0, std::memory_order_relaxed);
      m.minute.store(minute, std::memory_order_release);
    }
    return m;
  }
};

namespace {
std::atomic<uint64_t> next_stats_id{1};
}  // namespace

SiteStats::SiteStats() : id_(next_stats_id++) {}
SiteStats::~SiteStats() = default;

SiteStats::Site* SiteStats::find_or_add(std::string_view project, std::string_view site) {
  // Sites are never removed, so a thread's last lookup stays good: most
  // requests on a loop repeat its site and skip the shared lock.
  struct Last {
    uint64_t stats = 0;  // ids are never reused
    std::string key;
    Site* site = nullptr;
  };
  thread_local Last last;
  if (last.stats == id_ && last.key.size() == project.size() + 1 + site.size() &&
      last.key.compare(0, project.size(), project) == 0 && last.key[project.size()] == '/' &&
      last.key.compare(project.size() + 1, site.size(), site) == 0) {
    return last.site;
  }
  Site* found = lookup_or_add(project, site);
  last.stats = id_;
  last.key.assign(project).append(1, '/').append(site);
  last.site = found;
  return found;
}

SiteStats::Site* SiteStats::lookup_or_add(std::string_view project, std::string_view site) {
  thread_local std::string key;
  key.assign(project);
  key += '/';
  key.append(site);
  {
    std::shared_lock lock(mutex_);
    if (auto it = sites_.find(key); it != sites_.end()) return it->second.get();
  }
  std::unique_lock lock(mutex_);
  auto [it, added] = sites_.try_emplace(key, nullptr);
  if (added) {
    it->second = std::make_unique<Site>();
    it->second->project = std::string(project);
    it->second->name = std::string(site);
  }
  return it->second.get();
}

const SiteStats::Site* SiteStats::find(std::string_view project, std::string_view site) const {
  std::string key = std::string(project) + "/" + std::string(site);
  std::shared_lock lock(mutex_);
  auto it = sites_.find(key);
  return it == sites_.end() ? nullptr : it->second.get();
}

void SiteStats::on_request(const RequestRecord& r) {
  // The minute the request arrived in (its time is taken once, for the access log too).
  using namespace std::chrono;
  record_at(r.project, r.site, r.status, r.bytes, r.duration,
            duration_cast<minutes>(r.time.time_since_epoch()).count());
}

void SiteStats::record_at(std::string_view project, std::string_view site, int status,
                          uint64_t bytes, std::chrono::microseconds duration, int64_t minute) {
  Site* s = find_or_add(project, site);
  const int cls = status_class(status);
  const int64_t us = duration.count() < 0 ? 0 : duration.count();
  s->by_class[cls].fetch_add(1, std::memory_order_relaxed);
  s->bytes.fetch_add(bytes, std::memory_order_relaxed);
  s->sum_us.fetch_add(static_cast<uint64_t>(us), std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && static_cast<double>(us) > kBuckets[b] * 1e6) ++b;
  s->buckets[b].fetch_add(1, std::memory_order_relaxed);
  Site::Minute& m = s->slot(minute);
  m.by_class[cls].fetch_add(1, std::memory_order_relaxed);
  m.bytes.fetch_add(bytes, std::memory_order_relaxed);
  m.fine[fine_bucket(us)].fetch_add(1, std::memory_order_relaxed);
}

SiteSummary SiteStats::summary(std::string_view project, std::string_view site, int minutes) const {
  return summary_at(project, site, minutes, minute_now());
}

uint64_t SiteStats::requests_total(std::string_view project, std::string_view site) const {
  const Site* s = find(project, site);
  uint64_t total = 0;
  if (s != nullptr)
    for (const auto& c : s->by_class) total += c.load(std::memory_order_relaxed);
  return total;
}

SiteSummary SiteStats::summary_at(std::string_view project, std::string_view site, int minutes,
                                  int64_t now_minute) const {
  SiteSummary out;
  out.minutes = minutes < 1 ? 1 : (minutes > kMinutes ? kMinutes : minutes);
  const Site* s = find(project, site);
  if (s == nullptr) return out;
  std::vector<uint64_t> fine(kFine, 0);
  for (const Site::Minute& m : s->minutes) {
    int64_t at = m.minute.load(std::memory_order_acquire);
    if (at <= now_minute - out.minutes || at > now_minute) continue;
    for (int c = 0; c < 6; ++c) out.by_class[c] += m.by_class[c].load(std::memory_order_relaxed);
    out.bytes += m.bytes.load(std::memory_order_relaxed);
    for (int i = 0; i < kFine; ++i) fine[i] += m.fine[i].load(std::memory_order_relaxed);
  }
  for (uint64_t c : out.by_class) out.requests += c;
  uint64_t total = 0;
  for (uint64_t f : fine) total += f;
  if (total == 0) return out;
  auto percentile = [&](double p) {
    uint64_t rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(total)));
    uint64_t seen = 0;
    for (int i = 0; i < kFine; ++i) {
      seen += fine[i];
      if (seen >= rank) return fine_upper_ms(i);
    }
    return fine_upper_ms(kFine - 1);
  };
  out.p50_ms = percentile(0.50);
  out.p90_ms = percentile(0.90);
  out.p99_ms = percentile(0.99);
  return out;
}

std::string SiteStats::prometheus() const {
  std::ostringstream req, bytes, dur;
  req << "# HELP wok_site_requests_total Requests answered by the router, per site and status "
         "class.\n"
      << "# TYPE wok_site_requests_total counter\n";
  bytes << "# HELP wok_site_response_bytes_total Response body bytes sent, per site.\n"
        << "# TYPE wok_site_response_bytes_total counter\n";
  dur << "# HELP wok_site_request_duration_seconds Time to answer a request, per site.\n"
      << "# TYPE wok_site_request_duration_seconds histogram\n";
  std::shared_lock lock(mutex_);
  for (const auto& [key, s] : sites_) {
    std::string labels =
        "project=\"" + escape_label(s->project) + "\",site=\"" + escape_label(s->name) + "\"";
    for (int c = 1; c <= 5; ++c) {
      req << "wok_site_requests_total{" << labels << ",code=\"" << c << "xx\"} "
          << s->by_class[c].load() << "\n";
    }
    bytes << "wok_site_response_bytes_total{" << labels << "} " << s->bytes.load() << "\n";
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += s->buckets[b].load();
      char le[32];
      if (b < kBuckets.size()) {
        std::snprintf(le, sizeof le, "%g", kBuckets[b]);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      dur << "wok_site_request_duration_seconds_bucket{" << labels << ",le=\"" << le << "\"} "
          << cumulative << "\n";
    }
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(s->sum_us.load()) / 1e6);
    dur << "wok_site_request_duration_seconds_sum{" << labels << "} " << sum << "\n"
        << "wok_site_request_duration_seconds_count{" << labels << "} " << cumulative << "\n";
  }
  return req.str() + bytes.str() + dur.str();
}

}  // namespace wok::router
