#pragma once
// The one controller loop of wok, embedded and on Kubernetes alike (the
// shape of controller-runtime's controller): something outside enqueues
// keys (a store watch, an informer, a webhook, `wok refresh`); a few
// workers take them from a WorkQueue and call the reconcile function, one
// pass per key at a time; its Result decides when the key comes back:
// after its backoff on error, after requeue_after, or after the resync.
// Counts and durations per controller are exported in Prometheus text.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "reconcile/clock.h"
#include "reconcile/result.h"
#include "reconcile/work_queue.h"

namespace wok::reconcile {

struct ControllerOptions {
  std::string name;  // the metrics' controller label and the logs' prefix: "site", "operator"
  int workers = 2;
  BackoffPolicy backoff;
  // After a success without requeue_after: again after this, whatever
  // happens (missed events, drift). 0: only on the next enqueue.
  std::chrono::milliseconds resync{0};
  // Until it returns true (an informer cache not listed yet), due keys wait
  // not_ready_delay and are looked at again; such waits are no passes.
  std::function<bool()> ready;
  std::chrono::milliseconds not_ready_delay{200};
  Clock* clock = nullptr;  // null: the steady clock
};

struct ControllerStats {
  uint64_t reconciles = 0, errors = 0;
  uint64_t adds = 0, retries = 0;
  size_t depth = 0, in_flight = 0;
  // Pass durations: counts per bucket of kDurationBuckets (not cumulative),
  // the last one for longer passes, and their sum.
  std::array<uint64_t, 12> duration_counts{};
  double duration_seconds_sum = 0;
};

// Upper bounds (seconds) of the duration histogram's buckets.
inline constexpr std::array<double, 11> kDurationBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,    2.5,   10,   60};

class Controller {
 public:
  using Reconcile = std::function<Result(const std::string& key)>;

  Controller(ControllerOptions options, Reconcile reconcile);
  ~Controller();  // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the workers; keys enqueued before are kept.
  void start();
  // No pass starts any more; the passes in flight end (their results are
  // dropped); returns once every worker has. Keys still queued are dropped:
  // the next start lists the world again.
  void stop();

  // Reconcile `key` now (or after `delay`); de-duplicated. Any thread.
  void enqueue(const std::string& key);
  void enqueue_after(const std::string& key, std::chrono::milliseconds delay);
  // While paused no pass starts; keys wait in the queue (a standby replica).
  void pause() { queue_.pause(); }
  void resume() { queue_.resume(); }

  // One pass over the next due key on the calling thread: false once shut
  // down. The workers run this in a loop; tests may call it themselves.
  bool process_next();

  const std::string& name() const { return options_.name; }
  const WorkQueue& queue() const { return queue_; }
  ControllerStats stats() const;
  std::string metrics() const;  // this controller's families in Prometheus text

 private:
  void record(std::chrono::duration<double> took, bool failed);

  ControllerOptions options_;
  Reconcile reconcile_;
  Clock& clock_;
  WorkQueue queue_;
  std::vector<std::thread> workers_;
  std::atomic<bool> started_{false}, stopped_{false};
  mutable std::mutex stats_mu_;
  ControllerStats stats_;
};

// The families of several controllers of one process, each family once (as
// Prometheus wants it), for the endpoint that serves /metrics.
std::string metrics_text(const std::vector<const Controller*>& controllers);

}  // namespace wok::reconcile
