#include "router/proxy/proxy_session.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "router/proxy/proxy_stats.h"
#include "router/proxy/upstream_socket.h"
#include "router/route_table.h"

namespace wok::router {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Request body bytes queued for the upstream before the client is paused.
constexpr size_t kUpstreamHighWater = 256 * 1024;
constexpr int kMaxStaleRetries = 2;

std::string_view request_host(const http::Request& r) {
  std::string_view t = r.target;
  size_t sep = t.find("://");
  if (!t.empty() && t[0] != '/' && sep != std::string_view::npos) {
    std::string_view rest = t.substr(sep + 3);
    return rest.substr(0, rest.find_first_of("/?"));
  }
  return r.header("Host");
}

}  // namespace

ProxyStats& proxy_stats() {
  static ProxyStats stats;
  return stats;
}

ProxySession::ProxySession(std::shared_ptr<const UpstreamPool> pool, uint64_t max_body_bytes,
                           http::Exchange exchange)
    : pool_(std::move(pool)),
      max_body_bytes_(max_body_bytes),
      ex_(std::move(exchange)),
      loop_(ex_.loop()),
      upstreams_(LoopUpstreams::of(loop_)),
      framing_(request_body_framing(ex_.request())),
      idempotent_(is_idempotent(ex_.request().method)),
      websocket_(is_websocket_upgrade(ex_.request())),
      head_request_(ex_.request().method == "HEAD"),
      tried_(pool_->addresses().size(), false) {}

ProxySession::~ProxySession() {
  ex_.on_abort(nullptr);
  ex_.on_writable(nullptr);
  release(false);
}

void ProxySession::start() {
  const http::Request& r = ex_.request();
  head_ = upstream_request_head(r, {r.remote_addr, r.tls ? "https" : "http", request_host(r)});
  out_.reset(head_);
  parser_.reset(head_request_);
  // These capture `this`, not a weak_ptr (which std::function would
  // allocate for on every request): the destructor takes the exchange's
  // two back, and the deadline dies with the session. Each call holds the
  // session alive while it runs.
  deadline_.on_expire([this] {
    if (auto self = weak_from_this().lock()) self->on_timeout();
  });
  ex_.on_abort([this] {
    if (auto self = weak_from_this().lock()) {
      self->phase_ = Phase::kDone;
      self->release(false);
    }
  });
  ex_.on_writable([this] {
    if (auto self = weak_from_this().lock()) self->resume_upstream();
  });
  try_next();
}

void ProxySession::try_next() {
  index_ = upstreams_.pick(*pool_, tried_);
  if (index_ < 0) {
    reply_error(502, "bad gateway: no upstream could be reached");
    return;
  }
  tried_[index_] = true;
  phase_ = Phase::kConnecting;
  LoopUpstreams::Handle idle = upstreams_.take_idle(address());
  if (idle.fd >= 0) {
    proxy_stats().upstream_reuses.fetch_add(1, std::memory_order_relaxed);
    attach(idle, false);
    return;
  }
  ConnectResult c = connect_upstream(address());
  if (c.fd < 0) {
    fail(Failure::kConnect);
    return;
  }
  proxy_stats().upstream_connects.fetch_add(1, std::memory_order_relaxed);
  attach({c.fd, 0}, c.in_progress);
}

// A new connection is registered here; a pooled one keeps its registration
// and only gets this session's callback.
void ProxySession::attach(LoopUpstreams::Handle connection, bool in_progress) {
  timer_.start();
  fd_ = connection.fd;
  reused_ = connection.token != 0;
  io_events_ = 0;
  auto self = shared_from_this();
  auto callback = [self](uint32_t events) { self->on_io(events); };
  if (reused_) {
    watch_ = loop_.rewatch(connection.token, std::move(callback)) ? connection.token : 0;
  } else {
    watch_ = loop_.watch(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, std::move(callback));
  }
  if (watch_ == 0) {
    if (reused_) loop_.unwatch(connection.token);
    close(fd_);
    fd_ = -1;
    reply_error(502, "bad gateway");
    return;
  }
  upstreams_.begin_request(address());
  pool_->begin_request(static_cast<size_t>(index_));
  if (in_progress) {
    deadline_.arm(pool_->options().connect_timeout_ms);
  } else {
    on_connected();
  }
}

void ProxySession::on_io(uint32_t events) {
  io_events_ |= events;
  if (phase_ == Phase::kConnecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (connect_error(fd_) != 0) {
      fail(Failure::kConnect);
      return;
    }
    on_connected();
    return;
  }
  if (events & EPOLLOUT) send_pending();
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_upstream();
}

void ProxySession::on_connected() {
  phase_ = Phase::kExchanging;
  deadline_.arm(pool_->options().read_timeout_ms);
  // The body is asked for only once an upstream is there to take it, so
  // "100 Continue" goes out when the proxy can actually use the body.
  if (framing_ == BodyFraming::kNone) {
    body_done_ = true;
  } else if (!body_requested_) {
    body_requested_ = true;
    std::weak_ptr<ProxySession> weak = weak_from_this();
    ex_.stream_body([weak](std::string_view piece, bool last) {
      if (auto self = weak.lock()) self->on_body_piece(piece, last);
    });
  }
  send_pending();
}

void ProxySession::on_body_piece(std::string_view piece, bool last) {
  if (phase_ == Phase::kDone) return;
  body_bytes_ += piece.size();
  if (max_body_bytes_ > 0 && body_bytes_ > max_body_bytes_) {
    ex_.report_limit("site_max_body", 413, site_body_limit_detail(max_body_bytes_));
    release(false);
    reply_error(413, "request body too large for this site");
    return;
  }
  if (framing_ == BodyFraming::kChunked) {
    if (!piece.empty()) {
      char size[24];
      int n = snprintf(size, sizeof size, "%zx\r\n", piece.size());
      out_.bytes().append(size, static_cast<size_t>(n)).append(piece).append("\r\n");
    }
    if (last) out_.bytes().append("0\r\n\r\n");
  } else {
    out_.bytes().append(piece);
  }
  if (last) body_done_ = true;
  send_pending();
  if (phase_ != Phase::kDone && out_.pending() > kUpstreamHighWater) ex_.pause_body();
}

void ProxySession::on_client_tunnel(std::string_view piece, bool last) {
  if (phase_ != Phase::kTunnel) return;
  out_.bytes().append(piece);
  if (last) client_eof_ = true;
  send_pending();
  if (phase_ == Phase::kTunnel && out_.pending() > kUpstreamHighWater) ex_.pause_body();
}

void ProxySession::send_pending() {
  if (fd_ < 0 || phase_ == Phase::kConnecting) return;
  SendBuffer::Result result = out_.send_to(fd_);
  if (result == SendBuffer::Result::kError) {
    fail(Failure::kReset);
    return;
  }
  proxy_stats().note_buffered(out_.pending() + ex_.queued_output());
  if (result == SendBuffer::Result::kDone) {
    if (client_eof_) shutdown(fd_, SHUT_WR);
    ex_.resume_body();
  }
}

void ProxySession::read_upstream() {
  char buf[kReadChunk];
  while ((phase_ == Phase::kExchanging || phase_ == Phase::kTunnel) && !upstream_paused_) {
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      deadline_.arm(pool_->options().read_timeout_ms);
      std::string_view data(buf, static_cast<size_t>(n));
      if (phase_ == Phase::kTunnel) {
        if (!ex_.write(data)) upstream_paused_ = true;
      } else {
        on_response_bytes(data);
      }
      proxy_stats().note_buffered(out_.pending() + ex_.queued_output());
    } else if (n == 0) {
      on_upstream_eof();
      return;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      fail(Failure::kReset);
      return;
    }
  }
}

void ProxySession::on_response_bytes(std::string_view data) {
  size_t used = 0;
  http::ResponseParser::Status status = parser_.parse(data, &used);
  if (status == http::ResponseParser::Status::kError) {
    fail(Failure::kBadResponse);
    return;
  }
  if (parser_.head_ready() && !head_sent_) send_head();
  if (phase_ == Phase::kTunnel) {
    if (used < data.size()) ex_.write(data.substr(used));  // the other protocol's first bytes
    return;
  }
  if (phase_ != Phase::kExchanging) return;
  std::string_view body = parser_.body();
  if (!body.empty() && !ex_.write(body)) upstream_paused_ = true;
  parser_.clear_body();
  // Bytes after a complete response mean the upstream cannot be trusted
  // with the next request.
  if (status == http::ResponseParser::Status::kComplete) {
    complete(parser_.head().keep_alive && used == data.size());
  }
}

void ProxySession::send_head() {
  const http::ResponseHead& h = parser_.head();
  head_sent_ = true;
  upstreams_.report_success(address());
  http::Response response;
  response.status = h.status;
  if (h.status == 101) {
    if (!websocket_) {
      fail(Failure::kBadResponse);
      return;
    }
    response.headers = downstream_headers(parser_.take_headers(), true);
    phase_ = Phase::kTunnel;
    std::weak_ptr<ProxySession> weak = weak_from_this();
    ex_.upgrade(response, [weak](std::string_view piece, bool last) {
      if (auto self = weak.lock()) self->on_client_tunnel(piece, last);
    });
    return;
  }
  response.headers = downstream_headers(parser_.take_headers(), false);
  ex_.start_response(response, h.content_length);
}

void ProxySession::on_upstream_eof() {
  if (phase_ == Phase::kTunnel) {
    phase_ = Phase::kDone;
    release(false);
    ex_.finish();
    return;
  }
  if (parser_.started() && parser_.finish() == http::ResponseParser::Status::kComplete) {
    if (!head_sent_) send_head();
    if (!parser_.body().empty()) ex_.write(parser_.body());
    parser_.clear_body();
    complete(false);
    return;
  }
  fail(Failure::kReset);
}

// Released before the exchange finishes: its observers see the upstream
// time, and a pipelined request that follows finds the connection idle.
void ProxySession::complete(bool reusable) {
  phase_ = Phase::kDone;
  // An upstream that closed right behind its answer was seen closing in an
  // event this session already took: edge-triggered, the pool would never
  // hear of it again, and the next request would find the connection dead.
  const bool seen_closing = io_events_ & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  release(reusable && !seen_closing && body_done_ && out_.empty());
  ex_.finish();
}

// Retries only what cannot have had an effect upstream: an idempotent
// request to which nothing was sent, or one whose kept-alive connection
// turned out to be closed before any answer (a race every pool has).
void ProxySession::fail(Failure failure) {
  const bool answered = parser_.started();
  const bool stale = reused_ && !answered && framing_ == BodyFraming::kNone &&
                     (failure == Failure::kReset) && stale_retries_ < kMaxStaleRetries;
  if (!stale) upstreams_.report_failure(address(), pool_->options());
  release(false);
  if (head_sent_) {  // the client already has part of an answer: only breaking off is left
    phase_ = Phase::kDone;
    ex_.abort();
    return;
  }
  const bool before_sending = failure == Failure::kConnect || failure == Failure::kConnectTimeout ||
                              (failure == Failure::kReset && !out_.sent_any());
  if (ex_.active() && idempotent_ && (before_sending || stale)) {
    proxy_stats().retries.fetch_add(1, std::memory_order_relaxed);
    if (stale) {
      ++stale_retries_;
      tried_[index_] = false;
    }
    out_.reset(head_);
    parser_.reset(head_request_);
    try_next();
    return;
  }
  if (failure == Failure::kReadTimeout) {
    reply_error(504, "gateway timeout: the upstream did not answer in time");
  } else {
    reply_error(502, "bad gateway: the upstream failed");
  }
}

void ProxySession::reply_error(int status, std::string_view text) {
  phase_ = Phase::kDone;
  if (!ex_.active()) return;
  http::Response response;
  response.status = status;
  response.body = std::string(text) + "\n";
  response.set_header("Content-Type", "text/plain; charset=utf-8");
  ex_.respond(std::move(response));
}

void ProxySession::release(bool reusable) {
  deadline_.cancel();
  timer_.stop(ex_);
  if (fd_ < 0) return;
  upstreams_.end_request(address());
  pool_->end_request(static_cast<size_t>(index_));
  if (reusable) {
    upstreams_.put_idle(address(), {fd_, watch_}, pool_->options());
  } else {
    loop_.unwatch(watch_);
    close(fd_);
  }
  watch_ = 0;
  fd_ = -1;
}

void ProxySession::on_timeout() {
  switch (phase_) {
    case Phase::kConnecting:
      fail(Failure::kConnectTimeout);
      break;
    case Phase::kExchanging:
      // A client that reads slowly is not the upstream's fault.
      if (upstream_paused_) {
        deadline_.arm(pool_->options().read_timeout_ms);
        return;
      }
      fail(Failure::kReadTimeout);
      break;
    case Phase::kTunnel:  // an idle tunnel
      phase_ = Phase::kDone;
      release(false);
      ex_.finish();
      break;
    case Phase::kDone:
      break;
  }
}

void ProxySession::resume_upstream() {
  if (!upstream_paused_) return;
  upstream_paused_ = false;
  read_upstream();
}

}  // namespace wok::router
