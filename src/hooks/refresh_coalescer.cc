#include "hooks/refresh_coalescer.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace wok::hooks {

RefreshCoalescer::RefreshCoalescer(std::chrono::milliseconds window, Trigger trigger)
    : window_(window), trigger_(std::move(trigger)), timer_([this] { timer_loop(); }) {}

RefreshCoalescer::~RefreshCoalescer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  timer_.join();
}

RefreshCoalescer::Answer RefreshCoalescer::request(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    auto [it, fresh] = keys_.try_emplace(key);
    State& s = it->second;
    if (s.pending) return {Outcome::kCoalesced, ""};
    if (!fresh && now - s.last < window_) {
      s.pending = true;
      wake_.notify_all();
      return {Outcome::kQueued, ""};
    }
    s.last = now;
  }
  // Outside the lock: a trigger may be a request to the Kubernetes API.
  return {Outcome::kNow, trigger_(key)};
}

void RefreshCoalescer::timer_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto now = Clock::now();
    auto next = Clock::time_point::max();
    std::vector<std::string> due;
    for (auto it = keys_.begin(); it != keys_.end();) {
      State& s = it->second;
      if (s.pending && now >= s.last + window_) {
        s.pending = false;
        s.last = now;
        due.push_back(it->first);
      } else if (s.pending) {
        next = std::min(next, s.last + window_);
      } else if (now - s.last >= window_) {
        it = keys_.erase(it);  // quiet again: forgotten (the map holds busy sites only)
        continue;
      }
      ++it;
    }
    if (!due.empty()) {
      lock.unlock();
      for (const auto& key : due) {
        if (std::string error = trigger_(key); !error.empty()) {
          spdlog::warn("webhook: coalesced refresh of {}: {}", key, error);
        }
      }
      lock.lock();
      continue;
    }
    if (next == Clock::time_point::max())
      wake_.wait(lock);
    else
      wake_.wait_until(lock, next);
  }
}

}  // namespace wok::hooks
