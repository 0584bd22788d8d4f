#include "reconcile/clock.h"

#include <algorithm>

namespace wok::reconcile {

void SteadyClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             time_point deadline) {
  if (deadline == time_point::max())
    cv.wait(lock);
  else
    cv.wait_until(lock, deadline);
}

Clock& steady_clock() {
  static SteadyClock clock;
  return clock;
}

ManualClock::time_point ManualClock::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

void ManualClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             time_point deadline) {
  {
    std::lock_guard guard(mu_);
    if (now_ >= deadline) return;
    bool known =
        std::any_of(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.cv == &cv; });
    if (!known) waiters_.push_back({lock.mutex(), &cv});
  }
  // advance() takes the waiter's mutex before notifying, so a wake-up between
  // the check above and this wait is not lost: it waits for us to wait.
  cv.wait(lock);
}

void ManualClock::forget(std::condition_variable& cv) {
  std::lock_guard notifying(notify_mu_);
  std::lock_guard guard(mu_);
  std::erase_if(waiters_, [&](const Waiter& w) { return w.cv == &cv; });
}

void ManualClock::advance(std::chrono::milliseconds by) {
  std::lock_guard notifying(notify_mu_);
  std::vector<Waiter> waiters;
  {
    std::lock_guard guard(mu_);
    now_ += by;
    waiters = waiters_;
  }
  for (const auto& w : waiters) {
    std::lock_guard lock(*w.mu);
    w.cv->notify_all();
  }
}

}  // namespace wok::reconcile
