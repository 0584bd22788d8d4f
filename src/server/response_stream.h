#pragma once
// An answer that goes on after its request was handled: a chunked 200 whose
// text other threads post to the exchange's loop. Watches (watch.h) and log
// follows (log_follow.h) are two of them.
#include <atomic>
#include <memory>
#include <string>

#include "http/exchange.h"

namespace wok::server {

class ResponseStream {
 public:
  // A client that reads slower than what it follows: with this much still
  // queued for it when more comes, its stream is broken off (it asks again
  // from where it was).
  static constexpr size_t kMaxQueued = 1 << 20;

  ResponseStream() = default;
  // On the exchange's loop: sends the head (JSON lines, never cached) and
  // `first` when not empty, and keeps the exchange for post().
  void open(http::Exchange exchange, const std::string& first);
  // From any thread: `text` written on the loop; `finish` ends the answer.
  void post(std::string text, bool finish) const;
  // The client went away, or the stream was ended (end()).
  bool gone() const { return gone_->load(); }
  void end() { gone_->store(true); }

 private:
  http::Exchange exchange_;  // touched on its loop only
  std::weak_ptr<http::Mailbox> mailbox_;
  std::shared_ptr<std::atomic<bool>> gone_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace wok::server
