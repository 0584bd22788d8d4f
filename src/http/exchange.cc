// The Exchange handle and the Connection's side of it: how a handler's
// answer becomes bytes on the client's socket.
#include "http/exchange.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "http/ascii.h"
#include "http/connection.h"
#include "http/exchange_host.h"
#include "http/response_head.h"

namespace wok::http {
namespace {

// write() asks the producer to wait beyond this much queued output.
constexpr size_t kStreamHighWater = 256 * 1024;
// A streamed answer's head and small pieces are written together, when it
// finishes or after the current event (one writev for a small answer);
// beyond this much they go out at once.
constexpr size_t kFlushAtOnce = 64 * 1024;

using Reply = ExchangeState::Reply;
using Body = ExchangeState::Body;

bool bodiless_status(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace

// ---- Exchange: forwards to the connection while there is one ----

bool Exchange::active() const {
  return state_ && state_->connection != nullptr && state_->reply != Reply::kDone;
}
const Request& Exchange::request() const { return state_->request; }
Request& Exchange::request() { return state_->request; }
Loop& Exchange::loop() const { return *state_->loop; }
bool Exchange::body_complete() const { return state_ && state_->body_done; }
size_t Exchange::queued_output() const {
  return state_ && state_->connection ? state_->connection->queued_output() : 0;
}

void Exchange::read_body(std::function<void(Exchange&)> done) {
  if (!active() || state_->body_mode != Body::kUndecided) return;
  state_->body_mode = Body::kBuffer;
  state_->on_body = std::move(done);
  state_->connection->want_body(*state_);
}

void Exchange::stream_body(BodySink sink) {
  if (!active() || state_->body_mode != Body::kUndecided) return;
  state_->body_mode = Body::kStream;
  state_->sink = std::move(sink);
  state_->connection->want_body(*state_);
}

void Exchange::pause_body() {
  if (state_) state_->body_paused = true;
}

void Exchange::resume_body() {
  if (!active() || !state_->body_paused) return;
  state_->body_paused = false;
  state_->connection->want_body(*state_);
}

void Exchange::respond(Response response) {
  if (!active()) {
    if (response.file_fd >= 0) close(response.file_fd);
    return;
  }
  state_->connection->respond(*state_, std::move(response));
}

void Exchange::start_response(const Response& head, int64_t content_length) {
  if (active()) state_->connection->start_response(*state_, head, content_length);
}

bool Exchange::write(std::string_view bytes) {
  return active() && state_->connection->write(*state_, bytes);
}

void Exchange::finish() {
  if (active()) state_->connection->finish(*state_);
}

void Exchange::on_writable(std::function<void()> callback) {
  if (state_) state_->on_writable = std::move(callback);
}

void Exchange::upgrade(const Response& head, BodySink sink) {
  if (!active() || state_->reply != Reply::kNone) return;
  state_->sink = std::move(sink);
  state_->connection->upgrade(*state_, head);
}

void Exchange::on_abort(std::function<void()> callback) {
  if (state_) state_->on_abort = std::move(callback);
}

void Exchange::on_complete(CompletionCallback callback) {
  if (!state_ || !callback) return;
  // Several parties listen (the router's logs and statistics, a handler):
  // each new callback runs after those set before it.
  if (auto before = std::move(state_->on_complete)) {
    state_->on_complete = [before = std::move(before),
                           callback = std::move(callback)](const Completion& c) mutable {
      before(c);
      callback(c);
    };
  } else {
    state_->on_complete = std::move(callback);
  }
}

void Exchange::add_upstream_time(int64_t us) {
  if (!state_) return;
  int64_t& total = state_->completion.upstream_us;
  total = std::max<int64_t>(total, 0) + std::max<int64_t>(us, 0);
}

void Exchange::abort() {
  if (active()) state_->connection->abort(*state_);
}

void Exchange::add_response_header(std::string name, std::string value) {
  if (!state_) return;
  for (Header& h : state_->extra_headers) {
    if (iequals(h.name, name)) {  // added again (a request served a second time): once
      h.value = std::move(value);
      return;
    }
  }
  state_->extra_headers.push_back({std::move(name), std::move(value)});
}

void Exchange::report_limit(std::string_view limit, int status, std::string_view detail) {
  if (active()) state_->connection->report_limit(limit, status, detail);
}

// ---- Connection: the response side ----

void Connection::want_body(ExchangeState& ex) {
  last_read_ms_ = loop_.now_ms();
  // RFC 9110 10.1.1: the client waits for this before sending the body.
  if (ex.expects_continue && !ex.body_done && ex.reply == Reply::kNone) {
    output_.push("HTTP/1.1 100 Continue\r\n\r\n");
    ex.expects_continue = false;
  }
  if (ex.body_done && exchange_.get() == &ex) {
    std::shared_ptr<ExchangeState> held = exchange_;
    if (ex.body_mode == Body::kBuffer && ex.on_body) {
      auto done = std::move(ex.on_body);
      Exchange handle(held);
      done(handle);
    } else if (ex.body_mode == Body::kStream && ex.sink) {
      // Not inside stream_body()'s caller: it may not be ready yet.
      loop_.defer([held] {
        if (held->connection && held->sink) held->sink({}, true);
      });
    }
  }
  schedule();
}

void Connection::respond(ExchangeState& ex, Response response) {
  if (ex.reply != Reply::kNone) {
    if (response.file_fd >= 0) close(response.file_fd);
    return;
  }
  LoopState loop = loop_state();
  bool keep_alive = ex.keep_alive && !loop.stopping && !response_wants_close(response);
  HeadContext context{ex.head_request, keep_alive, loop.date};
  if (!ex.extra_headers.empty()) context.extra = &ex.extra_headers;
  bool send_body = false;
  output_.push(serialize_response_head(response, context, &send_body));
  ex.completion.status = response.status;
  if (response.file_fd >= 0) {
    if (send_body) {
      ex.completion.body_bytes = response.file_length;
      output_.push_file(response.file_fd, response.file_offset, response.file_length);
    } else {
      close(response.file_fd);
    }
  } else if (send_body) {
    ex.completion.body_bytes = response.body_size();
    if (response.shared.owner) {
      output_.push_shared(std::move(response.shared));
    } else {
      output_.push(std::move(response.body));
    }
  }
  complete_exchange(keep_alive);
}

void Connection::start_response(ExchangeState& ex, const Response& head, int64_t length) {
  if (ex.reply != Reply::kNone) return;
  LoopState loop = loop_state();
  bool keep_alive = ex.keep_alive && !loop.stopping && !response_wants_close(head);
  Framing framing = Framing::kLength;
  if (length < 0) {
    framing = ex.request.version_minor >= 1 ? Framing::kChunked : Framing::kClose;
    if (framing == Framing::kClose) keep_alive = false;
  }
  HeadContext context{ex.head_request, keep_alive, loop.date, framing,
                      std::max<int64_t>(length, 0)};
  if (!ex.extra_headers.empty()) context.extra = &ex.extra_headers;
  bool send_body = false;
  output_.push(serialize_response_head(head, context, &send_body));
  send_body = send_body && !bodiless_status(head.status);
  ex.send_body = send_body;
  ex.chunked = send_body && framing == Framing::kChunked;
  ex.remaining = send_body && framing == Framing::kLength ? length : -1;
  ex.keep_alive = keep_alive;
  ex.reply = Reply::kStreaming;
  ex.completion.status = head.status;
  schedule();
}

bool Connection::write(ExchangeState& ex, std::string_view bytes) {
  if (ex.reply != Reply::kStreaming && ex.reply != Reply::kTunnel) return false;
  if (ex.reply == Reply::kStreaming) {
    if (!ex.send_body) bytes = {};
    if (ex.remaining >= 0) {
      bytes = bytes.substr(0, static_cast<size_t>(ex.remaining));
      ex.remaining -= static_cast<int64_t>(bytes.size());
    }
  }
  if (!bytes.empty()) {
    if (ex.chunked) {
      char size[24];
      int n = snprintf(size, sizeof size, "%zx\r\n", bytes.size());
      output_.push(std::string(size, static_cast<size_t>(n)) + std::string(bytes) + "\r\n");
    } else {
      output_.push(std::string(bytes));
    }
    ex.completion.body_bytes += bytes.size();
    if (output_.buffered_bytes() >= kFlushAtOnce) flush();
    schedule();
  }
  bool room = output_.buffered_bytes() < kStreamHighWater;
  if (!room) ex.wants_writable = true;
  return room;
}

void Connection::finish(ExchangeState& ex) {
  if (ex.reply == Reply::kTunnel) {
    complete_exchange(false);
    return;
  }
  if (ex.reply != Reply::kStreaming) return;
  if (ex.remaining > 0) {  // fewer bytes than promised: the framing is broken
    abort(ex);
    return;
  }
  if (ex.chunked) output_.push("0\r\n\r\n");
  flush();  // the whole answer is known: out now, not after the other events
  complete_exchange(ex.keep_alive);
}

void Connection::upgrade(ExchangeState& ex, const Response& head) {
  HeadContext context{false, true, loop_state().date, Framing::kUpgrade, 0};
  if (!ex.extra_headers.empty()) context.extra = &ex.extra_headers;
  bool send_body = false;
  output_.push(serialize_response_head(head, context, &send_body));
  ex.reply = Reply::kTunnel;
  ex.completion.status = head.status;
  ex.body_paused = false;
  tunnel_ = true;
  flush();
  schedule();
}

void Connection::report_limit(std::string_view limit, int status, std::string_view detail) {
  loop_state().options->on_limit({limit, status, remote_addr_, detail});
}

void Connection::abort(ExchangeState& ex) {
  std::shared_ptr<ExchangeState> held = exchange_;
  ex.connection = nullptr;
  ex.reply = Reply::kDone;
  ex.completion.aborted = true;
  exchange_.reset();
  state_ = State::kDead;
  auto on_complete = std::move(ex.on_complete);
  if (on_complete) on_complete(ex.completion);
  if (held) loop_.defer([held] { held->clear_callbacks(); });
  schedule();
}

void Connection::complete_exchange(bool keep_alive) {
  std::shared_ptr<ExchangeState> ex = std::move(exchange_);
  ex->connection = nullptr;
  ex->reply = Reply::kDone;
  // A body left unread cannot be skipped safely: close after the answer.
  if (!ex->body_done || tunnel_) keep_alive = false;
  if (!keep_alive && state_ == State::kOpen) state_ = State::kClosing;
  auto on_complete = std::move(ex->on_complete);
  if (on_complete) on_complete(ex->completion);
  // The handler's callbacks may still be running (this may be called from
  // one): drop them, and the cycles they hold, after this event.
  loop_.defer([ex] { ex->clear_callbacks(); });
  schedule();
}

}  // namespace wok::http
