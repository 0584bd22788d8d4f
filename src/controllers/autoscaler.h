#pragma once
// spec.app.autoscale on the embedded platform: the replicas of one component
// follow its load, the way a Kubernetes HorizontalPodAutoscaler moves a
// Deployment's (the render makes one from the same plan, render/plan.h).
//
//   desired = ceil(replicas * current / target) for each metric (CPU: average
//   usage of the Ready replicas over the last interval, percent of their
//   limit; requests: the router's count per second, per replica), the
//   largest of them, within [min, max]. Within 10% of the target nothing
//   moves. Up at once (at most doubling, or +4); down only to the largest
//   recommendation of the last `down_window` (300 s by default), so a dip
//   does not drop replicas a spike will need again.
//
// Autoscaler keeps the count per site (by uid) in memory; the site's status
// shows it (status.autoscale) and a restarted wok starts from it.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "render/plan.h"

namespace wok::controllers {

using AutoscaleClock = std::chrono::steady_clock;

struct AutoscaleMetrics {
  int ready = 0;                              // Ready replicas the averages are over
  std::optional<double> cpu_percent;          // average over them, of each one's limit
  std::optional<double> requests_per_second;  // the site's, over the last interval
};

struct AutoscaleDecision {
  int replicas = 0;     // what to run now
  int recommended = 0;  // what the metrics ask for, before the down window
  std::string reason;   // "CPU 180% of a 50% target over 2 replicas"
};

// Pure: the recommendation for `current` replicas (HPA's rule, tolerance 10%).
int recommend(const render::AutoscalePlan& plan, int current, const AutoscaleMetrics& metrics,
              std::string* reason);

class Autoscaler {
 public:
  explicit Autoscaler(std::chrono::milliseconds down_window = std::chrono::seconds(300))
      : down_window_(down_window) {}

  // The replicas the scaled component runs now: the last decision, else
  // `initial` (status.autoscale.replicas of an earlier wok, or the spec's)
  // within [min, max].
  int replicas(const std::string& uid, const render::AutoscalePlan& plan, int initial);
  // One evaluation: records the recommendation, returns the count to run.
  AutoscaleDecision observe(const std::string& uid, const render::AutoscalePlan& plan,
                            const AutoscaleMetrics& m,
                            AutoscaleClock::time_point now = AutoscaleClock::now());
  // status.autoscale (null when the site is not autoscaled here).
  nlohmann::json status(const std::string& uid) const;
  void forget(const std::string& uid);

  // Usage samples turned into rates: CPU nanoseconds of each instance and
  // the router's request total, remembered per key between calls.
  std::optional<double> rate(const std::string& key, uint64_t total,
                             AutoscaleClock::time_point now);

 private:
  struct State {
    int replicas = 0;
    std::deque<std::pair<AutoscaleClock::time_point, int>> recommendations;
    nlohmann::json status;
  };
  std::chrono::milliseconds down_window_;
  mutable std::mutex mu_;
  std::map<std::string, State> sites_;
  std::map<std::string, std::pair<AutoscaleClock::time_point, uint64_t>> samples_;
};

}  // namespace wok::controllers
