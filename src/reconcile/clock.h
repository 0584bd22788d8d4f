#pragma once
// The time a work queue schedules by. Production uses the steady clock; tests
// use ManualClock and move time themselves, so that a requeue-after or a
// backoff is observed by advancing the clock, never by sleeping.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace wok::reconcile {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // Called with `lock` (of `mu`) held: waits until `cv` is notified or this
  // clock reaches `deadline`, and returns with `lock` held again. Spurious
  // returns are allowed; callers look at their state again.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          time_point deadline) = 0;
  // The waiter (mu, cv) goes away: a clock that wakes waiters forgets it.
  virtual void forget(std::condition_variable&) {}
};

class SteadyClock : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  time_point deadline) override;
};

// The process's steady clock (the default of every queue).
Clock& steady_clock();

// A clock that moves only when told to. Waiters sleep until advance() (or a
// notification), however far their deadline is.
class ManualClock : public Clock {
 public:
  explicit ManualClock(time_point start = time_point{} + std::chrono::hours(1)) : now_(start) {}
  time_point now() const override;
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  time_point deadline) override;
  void forget(std::condition_variable& cv) override;
  // Moves time forward and wakes every waiter so it looks at its deadline.
  void advance(std::chrono::milliseconds by);

 private:
  struct Waiter {
    std::mutex* mu;
    std::condition_variable* cv;
  };
  mutable std::mutex mu_;
  // Held while waking waiters: forget() waits for it, so no waiter is woken
  // after its queue is gone.
  std::mutex notify_mu_;
  time_point now_;
  std::vector<Waiter> waiters_;
};

}  // namespace wok::reconcile
