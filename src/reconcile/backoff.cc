#include "reconcile/backoff.h"

#include <algorithm>

namespace wok::reconcile {

std::chrono::milliseconds Backoff::next(const std::string& key) {
  int n;
  {
    std::lock_guard lock(mu_);
    n = ++failures_[key];
  }
  // Doubling stops once past the cap (and long before the shift overflows).
  auto delay = std::max(policy_.base, std::chrono::milliseconds(1));
  for (int i = 1; i < n && delay < policy_.cap; ++i) delay *= 2;
  return std::min(delay, policy_.cap);
}

void Backoff::reset(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int Backoff::failures(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

}  // namespace wok::reconcile
