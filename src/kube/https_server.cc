#include "kube/https_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <list>

#include "http/http_date.h"
#include "http/request_parser.h"
#include "http/response_head.h"

namespace wok::kube {
namespace {

using Clock = std::chrono::steady_clock;

// A zero timeval means "no timeout": never pass one.
void set_timeout(int fd, int option, Clock::duration left) {
  auto us =
      std::max<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(left).count(), 1000);
  timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

std::string address_of(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, text, sizeof text);
  }
  return text;
}

bool write_all(SSL* ssl, const std::string& bytes) {
  return bytes.empty() || SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) ==
                              static_cast<int>(bytes.size());
}

bool write_response(SSL* ssl, const http::Response& response, bool keep_alive) {
  http::HeadContext context;
  context.keep_alive = keep_alive;
  std::string date = http::format_http_date(time(nullptr));
  context.date = date;
  bool send_body = false;
  std::string out = http::serialize_response_head(response, context, &send_body);
  if (send_body) out += response.body;
  return write_all(ssl, out);
}

// After an error answer the client may still be sending (a body over the
// limit): closing with unread bytes would reset the connection and lose the
// answer, so read and drop a bounded amount first (nginx's lingering close).
void linger_close(SSL* ssl, int fd) {
  SSL_shutdown(ssl);
  ERR_clear_error();
  shutdown(fd, SHUT_WR);
  set_timeout(fd, SO_RCVTIMEO, std::chrono::seconds(1));
  char sink[16 * 1024];
  for (size_t dropped = 0; dropped < (4u << 20);) {
    ssize_t n = recv(fd, sink, sizeof sink, 0);
    if (n <= 0) break;
    dropped += static_cast<size_t>(n);
  }
}

struct Connection {
  std::thread thread;
  std::atomic<bool> done{false};
};

}  // namespace

HttpsServer::HttpsServer(HttpsOptions options, http::Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      certificate_(options_.cert_file, options_.key_file) {}

HttpsServer::~HttpsServer() { stop(); }

bool HttpsServer::start(std::string* error) {
  if (!certificate_.load(error)) return false;
  std::string host = options_.host;
  if (host.size() > 1 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                           std::to_string(options_.port).c_str(), &hints, &found);
      rc != 0) {
    *error = "address " + options_.host + ": " + gai_strerror(rc);
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, 64) != 0) {
    *error = "listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
             std::strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  listen_fd_ = fd;
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  // A client gone mid-answer must cost its connection, not the process.
  signal(SIGPIPE, SIG_IGN);
  acceptor_ = std::thread([this] { accept_loop(); });
  return true;
}

void HttpsServer::stop() {
  if (listen_fd_ < 0 || stopping_.exchange(true)) return;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) spdlog::warn("webhook: cannot wake the accept loop");
  acceptor_.join();  // it joins the connections' threads before it returns
  close(listen_fd_);
  close(wake_fd_);
}

void HttpsServer::accept_loop() {
  std::list<Connection> connections;
  auto reap = [&connections](bool all) {
    for (auto it = connections.begin(); it != connections.end();) {
      if (all || it->done) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  };
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    // Finished connections are joined at least every second.
    if (poll(fds, 2, 1000) < 0 && errno != EINTR) break;
    reap(false);
    if (!(fds[0].revents & POLLIN)) continue;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard lock(mu_);
      if (static_cast<int>(open_.size()) >= options_.max_connections) {
        close(fd);  // the API server retries on another connection
        continue;
      }
      open_.insert(fd);
    }
    Connection& c = connections.emplace_back();
    c.thread = std::thread([this, fd, remote = address_of(addr), &c] {
      serve(fd, remote);
      {
        std::lock_guard lock(mu_);
        open_.erase(fd);
        close(fd);
      }
      c.done = true;
    });
  }
  {
    // Blocked reads and writes end now.
    std::lock_guard lock(mu_);
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
  }
  reap(true);
}

void HttpsServer::serve(int fd, std::string remote) {
  auto deadline = Clock::now() + options_.request_timeout;
  // An answer is one write: sent now, not after the client's delayed ACK.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_timeout(fd, SO_SNDTIMEO, options_.request_timeout);
  set_timeout(fd, SO_RCVTIMEO, options_.request_timeout);
  // Plain HTTP sent to this port is told so (as Go's servers do) instead of
  // failing a handshake in silence. A TLS record starts with 0x16.
  unsigned char first = 0;
  if (recv(fd, &first, 1, MSG_PEEK) != 1) return;
  if (first != 0x16) {
    if (std::isalpha(first)) {
      const std::string body = "this is an HTTPS endpoint: the client sent plain HTTP\n";
      const std::string plain =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      send(fd, plain.data(), plain.size(), MSG_NOSIGNAL);
    }
    return;
  }
  SslContext context = certificate_.current();
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context.get()), SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || SSL_accept(ssl.get()) != 1) {
    spdlog::debug("webhook: TLS handshake with {} failed", remote);
    ERR_clear_error();
    return;
  }
  http::ParserLimits limits;
  limits.max_body_bytes = options_.max_body_bytes;
  http::RequestParser parser(limits);
  std::string input;
  bool in_request = true;  // the first request's clock started at accept
  char buf[16 * 1024];
  while (!stopping_) {
    if (!input.empty() || parser.pending()) {
      size_t consumed = 0;
      auto status = parser.parse(input, &consumed);
      input.erase(0, consumed);
      if (status == http::RequestParser::Status::kError) {
        write_response(ssl.get(), http::make_error_response(parser.error_status()), false);
        return linger_close(ssl.get(), fd);
      }
      if (status == http::RequestParser::Status::kRequest) {
        http::Request request = parser.take_request();
        request.remote_addr = remote;
        http::Response response;
        try {
          handler_(request, response);
        } catch (const std::exception& e) {
          spdlog::error("webhook {} {}: {}", request.method, request.path, e.what());
          response = http::make_error_response(500);
        }
        bool keep = request.keep_alive && !stopping_;
        if (!write_response(ssl.get(), response, keep) || !keep) break;
        in_request = !input.empty();  // pipelined bytes start the next one now
        deadline = Clock::now() + (in_request ? options_.request_timeout : options_.idle_timeout);
        continue;
      }
    }
    auto left = deadline - Clock::now();
    bool begun = parser.phase() != http::RequestParser::Phase::kIdle || !input.empty();
    if (left <= Clock::duration::zero()) {
      if (begun) write_response(ssl.get(), http::make_error_response(408), false);
      break;
    }
    set_timeout(fd, SO_RCVTIMEO, left);
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n <= 0) {
      ERR_clear_error();
      if (begun && Clock::now() >= deadline)
        write_response(ssl.get(), http::make_error_response(408), false);
      break;
    }
    if (!in_request) {
      in_request = true;
      deadline = Clock::now() + options_.request_timeout;
    }
    input.append(buf, static_cast<size_t>(n));
  }
  SSL_shutdown(ssl.get());  // best effort: close_notify, no wait for the peer's
  ERR_clear_error();
}

}  // namespace wok::kube
