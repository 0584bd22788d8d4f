#pragma once
// What one reconciliation says about its key, controller-runtime's
// (reconcile.Result, error) in one value. Level-based: the next pass reads
// the world again, so a Result never carries state, only when to look again.
#include <chrono>
#include <string>

namespace wok::reconcile {

struct Result {
  // Non-empty: the pass failed; the key comes back after its backoff (which
  // grows with each failure in a row, up to a cap) and requeue_after is
  // ignored. Say what failed and about what: it is logged with the key.
  std::string error;
  // After a success: come back in this long (a git interval, an autoscale
  // window, a certificate renewal). 0: only on the next change (or the
  // controller's resync).
  std::chrono::milliseconds requeue_after{0};

  bool ok() const { return error.empty(); }
  static Result done() { return {}; }
  static Result after(std::chrono::milliseconds delay) { return {"", delay}; }
  static Result failed(std::string why) { return {std::move(why), {}}; }
};

}  // namespace wok::reconcile
