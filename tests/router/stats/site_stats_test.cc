#include "router/stats/site_stats.h"

#include <gtest/gtest.h>

namespace wok::router {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(SiteStatsTest, CountsByClassBytesAndPercentiles) {
  SiteStats stats;
  const int64_t now = 1000;
  for (int i = 0; i < 98; ++i) stats.record_at("p", "www", 200, 100, milliseconds(1), now);
  stats.record_at("p", "www", 404, 10, milliseconds(1), now);
  stats.record_at("p", "www", 502, 0, milliseconds(500), now);
  stats.record_at("p", "other", 200, 1, milliseconds(1), now);
  SiteSummary s = stats.summary_at("p", "www", 5, now);
  EXPECT_EQ(s.requests, 100u);
  EXPECT_EQ(s.by_class[2], 98u);
  EXPECT_EQ(s.by_class[4], 1u);
  EXPECT_EQ(s.by_class[5], 1u);
  EXPECT_EQ(s.bytes, 9810u);
  // Bucket upper bounds: within 25% above the true value.
  EXPECT_GE(s.p50_ms, 1.0);
  EXPECT_LE(s.p50_ms, 1.25);
  EXPECT_LE(s.p99_ms, 1.25);  // 99 of 100 took 1 ms
  SiteSummary none = stats.summary_at("p", "absent", 5, now);
  EXPECT_EQ(none.requests, 0u);
}

TEST(SiteStatsTest, WindowCoversOnlyTheLastMinutes) {
  SiteStats stats;
  stats.record_at("p", "s", 200, 1, microseconds(50), 100);  // 20 minutes before "now"
  stats.record_at("p", "s", 200, 1, microseconds(50), 115);
  stats.record_at("p", "s", 500, 1, microseconds(50), 118);
  stats.record_at("p", "s", 200, 1, microseconds(50), 120);
  EXPECT_EQ(stats.summary_at("p", "s", 1, 120).requests, 1u);
  EXPECT_EQ(stats.summary_at("p", "s", 3, 120).requests, 2u);
  EXPECT_EQ(stats.summary_at("p", "s", 15, 120).requests, 3u);  // minute 100 is gone
  EXPECT_EQ(stats.summary_at("p", "s", 99, 120).minutes, 15);
  // Minute 135 reuses minute 120's slot: the old counts are cleared.
  stats.record_at("p", "s", 200, 1, microseconds(50), 135);
  EXPECT_EQ(stats.summary_at("p", "s", 1, 135).requests, 1u);
}

TEST(SiteStatsTest, PrometheusText) {
  SiteStats stats;
  RequestRecord r;
  r.project = "team";
  r.site = "www";
  r.status = 200;
  r.bytes = 42;
  r.duration = milliseconds(3);
  stats.on_request(r);
  r.status = 503;
  stats.on_request(r);
  std::string text = stats.prometheus();
  EXPECT_NE(text.find("wok_site_requests_total{project=\"team\",site=\"www\",code=\"2xx\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("wok_site_requests_total{project=\"team\",site=\"www\",code=\"5xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("wok_site_response_bytes_total{project=\"team\",site=\"www\"} 84\n"),
            std::string::npos);
  EXPECT_NE(text.find("wok_site_request_duration_seconds_bucket{project=\"team\",site=\"www\",le="
                      "\"0.0025\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("wok_site_request_duration_seconds_bucket{project=\"team\",site=\"www\",le="
                      "\"0.005\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("wok_site_request_duration_seconds_bucket{project=\"team\",site=\"www\",le="
                      "\"+Inf\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("wok_site_request_duration_seconds_count{project=\"team\",site=\"www\"} 2\n"),
            std::string::npos);
}

}  // namespace
}  // namespace wok::router
