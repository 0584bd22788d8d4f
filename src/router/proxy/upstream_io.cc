#include "router/proxy/upstream_io.h"

#include <sys/socket.h>

#include <cerrno>

namespace wok::router {
namespace {
// Sent bytes are dropped from the front of the buffer beyond this (not on
// every partial send: that would move the rest each time).
constexpr size_t kCompactAt = 256 * 1024;
}  // namespace

void SendBuffer::reset(std::string bytes) {
  bytes_ = std::move(bytes);
  offset_ = 0;
  sent_any_ = false;
}

SendBuffer::Result SendBuffer::send_to(int fd) {
  while (offset_ < bytes_.size()) {
    ssize_t n = send(fd, bytes_.data() + offset_, bytes_.size() - offset_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_any_ = true;
      offset_ += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (offset_ >= kCompactAt) {
        bytes_.erase(0, offset_);
        offset_ = 0;
      }
      return Result::kBlocked;
    } else {
      return Result::kError;
    }
  }
  bytes_.clear();
  offset_ = 0;
  return Result::kDone;
}

void Deadline::arm(int64_t ms) {
  const int64_t deadline = loop_.now_ms() + ms;
  deadline_ms_ = deadline;
  if (timer_ != 0 && timer_due_ms_ <= deadline) return;
  cancel();
  timer_due_ms_ = deadline;
  timer_ = loop_.add_timer(ms, [this] { fire(); });
}

void Deadline::cancel() {
  if (timer_ == 0) return;
  loop_.cancel_timer(timer_);
  timer_ = 0;
}

void Deadline::fire() {
  timer_ = 0;
  const int64_t now = loop_.now_ms();
  if (now < deadline_ms_) {
    arm(deadline_ms_ - now);
    return;
  }
  auto expire = on_expire_;  // a copy: the call may destroy this Deadline
  expire();
}

}  // namespace wok::router
