#include "router/fastcgi/fastcgi_session.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "http/request_target.h"
#include "router/fastcgi/fastcgi_params.h"
#include "router/proxy/proxy_headers.h"
#include "router/proxy/upstream_socket.h"

namespace wok::router {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Request body bytes queued for php-fpm before the client is paused.
constexpr size_t kUpstreamHighWater = 256 * 1024;
// A stderr line longer than this is logged in pieces.
constexpr size_t kMaxLogLine = 4096;

// spec.php.timeout: how long php-fpm may stay silent (nginx's
// fastcgi_read_timeout, per site).
int64_t read_timeout_ms(const FastCgiTarget& target) {
  return target.read_timeout_ms > 0 ? target.read_timeout_ms : 60'000;
}

// "2s", "90s": the site's limit as spec.php.timeout says it.
std::string limit_text(int64_t ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

// Where php-fpm is, as the proxy's upstreams are addressed: its unix socket
// (a pod), or 127.0.0.1:port inside a sandbox's network namespace (wok up).
UpstreamAddress php_fpm_address(const FastCgiTarget& target) {
  UpstreamAddress a;
  if (!target.netns.empty()) {
    a.host = "127.0.0.1";
    a.port = target.port;
    a.netns = target.netns;
  } else {
    const std::string& spec = target.socket_path;
    a.unix_path = spec.starts_with("unix:") ? spec.substr(5) : spec;
  }
  return a;
}

}  // namespace

FastCgiSession::FastCgiSession(const Route& route, PhpScript script, http::Exchange exchange)
    : target_(route.fastcgi),
      site_(route.project + "/" + route.site),
      max_body_bytes_(route.max_body_bytes),
      script_(std::move(script)),
      ex_(std::move(exchange)),
      loop_(ex_.loop()) {}

FastCgiSession::~FastCgiSession() { release(); }

void FastCgiSession::start() {
  std::weak_ptr<FastCgiSession> weak = weak_from_this();
  deadline_.on_expire([weak] {
    if (auto self = weak.lock()) self->on_timeout();
  });
  ex_.on_abort([weak] {
    if (auto self = weak.lock()) {
      self->phase_ = Phase::kDone;
      self->release();
      self->keep_alive_.reset();
    }
  });
  ex_.on_writable([weak] {
    if (auto self = weak.lock()) self->resume_upstream();
  });
  const http::Request& request = ex_.request();
  switch (request_body_framing(request)) {
    case BodyFraming::kNone:
      connect_and_send(0, false);
      return;
    case BodyFraming::kLength:
      connect_and_send(http::declared_body_length(request), false);
      return;
    case BodyFraming::kChunked:
      // PHP needs CONTENT_LENGTH before the body: collect it first (nginx
      // buffers such bodies too). No php-fpm worker is held meanwhile.
      phase_ = Phase::kCollecting;
      keep_alive_ = shared_from_this();
      ex_.stream_body([weak](std::string_view piece, bool last) {
        if (auto self = weak.lock()) self->on_collected_piece(piece, last);
      });
      return;
  }
}

void FastCgiSession::on_collected_piece(std::string_view piece, bool last) {
  if (phase_ != Phase::kCollecting) return;
  collected_.append(piece);
  if (max_body_bytes_ > 0 && collected_.size() > max_body_bytes_) {
    ex_.report_limit("site_max_body", 413, site_body_limit_detail(max_body_bytes_));
    auto hold = std::move(keep_alive_);
    fail(413, "request body too large for this site");
    return;
  }
  if (!last) return;
  auto hold = std::move(keep_alive_);  // the socket's watch holds the session from here on
  phase_ = Phase::kExchanging;
  connect_and_send(collected_.size(), true);
}

void FastCgiSession::connect_and_send(uint64_t content_length, bool body_in_hand) {
  timer_.start();
  // The proxy's connect: a socket made in the sandbox's namespace when there
  // is one; a unix connect fails at once or succeeds (EAGAIN: backlog full).
  ConnectResult connected = connect_upstream(php_fpm_address(*target_));
  fd_ = connected.fd;
  if (fd_ < 0) {
    spdlog::warn("site {}: cannot connect to php-fpm at {}: {}", site_,
                 target_->netns.empty()
                     ? target_->socket_path
                     : target_->netns + " 127.0.0.1:" + std::to_string(target_->port),
                 strerror(connected.error));
    fail(502, "bad gateway: php-fpm cannot be reached");
    return;
  }
  auto self = shared_from_this();
  watch_ = loop_.watch(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, [self](uint32_t events) {
    if (events & EPOLLOUT) self->send_pending();
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) self->read_upstream();
  });
  if (watch_ == 0) {
    fail(502, "bad gateway");
    return;
  }
  append_fcgi_begin_request(&out_.bytes(), false);
  append_fcgi_records(&out_.bytes(), FcgiType::kParams,
                      encode_fastcgi_params(ex_.request(), *target_, script_, content_length));
  append_fcgi_records(&out_.bytes(), FcgiType::kParams, {});
  if (body_in_hand || content_length == 0) {
    if (!collected_.empty()) append_fcgi_records(&out_.bytes(), FcgiType::kStdin, collected_);
    collected_ = std::string();
    append_fcgi_records(&out_.bytes(), FcgiType::kStdin, {});
    stdin_done_ = true;
  } else {
    std::weak_ptr<FastCgiSession> weak = weak_from_this();
    ex_.stream_body([weak](std::string_view piece, bool last) {
      if (auto self = weak.lock()) self->on_body_piece(piece, last);
    });
  }
  deadline_.arm(read_timeout_ms(*target_));
  send_pending();
}

void FastCgiSession::on_body_piece(std::string_view piece, bool last) {
  if (phase_ == Phase::kDone || stdin_done_) return;
  if (!piece.empty()) append_fcgi_records(&out_.bytes(), FcgiType::kStdin, piece);
  if (last) {
    append_fcgi_records(&out_.bytes(), FcgiType::kStdin, {});
    stdin_done_ = true;
  }
  send_pending();
  if (phase_ != Phase::kDone && out_.pending() > kUpstreamHighWater) ex_.pause_body();
}

void FastCgiSession::send_pending() {
  if (fd_ < 0) return;
  switch (out_.send_to(fd_)) {
    case SendBuffer::Result::kDone:
      ex_.resume_body();
      break;
    case SendBuffer::Result::kBlocked:
      break;
    case SendBuffer::Result::kError:
      // php-fpm may answer and close before taking all of the body; what
      // it said is read from the socket, so only a silent reset fails here.
      out_.clear();
      read_upstream();
      break;
  }
}

void FastCgiSession::read_upstream() {
  char buf[kReadChunk];
  while (phase_ == Phase::kExchanging && !upstream_paused_ && fd_ >= 0) {
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      deadline_.arm(read_timeout_ms(*target_));
      reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
      FcgiRecord record;
      FcgiRecordReader::Status status = FcgiRecordReader::Status::kNeedMore;
      while (phase_ == Phase::kExchanging &&
             (status = reader_.next(&record)) == FcgiRecordReader::Status::kRecord) {
        if (!on_record(record)) return;
      }
      if (phase_ == Phase::kExchanging && status == FcgiRecordReader::Status::kError) {
        fail(502, "bad gateway: php-fpm sent a malformed record");
        return;
      }
    } else if (n == 0) {
      fail(502, "bad gateway: php-fpm closed the connection before the end of the response");
      return;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      fail(502, "bad gateway: php-fpm reset the connection");
      return;
    }
  }
}

// False once the exchange is over (completed or failed).
bool FastCgiSession::on_record(const FcgiRecord& record) {
  if (record.request_id != kFcgiRequestId) {
    fail(502, "bad gateway: php-fpm answered another request");
    return false;
  }
  switch (record.type) {
    case FcgiType::kStdout:
      return on_stdout(record.content);
    case FcgiType::kStderr:
      on_stderr(record.content, false);
      return true;
    case FcgiType::kEndRequest:
      on_end_request();
      return false;
    default:
      fail(502, "bad gateway: php-fpm sent an unexpected record");
      return false;
  }
}

bool FastCgiSession::on_stdout(std::string_view data) {
  if (head_sent_) {
    write_body(data);
    return true;
  }
  switch (cgi_.feed(data)) {
    case CgiResponseParser::Status::kNeedMore:
      return true;
    case CgiResponseParser::Status::kError:
      spdlog::warn("site {}: php-fpm sent a malformed response head for {}", site_,
                   script_.script_name);
      fail(502, "bad gateway: the script's response head is malformed");
      return false;
    case CgiResponseParser::Status::kHead:
      break;
  }
  head_sent_ = true;
  body_left_ = cgi_.content_length();
  ex_.start_response(cgi_.head(), body_left_);
  write_body(cgi_.take_rest());
  return true;
}

void FastCgiSession::on_stderr(std::string_view data, bool flush) {
  stderr_line_.append(data);
  size_t eol;
  while ((eol = stderr_line_.find('\n')) != std::string::npos ||
         stderr_line_.size() > kMaxLogLine) {
    size_t cut = eol == std::string::npos ? kMaxLogLine : eol;
    std::string_view line(stderr_line_.data(), cut);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) spdlog::warn("site {}: php: {}", site_, line);
    stderr_line_.erase(0, eol == std::string::npos ? cut : cut + 1);
  }
  if (flush && !stderr_line_.empty()) {
    spdlog::warn("site {}: php: {}", site_, stderr_line_);
    stderr_line_.clear();
  }
}

void FastCgiSession::on_end_request() {
  on_stderr({}, true);
  if (!head_sent_) {
    fail(502, "bad gateway: the script ended without a response");
    return;
  }
  phase_ = Phase::kDone;
  release();
  if (body_left_ >
      0) {  // fewer bytes than its Content-Length: the client must not take it as whole
    ex_.abort();
    return;
  }
  ex_.finish();
}

void FastCgiSession::write_body(std::string_view data) {
  if (body_left_ >=
      0) {  // never more than the script declared: the rest would be a second response
    data = data.substr(0, static_cast<size_t>(body_left_));
    body_left_ -= static_cast<int64_t>(data.size());
  }
  if (!data.empty() && !ex_.write(data)) upstream_paused_ = true;
}

void FastCgiSession::fail(int status, std::string_view text) {
  phase_ = Phase::kDone;
  release();
  if (!ex_.active()) return;
  if (head_sent_) {  // the client already has part of an answer: only breaking off is left
    ex_.abort();
    return;
  }
  http::Response response;
  response.status = status;
  response.body = std::string(text) + "\n";
  response.set_header("Content-Type", "text/plain; charset=utf-8");
  ex_.respond(std::move(response));
}

void FastCgiSession::release() {
  deadline_.cancel();
  timer_.stop(ex_);
  if (fd_ < 0) return;
  loop_.unwatch(watch_);
  watch_ = 0;
  close(fd_);
  fd_ = -1;
}

void FastCgiSession::on_timeout() {
  if (phase_ != Phase::kExchanging) return;
  if (upstream_paused_) {  // a client that reads slowly is not php-fpm's fault
    deadline_.arm(read_timeout_ms(*target_));
    return;
  }
  std::string limit = limit_text(read_timeout_ms(*target_));
  // A script that ran too long, or one that waited for a free php-fpm
  // worker that long: either way the client is not kept waiting longer.
  spdlog::warn(
      "site {}: 504: {} {}: php-fpm did not answer within the site's time limit of {} "
      "(spec.php.timeout)",
      site_, ex_.request().method, script_.script_name, limit);
  fail(504, "gateway timeout: the PHP script did not answer within this site's time limit of " +
                limit + " (spec.php.timeout)");
}

void FastCgiSession::resume_upstream() {
  if (!upstream_paused_) return;
  upstream_paused_ = false;
  read_upstream();
}

}  // namespace wok::router
