// The autoscaler's rule (controllers/autoscaler.h): HPA's formula, its
// tolerance, up at once, down after the window, within the bounds.
#include "controllers/autoscaler.h"

#include <gtest/gtest.h>

namespace wok::controllers {
namespace {

using namespace std::chrono_literals;

render::AutoscalePlan cpu_plan(int min, int max, int target) {
  render::AutoscalePlan p;
  p.component = "web";
  p.min_replicas = min;
  p.max_replicas = max;
  p.target_cpu_percent = target;
  return p;
}

AutoscaleMetrics cpu(int ready, double percent) {
  AutoscaleMetrics m;
  m.ready = ready;
  m.cpu_percent = percent;
  return m;
}

TEST(AutoscaleRecommend, FollowsTheLoadWithinTheBoundsAndTheTolerance) {
  auto p = cpu_plan(1, 5, 50);
  std::string why;
  EXPECT_EQ(recommend(p, 1, cpu(1, 100), &why), 2);
  EXPECT_EQ(why, "CPU 100% of a 50% target over 1 ready replica");
  EXPECT_EQ(recommend(p, 2, cpu(2, 150), nullptr), 5);  // ceil(2 * 3) = 6, at most 5
  EXPECT_EQ(recommend(p, 4, cpu(4, 10), nullptr), 1);   // ceil(4 * 0.2)
  EXPECT_EQ(recommend(p, 3, cpu(3, 54), nullptr), 3);   // within 10%: stays
  EXPECT_EQ(recommend(p, 3, cpu(3, 0), nullptr), 1);    // idle: the minimum
  EXPECT_EQ(recommend(p, 2, AutoscaleMetrics{2, std::nullopt, std::nullopt}, &why), 2);
  EXPECT_EQ(why, "no metrics yet");
}

TEST(AutoscaleRecommend, RequestsPerSecondAndTheLargestOfTwoMetrics) {
  render::AutoscalePlan p = cpu_plan(1, 10, 80);
  p.target_requests_per_second = 20;
  AutoscaleMetrics m = cpu(2, 40);  // CPU alone: 1
  m.requests_per_second = 130;      // requests: ceil(130 / 20) = 7
  std::string why;
  EXPECT_EQ(recommend(p, 2, m, &why), 7);
  EXPECT_EQ(why, "130 requests/s for a target of 20 per replica");
}

TEST(Autoscaler, UpAtOnceDownOnlyAfterTheWindow) {
  Autoscaler a(60s);
  auto p = cpu_plan(1, 8, 50);
  auto t0 = AutoscaleClock::time_point{} + 1000s;
  EXPECT_EQ(a.replicas("u", p, 1), 1);
  auto d = a.observe("u", p, cpu(1, 200), t0);
  EXPECT_EQ(d.replicas, 4);  // ceil(1 * 4) = 4: doubling or +4 allows it
  EXPECT_EQ(a.replicas("u", p, 1), 4);
  EXPECT_EQ(a.status("u")["message"],
            "scaled 1 → 4: CPU 200% of a 50% target over 1 ready replica");
  d = a.observe("u", p, cpu(4, 400), t0 + 10s);
  EXPECT_EQ(d.replicas, 8);  // 32 wanted, doubling allows 8, the maximum too
  // Idle: the recommendation drops, the replicas stay within the window...
  d = a.observe("u", p, cpu(8, 1), t0 + 20s);
  EXPECT_EQ(d.recommended, 1);
  EXPECT_EQ(d.replicas, 8);
  EXPECT_NE(a.status("u")["message"].get<std::string>().find("keeping 8"), std::string::npos);
  // ...and go once every recommendation of the window is lower.
  d = a.observe("u", p, cpu(8, 1), t0 + 75s);
  EXPECT_EQ(d.replicas, 1);
  EXPECT_EQ(a.status("u")["replicas"], 1);
  EXPECT_EQ(a.status("u")["currentCPUUtilization"], 1);
}

TEST(Autoscaler, StartsFromTheLastCountWithinTheBoundsAndTurnsUsageIntoRates) {
  Autoscaler a;
  auto p = cpu_plan(2, 4, 50);
  EXPECT_EQ(a.replicas("u", p, 7), 4);  // an earlier wok's status said 7: the bounds win
  p.max_replicas = 3;
  EXPECT_EQ(a.replicas("u", p, 7), 3);  // the bounds changed
  auto t0 = AutoscaleClock::time_point{} + 100s;
  EXPECT_EQ(a.rate("k", 1'000'000'000, t0), std::nullopt);  // a first sample has no rate
  EXPECT_EQ(a.rate("k", 1'500'000'000, t0 + 1s), 500'000'000.0);
  EXPECT_EQ(a.rate("k", 1'600'000'000, t0 + 1500ms),
            std::nullopt);  // too soon: no rate, sample kept
  EXPECT_EQ(a.rate("k", 2'500'000'000, t0 + 3s), 500'000'000.0);
  EXPECT_EQ(a.status("other"), nullptr);
}

}  // namespace
}  // namespace wok::controllers
