#include "controllers/work_queue.h"

namespace wok::controllers {

void WorkQueue::add(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  if (shut_down_) return;
  auto when = Clock::now() + delay;
  auto& target = processing_.count(key) ? again_ : scheduled_;
  auto it = target.find(key);
  if (it == target.end() || when < it->second) target[key] = when;
  cv_.notify_all();
}

bool WorkQueue::get(std::string* key) {
  std::unique_lock lock(mu_);
  while (!shut_down_) {
    auto now = Clock::now();
    auto next = Clock::time_point::max();
    for (auto it = scheduled_.begin(); it != scheduled_.end(); ++it) {
      if (it->second <= now) {
        *key = it->first;
        processing_.insert(it->first);
        scheduled_.erase(it);
        return true;
      }
      next = std::min(next, it->second);
    }
    if (next == Clock::time_point::max()) cv_.wait(lock);
    else cv_.wait_until(lock, next);
  }
  return false;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  auto it = again_.find(key);
  if (it != again_.end()) {
    auto s = scheduled_.find(key);
    if (s == scheduled_.end() || it->second < s->second) scheduled_[key] = it->second;
    again_.erase(it);
    cv_.notify_all();
  }
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mu_);
  shut_down_ = true;
  cv_.notify_all();
}

size_t WorkQueue::pending() {
  std::lock_guard lock(mu_);
  return scheduled_.size();
}

}  // namespace wok::controllers
