#pragma once
// What the proxy and the FastCGI sessions share about talking to an
// upstream socket: the bytes waiting to go out, and a read deadline that
// moves with every byte received without a timer operation per read.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "http/exchange.h"
#include "http/loop.h"

namespace wok::router {

class SendBuffer {
 public:
  enum class Result { kDone, kBlocked, kError };

  // Where the session appends (request head, body pieces, FastCGI records).
  std::string& bytes() { return bytes_; }
  // Starts over with these bytes (a retried request).
  void reset(std::string bytes);
  void clear() { reset({}); }

  // Sends what the non-blocking socket takes. kDone: nothing left (the
  // buffer is emptied); kBlocked: wait for EPOLLOUT; kError: errno says.
  Result send_to(int fd);
  size_t pending() const { return bytes_.size() - offset_; }
  bool empty() const { return pending() == 0; }
  bool sent_any() const { return sent_any_; }

 private:
  std::string bytes_;
  size_t offset_ = 0;
  bool sent_any_ = false;
};

class Deadline {
 public:
  explicit Deadline(http::Loop& loop) : loop_(loop) {}
  ~Deadline() { cancel(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Runs on the loop once the deadline passes; it may destroy the owner of
  // this Deadline (whose destructor cancels it). Set before arm().
  void on_expire(std::function<void()> callback) { on_expire_ = std::move(callback); }
  // The deadline becomes now + ms, earlier or later than before. A later
  // one costs nothing: the pending timer, when it fires early, re-arms.
  void arm(int64_t ms);
  void cancel();

 private:
  void fire();

  http::Loop& loop_;
  std::function<void()> on_expire_;
  uint64_t timer_ = 0;
  int64_t timer_due_ms_ = 0;
  int64_t deadline_ms_ = 0;
};

// Times upstream attempts for the access log's upstream field: from the
// connect (or the pooled connection taken) to the attempt's end, added to
// the exchange's Completion. A session stops it before completing the
// exchange, so that the observers see it.
class UpstreamTimer {
 public:
  void start() {
    started_ = std::chrono::steady_clock::now();
    running_ = true;
  }
  void stop(http::Exchange& exchange) {
    if (!running_) return;
    running_ = false;
    exchange.add_upstream_time(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - started_)
                                   .count());
  }

 private:
  std::chrono::steady_clock::time_point started_;
  bool running_ = false;
};

}  // namespace wok::router
