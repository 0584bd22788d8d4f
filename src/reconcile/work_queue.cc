#include "reconcile/work_queue.h"

namespace wok::reconcile {

WorkQueue::WorkQueue(BackoffPolicy backoff, Clock& clock) : clock_(clock), backoff_(backoff) {}

WorkQueue::~WorkQueue() { clock_.forget(cv_); }

void WorkQueue::schedule_locked(const std::string& key, Clock::time_point when) {
  if (in_flight_.count(key)) {
    auto it = again_.find(key);
    if (it == again_.end() || when < it->second) again_[key] = when;
    return;
  }
  auto it = when_.find(key);
  if (it != when_.end()) {
    if (it->second.first <= when) return;  // already due as early
    by_time_.erase({it->second.first, it->second.second, key});
  }
  uint64_t seq = ++seq_;
  when_[key] = {when, seq};
  by_time_.insert({when, seq, key});
  cv_.notify_all();
}

void WorkQueue::add(const std::string& key) { add_after(key, std::chrono::milliseconds(0)); }

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  if (shut_down_) return;
  ++adds_;
  schedule_locked(key, clock_.now() + std::max(delay, std::chrono::milliseconds(0)));
}

std::chrono::milliseconds WorkQueue::add_rate_limited(const std::string& key) {
  auto delay = backoff_.next(key);
  std::lock_guard lock(mu_);
  if (shut_down_) return delay;
  ++adds_;
  ++retries_;
  schedule_locked(key, clock_.now() + delay);
  return delay;
}

void WorkQueue::forget(const std::string& key) { backoff_.reset(key); }

bool WorkQueue::get(std::string* key) {
  std::unique_lock lock(mu_);
  while (!shut_down_) {
    auto deadline = Clock::time_point::max();
    if (!paused_ && !by_time_.empty()) {
      const auto& [when, seq, first] = *by_time_.begin();
      if (when <= clock_.now()) {
        *key = first;
        when_.erase(first);
        in_flight_.insert(first);
        by_time_.erase(by_time_.begin());
        return true;
      }
      deadline = when;
    }
    clock_.wait_until(lock, cv_, deadline);
  }
  return false;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  in_flight_.erase(key);
  auto it = again_.find(key);
  if (it != again_.end()) {
    auto when = it->second;
    again_.erase(it);
    if (!shut_down_) schedule_locked(key, when);
  }
  idle_cv_.notify_all();
}

void WorkQueue::pause() {
  std::lock_guard lock(mu_);
  paused_ = true;
}

void WorkQueue::resume() {
  std::lock_guard lock(mu_);
  paused_ = false;
  cv_.notify_all();
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mu_);
  shut_down_ = true;
  cv_.notify_all();
}

void WorkQueue::shut_down_and_drain() {
  std::unique_lock lock(mu_);
  shut_down_ = true;
  cv_.notify_all();
  idle_cv_.wait(lock, [this] { return in_flight_.empty(); });
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mu_);
  return shut_down_;
}

std::optional<Clock::time_point> WorkQueue::scheduled_at(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = when_.find(key);
  if (it == when_.end()) return std::nullopt;
  return it->second.first;
}

size_t WorkQueue::depth() const {
  std::lock_guard lock(mu_);
  return by_time_.size();
}

size_t WorkQueue::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

uint64_t WorkQueue::adds() const {
  std::lock_guard lock(mu_);
  return adds_;
}

uint64_t WorkQueue::retries() const {
  std::lock_guard lock(mu_);
  return retries_;
}

}  // namespace wok::reconcile
