#include "http/connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "http/response_head.h"

namespace wok::http {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
// A pipelining client that does not read its responses stops being read
// beyond these, so a connection's memory and open files stay bounded.
constexpr size_t kMaxBufferedOutput = 1 << 20;
constexpr size_t kMaxQueuedItems = 64;
// How long a closing connection may keep sending before we drop it; long
// enough for the peer to read our last response (see State::kLingering).
constexpr int64_t kLingerMs = 2000;
// A peer that keeps sending while we close would otherwise hold the loop.
constexpr size_t kMaxDiscardedInput = 1 << 20;

ParserLimits limits_from(const ServerOptions& o) {
  ParserLimits limits;
  limits.max_header_bytes = o.max_header_bytes;
  limits.max_body_bytes = o.max_body_bytes;
  limits.max_target_bytes = std::min(limits.max_target_bytes, o.max_header_bytes);
  return limits;
}

}  // namespace

Connection::Connection(int fd, std::string remote_addr, const ServerOptions& options,
                       int64_t now_ms)
    : fd_(fd),
      remote_addr_(std::move(remote_addr)),
      parser_(limits_from(options)),
      last_activity_ms_(now_ms) {}

Connection::~Connection() { close(fd_); }

bool Connection::on_events(uint32_t events, const LoopState& loop) {
  if (events & EPOLLERR) return false;
  if (events & EPOLLOUT) flush(loop);
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) read_input(loop);
  return settle(loop);
}

bool Connection::on_tick(const LoopState& loop) {
  if (state_ == State::kLingering) return loop.now_ms < linger_deadline_ms_;
  if (state_ == State::kOpen && parser_.phase() == RequestParser::Phase::kHeaders &&
      header_start_ms_ >= 0 && loop.now_ms - header_start_ms_ >= loop.options->header_timeout_ms) {
    respond_error(408, loop);
    return settle(loop);
  }
  return loop.now_ms - last_activity_ms_ < loop.options->idle_timeout_ms;
}

bool Connection::on_stop(const LoopState& loop) {
  if (state_ == State::kOpen && idle()) return false;
  return settle(loop);
}

// Edge-triggered: read until EAGAIN, unless back-pressure says stop (then
// settle() resumes once the output drains).
void Connection::read_input(const LoopState& loop) {
  char buf[kReadChunk];
  while (state_ != State::kDead && !peer_closed_) {
    if (state_ == State::kOpen && backlogged()) {
      read_paused_ = true;
      return;
    }
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n > 0) {
      last_activity_ms_ = loop.now_ms;
      if (state_ != State::kOpen) {  // closing: input is drained and dropped, within reason
        discarded_ += static_cast<size_t>(n);
        if (discarded_ > kMaxDiscardedInput) state_ = State::kDead;
        continue;
      }
      input_.append(buf, static_cast<size_t>(n));
      process_input(loop);
    } else if (n == 0) {
      peer_closed_ = true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      state_ = State::kDead;
    }
  }
}

void Connection::process_input(const LoopState& loop) {
  while (state_ == State::kOpen && input_offset_ < input_.size() && !backlogged()) {
    size_t used = 0;
    std::string_view pending = std::string_view(input_).substr(input_offset_);
    RequestParser::Status status = parser_.parse(pending, &used);
    input_offset_ += used;
    if (status == RequestParser::Status::kRequest) {
      header_start_ms_ = -1;
      respond(parser_.take_request(), loop);
    } else if (status == RequestParser::Status::kError) {
      respond_error(parser_.error_status(), loop);
    } else {
      break;
    }
  }
  if (input_offset_ == input_.size() || state_ != State::kOpen) {
    input_.clear();
    input_offset_ = 0;
  }
  if (state_ == State::kOpen && parser_.phase() == RequestParser::Phase::kHeaders &&
      header_start_ms_ < 0) {
    header_start_ms_ = loop.now_ms;
  }
}

void Connection::respond(Request request, const LoopState& loop) {
  request.remote_addr = remote_addr_;
  Response response;
  bool failed = false;
  try {
    (*loop.handler)(request, response);
  } catch (...) {
    // Handlers do not throw by convention; if one does anyway (bad_alloc),
    // it costs this connection, not the process.
    failed = true;
  }
  if (failed) {
    if (response.file_fd >= 0) close(response.file_fd);
    response = make_error_response(500);
  }
  const bool keep_alive =
      request.keep_alive && !loop.stopping && !failed && !response_wants_close(response);
  HeadContext context{request.method == "HEAD", keep_alive, loop.date};
  bool send_body = false;
  output_.push(serialize_response_head(response, context, &send_body));
  if (response.file_fd >= 0) {
    if (send_body) {
      output_.push_file(response.file_fd, response.file_offset, response.file_length);
    } else {
      close(response.file_fd);
    }
  } else if (send_body) {
    output_.push(std::move(response.body));
  }
  if (!keep_alive) state_ = State::kClosing;
}

void Connection::respond_error(int status, const LoopState& loop) {
  Response response = make_error_response(status);
  HeadContext context{false, false, loop.date};
  bool send_body = false;
  output_.push(serialize_response_head(response, context, &send_body));
  if (send_body) output_.push(std::move(response.body));
  state_ = State::kClosing;
}

void Connection::flush(const LoopState& loop) {
  if (output_.empty() || state_ == State::kDead) return;
  size_t items = output_.items();
  size_t bytes = output_.buffered_bytes();
  if (output_.write_to(fd_) == OutputQueue::Result::kError) {
    state_ = State::kDead;
    return;
  }
  if (output_.items() != items || output_.buffered_bytes() != bytes) {
    last_activity_ms_ = loop.now_ms;
  }
}

// Moves the connection on after any event; false when it should be closed.
bool Connection::settle(const LoopState& loop) {
  flush(loop);
  while (state_ == State::kOpen && read_paused_ && !backlogged()) {
    read_paused_ = false;
    process_input(loop);
    read_input(loop);
    flush(loop);
  }
  if (state_ == State::kDead) return false;
  if (!output_.empty()) return true;
  switch (state_) {
    case State::kOpen:
      if (peer_closed_) return false;
      return !(loop.stopping && idle());
    case State::kClosing:
      if (peer_closed_) return false;
      // Closing with unread input would make the kernel send a reset, which
      // can destroy the response in flight; shut our side and drain theirs.
      shutdown(fd_, SHUT_WR);
      state_ = State::kLingering;
      linger_deadline_ms_ = loop.now_ms + kLingerMs;
      read_input(loop);
      return !peer_closed_ && state_ != State::kDead;
    case State::kLingering:
      return !peer_closed_;
    case State::kDead:
      return false;
  }
  return false;
}

bool Connection::backlogged() const {
  return output_.buffered_bytes() > kMaxBufferedOutput || output_.items() > kMaxQueuedItems;
}

bool Connection::idle() const {
  return input_offset_ == input_.size() && parser_.phase() == RequestParser::Phase::kIdle &&
         output_.empty();
}

}  // namespace wok::http
