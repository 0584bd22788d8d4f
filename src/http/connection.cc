#include "http/connection.h"

#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "http/ascii.h"
#include "http/h2_session.h"
#include "http/response_head.h"
#include "http/tls.h"

namespace wok::http {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
// A pipelining client that does not read its responses stops being read
// beyond these, so a connection's memory and open files stay bounded.
constexpr size_t kMaxBufferedOutput = 1 << 20;
constexpr size_t kMaxQueuedItems = 64;
// Input read ahead of the parser (a body the handler paused, the next
// pipelined request); beyond it the socket is not read.
constexpr size_t kMaxPendingInput = 64 * 1024;
// How long a closing connection may keep sending before we drop it; long
// enough for the peer to read our last response (see State::kLingering).
constexpr int64_t kLingerMs = 2000;
// A peer that keeps sending while we close would otherwise hold the loop.
constexpr size_t kMaxDiscardedInput = 1 << 20;

ParserLimits limits_from(const ServerOptions& o) {
  ParserLimits limits;
  limits.max_header_bytes = o.max_header_bytes;
  limits.max_body_bytes = o.max_body_bytes;
  limits.max_target_bytes = std::min(o.max_request_line_bytes, o.max_header_bytes);
  limits.report_headers = true;
  return limits;
}

}  // namespace

Connection::Connection(int fd, std::string remote_addr, EventLoop& loop, uint64_t id)
    : fd_(fd),
      remote_addr_(std::move(remote_addr)),
      loop_(loop),
      id_(id),
      parser_(limits_from(*loop.state().options)),
      opened_ms_(loop.now_ms()),
      last_activity_ms_(loop.now_ms()),
      last_read_ms_(loop.now_ms()) {
  if (const auto& tls = loop.state().options->tls) {
    ssl_ = tls->accept(fd_, &tls_short_read_, &tls_output_);
    if (!ssl_) state_ = State::kDead;
  }
}

Connection::~Connection() {
  h2_.reset();  // its streams' exchanges lose their client first
  if (exchange_) {
    std::shared_ptr<ExchangeState> ex = std::move(exchange_);
    ex->connection = nullptr;
    ex->reply = ExchangeState::Reply::kDone;
    ex->completion.aborted = true;
    auto on_abort = std::move(ex->on_abort);
    auto on_complete = std::move(ex->on_complete);
    if (on_abort) on_abort();
    if (on_complete) on_complete(ex->completion);
    // The handler's other callbacks may hold the handle: break the cycle later.
    loop_.defer([ex] { ex->clear_callbacks(); });
  }
  if (ssl_) {
    send_tls_output(tls_output_);  // best effort: a last alert
    SSL_free(ssl_);
  }
  close(fd_);
}

bool Connection::on_events(uint32_t events) {
  if (events & EPOLLERR) return false;
  if (events & EPOLLOUT) flush();
  // A short read drained the socket; more data would raise a new edge. So
  // the read that would only say EAGAIN is skipped, unless the peer also
  // closed (then reading on finds the end). Under TLS a short record says
  // nothing of what waits behind it: the socket's own last read does
  // (tls_drained).
  // A new edge: the socket may hold bytes again (under TLS, reads after a
  // short one are skipped until then).
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) tls_short_read_ = false;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP) || (read_wants_write_ && (events & EPOLLOUT))) {
    read_input(!(events & (EPOLLRDHUP | EPOLLHUP)) && !read_wants_write_);
  }
  return settle();
}

bool Connection::on_poke() {
  scheduled_ = false;
  return settle();
}

bool Connection::on_tick() {
  LoopState loop = loop_state();
  if (state_ == State::kLingering) return loop.now_ms < linger_deadline_ms_;
  if (h2_) {
    // Idle, or answers waiting on a client that does not take them (a
    // window never opened): the connection's idle timeout. A handler that
    // works on an answer owns the pace.
    bool handlers_working = h2_->handlers_working() && all_sent() && h2_->queued_output() == 0;
    if (handlers_working || loop.now_ms - last_activity_ms_ < loop.options->idle_timeout_ms)
      return true;
    loop.options->on_limit({"idle_timeout", 0, remote_addr_, "HTTP/2 connection idle or stalled"});
    return false;
  }
  // A TLS handshake is part of the request head's time.
  if (ssl_ && !SSL_is_init_finished(ssl_) &&
      loop.now_ms - opened_ms_ >= loop.options->header_timeout_ms) {
    loop.options->on_limit({"tls_handshake_timeout", 0, remote_addr_, "TLS handshake not done"});
    return false;
  }
  if (state_ == State::kOpen && !exchange_ && parser_.phase() == RequestParser::Phase::kHeaders &&
      header_start_ms_ >= 0 && loop.now_ms - header_start_ms_ >= loop.options->header_timeout_ms) {
    fail(408, "header_timeout", "request head not received in time");
    return settle();
  }
  // A client that stops sending its body (the handler asked for it and is
  // not pausing it) holds a connection and a handler for nothing.
  if (state_ == State::kOpen && exchange_ && !tunnel_ && !exchange_->body_done &&
      exchange_->body_mode != ExchangeState::Body::kUndecided && !exchange_->body_paused &&
      loop.now_ms - last_read_ms_ >= loop.options->body_timeout_ms) {
    fail(408, "body_timeout", "request body stalled");
    return settle();
  }
  // While a handler works on an answer it owns the pace (and its timeouts).
  if (exchange_ && all_sent()) return true;
  bool alive = loop.now_ms - last_activity_ms_ < loop.options->idle_timeout_ms;
  if (!alive) {
    loop.options->on_limit({"idle_timeout", 0, remote_addr_,
                            idle() ? "keep-alive connection idle" : "client stopped reading"});
  }
  return alive;
}

bool Connection::on_stop() {
  if (h2_) {
    h2_->go_away();
    return settle();
  }
  if (state_ == State::kOpen && idle()) return false;
  return settle();
}

// Edge-triggered: read until EAGAIN (or, with stop_when_short, a short
// read), unless enough input already waits (then settle() resumes once the
// parser has taken some).
void Connection::read_input(bool stop_when_short) {
  char buf[kReadChunk];
  while (state_ != State::kDead && !peer_closed_) {
    if (state_ == State::kOpen && input_.size() - input_offset_ >= kMaxPendingInput) {
      read_paused_ = true;
      return;
    }
    ssize_t n = receive(buf, sizeof buf);
    if (n > 0) {
      last_activity_ms_ = last_read_ms_ = loop_.now_ms();
      if (state_ != State::kOpen) {  // closing: input is drained and dropped, within reason
        discarded_ += static_cast<size_t>(n);
        if (discarded_ > kMaxDiscardedInput) state_ = State::kDead;
        continue;
      }
      const bool drained = stop_when_short && (ssl_ ? tls_drained(ssl_, tls_short_read_)
                                                    : static_cast<size_t>(n) < sizeof buf);
      if (h2_) {
        if (!h2_->receive(std::string_view(buf, static_cast<size_t>(n)))) state_ = State::kClosing;
        if (drained) return;
        continue;
      }
      input_.append(buf, static_cast<size_t>(n));
      if (!protocol_decided_ && !decide_protocol()) continue;  // more of a preface to come
      if (h2_) continue;
      process_input();
      if (drained) return;
    } else if (n == 0) {
      peer_closed_ = true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      state_ = State::kDead;
    }
  }
}

ssize_t Connection::receive(char* buf, size_t size) {
  if (!ssl_) return recv(fd_, buf, size, 0);  // not read(): no VFS detour for a socket
  read_wants_write_ = false;
  // OpenSSL's error queue is empty here: every failure below clears it.
  errno = 0;
  size_t got = 0;
  if (SSL_read_ex(ssl_, buf, size, &got) == 1) return static_cast<ssize_t>(got);
  switch (SSL_get_error(ssl_, 0)) {
    case SSL_ERROR_WANT_WRITE:
      read_wants_write_ = true;
      [[fallthrough]];
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or (IGNORE_UNEXPECTED_EOF) a bare EOF
      ERR_clear_error();
      return 0;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (errno == 0) return 0;
      return -1;
    default: {
      // A failed handshake (no certificate for the name, no common
      // protocol) or a broken record: said once, then closed.
      char reason[256] = "TLS error";
      if (unsigned long code = ERR_peek_error()) ERR_error_string_n(code, reason, sizeof reason);
      ERR_clear_error();
      loop_state().options->on_limit(
          {SSL_is_init_finished(ssl_) ? "tls" : "tls_handshake", 0, remote_addr_, reason});
      errno = EPROTO;
      return -1;
    }
  }
}

bool Connection::decide_protocol() {
  bool h2 = false;
  if (ssl_) {
    h2 = TlsAcceptor::negotiated_protocol(ssl_) == "h2";
  } else if (loop_state().options->h2c) {
    std::string_view pending = std::string_view(input_).substr(input_offset_);
    size_t n = std::min(pending.size(), kH2Preface.size());
    if (pending.substr(0, n) != kH2Preface.substr(0, n)) {
      protocol_decided_ = true;  // HTTP/1.1
      return true;
    }
    if (n < kH2Preface.size()) return false;
    h2 = true;
  }
  protocol_decided_ = true;
  if (!h2) return true;
  h2_ = std::make_unique<H2Session>(*this, loop_);
  if (!h2_->start()) {
    state_ = State::kDead;
    return true;
  }
  std::string first = input_.substr(input_offset_);
  input_.clear();
  input_offset_ = 0;
  if (!h2_->receive(first)) state_ = State::kClosing;
  return true;
}

void Connection::process_input() {
  while (state_ == State::kOpen) {
    if (tunnel_) {
      deliver_tunnel();
      break;
    }
    if (backlogged() || !exchange_wants_input()) break;
    if (input_offset_ == input_.size() && !parser_.pending()) break;
    if (!parse_step()) break;
  }
  if (input_offset_ == input_.size() || state_ != State::kOpen) {
    input_.clear();
    input_offset_ = 0;
  } else if (input_offset_ >= kMaxPendingInput) {
    input_.erase(0, input_offset_);
    input_offset_ = 0;
  }
  if (state_ == State::kOpen && !exchange_ && parser_.phase() == RequestParser::Phase::kHeaders &&
      header_start_ms_ < 0) {
    header_start_ms_ = loop_.now_ms();
  }
}

// One parser call; false when it needs more input or failed.
bool Connection::parse_step() {
  size_t used = 0;
  std::string_view pending = std::string_view(input_).substr(input_offset_);
  RequestParser::Status status = parser_.parse(pending, &used);
  input_offset_ += used;
  std::string piece = parser_.take_body();
  switch (status) {
    case RequestParser::Status::kHeaders:
      header_start_ms_ = -1;
      begin_exchange(parser_.take_request());
      return true;
    case RequestParser::Status::kRequest:
      parser_.end_request();
      if (exchange_ && !exchange_->body_done) deliver_body(std::move(piece), true);
      return true;
    case RequestParser::Status::kError:
      fail(parser_.error_status(), "request", parser_.error_reason());
      return false;
    case RequestParser::Status::kNeedMore:
      if (exchange_ && !piece.empty()) deliver_body(std::move(piece), false);
      return false;
  }
  return false;
}

// The next request is not parsed before this one is answered, and a body
// is only parsed once the handler asked for it (and is not pausing it).
bool Connection::exchange_wants_input() const {
  if (!exchange_) return true;
  if (exchange_->body_done) return false;
  if (!parser_.body_expected()) return true;
  return exchange_->body_mode != ExchangeState::Body::kUndecided && !exchange_->body_paused;
}

void Connection::begin_exchange(Request request) {
  request.remote_addr = remote_addr_;
  request.tls = ssl_ != nullptr;
  auto ex = std::make_shared<ExchangeState>();
  ex->connection = this;
  ex->loop = &loop_;
  ex->head_request = request.method == "HEAD";
  ex->expects_continue = request.version_minor >= 1 && parser_.body_expected() &&
                         iequals(request.header("Expect"), "100-continue");
  ex->keep_alive = request.keep_alive;
  // Without a body the request is whole now: a handler answering at once
  // must not find it "unread" and lose keep-alive for it.
  ex->body_done = !parser_.body_expected();
  ex->request = std::move(request);
  exchange_ = ex;
  last_read_ms_ = loop_.now_ms();
  try {
    (*loop_state().handler)(Exchange(ex));
  } catch (...) {
    // Handlers do not throw by convention; one that does costs this request.
    if (exchange_ == ex && ex->reply == ExchangeState::Reply::kNone) {
      respond(*ex, make_error_response(500));
    }
  }
}

void Connection::deliver_body(std::string piece, bool last) {
  std::shared_ptr<ExchangeState> ex = exchange_;  // callbacks may complete it
  if (last) ex->body_done = true;
  if (ex->body_mode == ExchangeState::Body::kBuffer) {
    ex->request.body.append(piece);
    if (last && ex->on_body) {
      auto done = std::move(ex->on_body);
      Exchange handle(ex);
      done(handle);
    }
  } else if (ex->body_mode == ExchangeState::Body::kStream && ex->sink) {
    ex->sink(piece, last);
  }
}

void Connection::deliver_tunnel() {
  std::shared_ptr<ExchangeState> ex = exchange_;
  if (!ex || ex->body_paused || !ex->sink) return;
  if (input_offset_ < input_.size()) {
    std::string data = input_.substr(input_offset_);
    input_.clear();
    input_offset_ = 0;
    ex->sink(data, false);
  }
  if (peer_closed_ && !tunnel_eof_sent_ && exchange_ == ex) {
    tunnel_eof_sent_ = true;
    ex->sink({}, true);
  }
}

// A request that cannot be read further: answer it if nothing was sent yet.
void Connection::fail(int status, std::string_view limit, std::string_view detail) {
  loop_state().options->on_limit({limit, status, remote_addr_, detail});
  if (exchange_) {
    if (exchange_->reply != ExchangeState::Reply::kNone) {
      state_ = State::kDead;  // a response is under way: only breaking off is left
      return;
    }
    std::shared_ptr<ExchangeState> ex = std::move(exchange_);
    ex->connection = nullptr;
    ex->reply = ExchangeState::Reply::kDone;
    ex->completion.aborted = true;
    auto on_abort = std::move(ex->on_abort);
    if (on_abort) on_abort();
    loop_.defer([ex] { ex->clear_callbacks(); });
  }
  respond_error(status);
}

void Connection::respond_error(int status) {
  Response response = make_error_response(status);
  HeadContext context{false, false, loop_state().date};
  bool send_body = false;
  output_.push(serialize_response_head(response, context, &send_body));
  if (send_body) output_.push(std::move(response.body));
  state_ = State::kClosing;
}

void Connection::flush() {
  if (state_ == State::kDead) return;
  if (!output_.empty()) {
    size_t items = output_.items();
    size_t bytes = output_.buffered_bytes();
    ask_ticket_once();
    OutputQueue::Result result = ssl_ ? output_.write_tls(ssl_) : output_.write_to(fd_);
    if (result == OutputQueue::Result::kError) {
      state_ = State::kDead;
      return;
    }
    if (output_.items() != items || output_.buffered_bytes() != bytes) {
      last_activity_ms_ = loop_.now_ms();
    }
  }
  // What the session wrote (a handshake flight, records of answers) leaves
  // in one send.
  if (ssl_ && tls_output_.pending() > 0) {
    size_t before = tls_output_.pending();
    if (!send_tls_output(tls_output_)) {
      state_ = State::kDead;
      return;
    }
    if (tls_output_.pending() != before) last_activity_ms_ = loop_.now_ms();
  }
}

void Connection::ask_ticket_once() {
  if (ssl_ && !tls_ticket_asked_ && SSL_is_init_finished(ssl_)) {
    tls_ticket_asked_ = true;
    ask_tls_ticket(ssl_);
  }
}

bool Connection::settle_h2() {
  flush();
  if (state_ != State::kDead) {
    // Under TLS the frames go to SSL_write as they come (a copy into a
    // record, not into a string that grows and is copied again).
    ask_ticket_once();
    const uint64_t staged = output_.staged_total();
    const bool more = h2_->produce(output_, kMaxBufferedOutput, ssl_);
    if (output_.staged_total() != staged) last_activity_ms_ = loop_.now_ms();
    flush();
    // Stopped at the budget and all of it sent already: no EPOLLOUT will
    // come, so the connection comes back for the rest itself, on the
    // loop's next turn (the other connections' events first: a client
    // that reads as fast as it is sent does not keep the loop).
    if (more && state_ != State::kDead && all_sent()) schedule(/*next_turn=*/true);
  }
  if (state_ == State::kDead) return false;
  if (!all_sent()) return true;
  if (state_ == State::kOpen) {
    if (h2_->done() || peer_closed_) return false;
    return !(loop_state().stopping && h2_->idle());
  }
  return false;  // closing: what was queued (a GOAWAY) went out
}

// Moves the connection on after any event; false when it should be closed.
bool Connection::settle() {
  if (h2_) return settle_h2();
  flush();
  if (state_ == State::kOpen) {
    process_input();
    if (read_paused_ && input_.size() - input_offset_ < kMaxPendingInput) {
      read_paused_ = false;
      read_input();
    }
    flush();
  }
  notify_writable();
  if (state_ == State::kDead) return false;
  if (!all_sent()) return true;
  LoopState loop = loop_state();
  switch (state_) {
    case State::kOpen:
      // A tunnel's handler finishes it after passing the EOF on; any other
      // request in flight loses its client.
      if (peer_closed_) return tunnel_;
      return !(loop.stopping && idle());
    case State::kClosing:
      if (peer_closed_) return false;
      // Closing with unread input would make the kernel send a reset, which
      // can destroy the response in flight; shut our side and drain theirs.
      if (ssl_ && SSL_is_init_finished(ssl_)) {
        SSL_shutdown(ssl_);  // close_notify, best effort
        send_tls_output(tls_output_);
      }
      shutdown(fd_, SHUT_WR);
      state_ = State::kLingering;
      linger_deadline_ms_ = loop.now_ms + kLingerMs;
      read_input();
      return !peer_closed_ && state_ != State::kDead;
    case State::kLingering:
      return !peer_closed_;
    case State::kDead:
      return false;
  }
  return false;
}

void Connection::notify_writable() {
  if (!exchange_ || !exchange_->wants_writable || state_ == State::kDead) return;
  if (output_.buffered_bytes() > kMaxBufferedOutput / 8) return;
  std::shared_ptr<ExchangeState> ex = exchange_;
  ex->wants_writable = false;
  if (ex->on_writable) {
    auto callback = ex->on_writable;  // it may replace itself
    callback();
  }
}

bool Connection::backlogged() const {
  return output_.buffered_bytes() > kMaxBufferedOutput || output_.items() > kMaxQueuedItems;
}

bool Connection::idle() const {
  return !exchange_ && input_offset_ == input_.size() &&
         parser_.phase() == RequestParser::Phase::kIdle && all_sent();
}

void Connection::schedule(bool next_turn) {
  if (scheduled_) return;
  scheduled_ = true;
  loop_.poke(fd_, id_, next_turn);
}

}  // namespace wok::http
