#pragma once
// A de-duplicating, delaying, rate-limited work queue for level-based
// reconcilers (client-go's workqueue). A key is held once however often it
// is added (the earliest schedule wins); a key is never handed to two
// workers at once, and a key added while it is processed is handed out once
// more after done(). Failing keys come back after a per-key exponential
// backoff (backoff.h). Keys due at the same time come out in the order they
// were scheduled.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "reconcile/backoff.h"
#include "reconcile/clock.h"

namespace wok::reconcile {

class WorkQueue {
 public:
  explicit WorkQueue(BackoffPolicy backoff = {}, Clock& clock = steady_clock());
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Due now. Safe from any thread (watch feeds, webhooks, `wok refresh`).
  void add(const std::string& key);
  // Due after `delay`; an earlier schedule of the same key wins.
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  // A failed pass: due after the key's next backoff, which is returned.
  std::chrono::milliseconds add_rate_limited(const std::string& key);
  // A successful pass: the key's next failure backs off from the start.
  void forget(const std::string& key);
  int failures(const std::string& key) const { return backoff_.failures(key); }

  // Blocks for the next due key that is not in flight and marks it in
  // flight; false once shut down.
  bool get(std::string* key);
  // The pass over `key` ended (every get() needs one).
  void done(const std::string& key);
  // get() hands out nothing while paused (a standby replica keeps its keys).
  void pause();
  void resume();
  // get() returns false from now on and adds are ignored; keys in flight
  // still need done(). Keys not started are dropped: the next start lists
  // the world again (level-based).
  void shut_down();
  // shut_down(), then waits until every key in flight is done().
  void shut_down_and_drain();
  bool shutting_down() const;

  // When `key` is next due (nullopt: not scheduled, or only in flight).
  std::optional<Clock::time_point> scheduled_at(const std::string& key) const;
  size_t depth() const;      // keys scheduled, due now or later (not in flight)
  size_t in_flight() const;  // keys handed out and not done
  uint64_t adds() const;     // add calls accepted, of every kind
  uint64_t retries() const;  // add_rate_limited calls accepted

 private:
  void schedule_locked(const std::string& key, Clock::time_point when);

  Clock& clock_;
  Backoff backoff_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // a key became due, or shut down
  std::condition_variable idle_cv_;  // a key in flight was done
  uint64_t seq_ = 0;                 // ties broken in scheduling order
  using Slot = std::tuple<Clock::time_point, uint64_t, std::string>;
  std::set<Slot> by_time_;                                              // scheduled, earliest first
  std::map<std::string, std::pair<Clock::time_point, uint64_t>> when_;  // key -> its slot
  std::set<std::string> in_flight_;
  std::map<std::string, Clock::time_point> again_;  // added while in flight
  bool shut_down_ = false, paused_ = false;
  uint64_t adds_ = 0, retries_ = 0;
};

}  // namespace wok::reconcile
