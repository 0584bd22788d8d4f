#pragma once
// Per-key exponential backoff, the work queue's rate limit on failing keys
// (client-go's ItemExponentialFailureRateLimiter): the n-th failure in a row
// waits base * 2^(n-1), never more than cap; a success forgets the key.
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace wok::reconcile {

struct BackoffPolicy {
  std::chrono::milliseconds base{250};
  std::chrono::milliseconds cap{120'000};
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}) : policy_(policy) {}
  // One more failure of `key` in a row: how long until it is tried again.
  std::chrono::milliseconds next(const std::string& key);
  // A success: the next failure starts again at base.
  void reset(const std::string& key);
  int failures(const std::string& key) const;
  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  mutable std::mutex mu_;
  std::map<std::string, int> failures_;  // only keys that are failing
};

}  // namespace wok::reconcile
