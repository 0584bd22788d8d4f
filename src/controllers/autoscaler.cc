#include "controllers/autoscaler.h"

#include <algorithm>
#include <cmath>

#include "store/store.h"

namespace wok::controllers {
using nlohmann::json;

namespace {

constexpr double kTolerance = 0.1;

std::string percent(double v) {
  return std::to_string(static_cast<long long>(std::lround(v))) + "%";
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f" : "%.0f", v);
  return buf;
}

int clamp(const render::AutoscalePlan& plan, int n) {
  return std::max(plan.min_replicas, std::min(plan.max_replicas, n));
}

}  // namespace

int recommend(const render::AutoscalePlan& plan, int current, const AutoscaleMetrics& m,
              std::string* reason) {
  int best = -1;
  std::string why;
  auto consider = [&](double ratio, int wanted, const std::string& text) {
    if (std::abs(ratio - 1.0) <= kTolerance) wanted = current;  // close enough: stay
    if (wanted > best) {
      best = wanted;
      why = text;
    }
  };
  if (plan.target_cpu_percent > 0 && m.cpu_percent && m.ready > 0) {
    double ratio = *m.cpu_percent / plan.target_cpu_percent;
    consider(ratio, static_cast<int>(std::ceil(m.ready * ratio - 1e-9)),
             "CPU " + percent(*m.cpu_percent) + " of a " + std::to_string(plan.target_cpu_percent) +
                 "% target over " + std::to_string(m.ready) + " ready replica" +
                 (m.ready == 1 ? "" : "s"));
  }
  if (plan.target_requests_per_second > 0 && m.requests_per_second) {
    double per_replica = *m.requests_per_second / std::max(1, m.ready);
    double ratio = per_replica / plan.target_requests_per_second;
    consider(ratio,
             static_cast<int>(
                 std::ceil(*m.requests_per_second / plan.target_requests_per_second - 1e-9)),
             number(*m.requests_per_second) + " requests/s for a target of " +
                 std::to_string(plan.target_requests_per_second) + " per replica");
  }
  if (best < 0) {
    if (reason) *reason = "no metrics yet";
    return current;
  }
  if (reason) *reason = why;
  return clamp(plan, best);
}

int Autoscaler::replicas(const std::string& uid, const render::AutoscalePlan& plan, int initial) {
  std::lock_guard lock(mu_);
  State& s = sites_[uid];
  if (s.replicas == 0) s.replicas = clamp(plan, initial);
  s.replicas = clamp(plan, s.replicas);  // the bounds may have changed
  return s.replicas;
}

AutoscaleDecision Autoscaler::observe(const std::string& uid, const render::AutoscalePlan& plan,
                                      const AutoscaleMetrics& m, AutoscaleClock::time_point now) {
  std::lock_guard lock(mu_);
  State& s = sites_[uid];
  if (s.replicas == 0) s.replicas = plan.min_replicas;
  AutoscaleDecision d;
  d.recommended = recommend(plan, s.replicas, m, &d.reason);
  s.recommendations.emplace_back(now, d.recommended);
  while (!s.recommendations.empty() && now - s.recommendations.front().first > down_window_)
    s.recommendations.pop_front();
  int next = s.replicas;
  if (d.recommended > s.replicas) {
    next = std::min(d.recommended, std::max(s.replicas * 2, s.replicas + 4));
  } else if (d.recommended < s.replicas) {
    // Down only as far as every recommendation of the window allows.
    int highest = d.recommended;
    for (const auto& [at, n] : s.recommendations) highest = std::max(highest, n);
    next = highest;
  }
  next = clamp(plan, next);
  json st = {{"component", plan.component},
             {"replicas", next},
             {"desiredReplicas", d.recommended},
             {"minReplicas", plan.min_replicas},
             {"maxReplicas", plan.max_replicas}};
  // Null, not absent: the status is merged into the stored one.
  st["currentCPUUtilization"] = m.cpu_percent ? json(std::lround(*m.cpu_percent)) : json(nullptr);
  st["currentRequestsPerSecond"] =
      m.requests_per_second ? json(std::lround(*m.requests_per_second * 10) / 10.0) : json(nullptr);
  st["lastScaleTime"] = nullptr;
  st["lastScaleReason"] = nullptr;
  std::string message = d.reason;
  if (next != s.replicas) {
    message =
        "scaled " + std::to_string(s.replicas) + " → " + std::to_string(next) + ": " + d.reason;
    st["lastScaleTime"] = store::now_rfc3339();
  } else if (s.status.contains("lastScaleTime")) {
    st["lastScaleTime"] = s.status["lastScaleTime"];
  }
  if (next == s.replicas && d.recommended < s.replicas)
    message +=
        "; keeping " + std::to_string(next) + " (a higher recommendation is less than " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(down_window_).count()) +
        "s old)";
  st["message"] = message;
  if (next != s.replicas)
    st["lastScaleReason"] = message;
  else if (s.status.contains("lastScaleReason"))
    st["lastScaleReason"] = s.status["lastScaleReason"];
  s.status = st;
  s.replicas = next;
  d.replicas = next;
  return d;
}

json Autoscaler::status(const std::string& uid) const {
  std::lock_guard lock(mu_);
  auto it = sites_.find(uid);
  return it == sites_.end() || it->second.status.is_null() ? json(nullptr) : it->second.status;
}

void Autoscaler::forget(const std::string& uid) {
  std::lock_guard lock(mu_);
  sites_.erase(uid);
  for (auto it = samples_.begin(); it != samples_.end();)
    it = it->first.rfind(uid + "/", 0) == 0 ? samples_.erase(it) : std::next(it);
}

std::optional<double> Autoscaler::rate(const std::string& key, uint64_t total,
                                       AutoscaleClock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = samples_.find(key);
  std::optional<double> out;
  if (it != samples_.end() && total >= it->second.second) {
    double seconds = std::chrono::duration<double>(now - it->second.first).count();
    // Closer than a second (a reconcile right after another): too noisy
    // to be a rate; the older sample stays.
    if (seconds >= 1.0)
      out = static_cast<double>(total - it->second.second) / seconds;
    else
      return std::nullopt;
  }
  samples_[key] = {now, total};
  // Instances come and go (a key per instance and pid): forget samples
  // nobody asked for in ten minutes.
  if (samples_.size() > 4096) {
    for (auto it = samples_.begin(); it != samples_.end();)
      it = now - it->second.first > std::chrono::minutes(10) ? samples_.erase(it) : std::next(it);
  }
  return out;
}

}  // namespace wok::controllers
