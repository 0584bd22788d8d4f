// The reverse proxy end to end: real upstream servers (http::Server on
// 127.0.0.1 port 0 and on a unix socket), the router in front, raw clients.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/h2_client.h"
#include "http/server.h"
#include "router/loopback_client.h"
#include "router/proxy/proxy_stats.h"
#include "router/router.h"

namespace wok::router {
namespace {

using test_support::connect_tcp;
using test_support::read_head;
using test_support::read_response;
using test_support::send_all;

std::string request_once(uint16_t port, const std::string& request, std::string* body = nullptr) {
  int fd = connect_tcp(port);
  send_all(fd, request);
  std::string buffer;
  std::string response = read_response(fd, &buffer, body);
  close(fd);
  return response;
}

// An upstream that says who it is and echoes what it got.
std::unique_ptr<http::Server> start_upstream(std::string name, http::ServerOptions options = {}) {
  options.threads = 1;
  auto server =
      std::make_unique<http::Server>(options, [name](const http::Request& q, http::Response& r) {
        std::string echoed = "upstream=" + name + "\n" + q.method + " " + q.target + "\n";
        for (const auto& h : q.headers) echoed += h.name + ": " + h.value + "\n";
        if (q.path == "/big") {
          r.body = std::string(10 << 20, 'b');
          return;
        }
        if (q.path == "/upload") {
          r.body = "got " + std::to_string(q.body.size()) + "\n";
          return;
        }
        r.body = echoed;
        r.set_header("Connection", q.path == "/close" ? "close" : "keep-alive");
        r.set_header("Keep-Alive", "timeout=5");
        r.set_header("X-Upstream", name);
      });
  std::string error;
  EXPECT_TRUE(server->start(&error)) << error;
  return server;
}

UpstreamAddress tcp(uint16_t port) {
  return *UpstreamAddress::parse("127.0.0.1:" + std::to_string(port));
}

// A port nobody listens on: bound, never listened, then closed.
uint16_t dead_port() {
  uint16_t port = 0;
  close(test_support::listen_loopback(&port, false));
  return port;
}

// A hand-made upstream's side: accepts one connection on lfd and reads a
// request head from it; returns the connection.
int accept_request(int lfd) {
  int fd = accept(lfd, nullptr, nullptr);
  std::string got;
  char buf[4096];
  for (ssize_t n;
       got.find("\r\n\r\n") == std::string::npos && (n = recv(fd, buf, sizeof buf, 0)) > 0;) {
    got.append(buf, static_cast<size_t>(n));
  }
  return fd;
}

// A raw upstream on `lfd` for one connection: reads its request head into
// *seen, answers `answer` (a 101), then echoes bytes until the client's
// side ends (closing after it).
std::thread echo_upstream(int lfd, std::string* seen, std::string answer) {
  return std::thread([lfd, seen, answer] {
    int c = accept(lfd, nullptr, nullptr);
    *seen = read_head(c);
    send_all(c, answer);
    char buf[4096];
    while (true) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      send_all(c, std::string_view(buf, static_cast<size_t>(n)));
    }
    close(c);
  });
}

class ProxyTest : public ::testing::Test {
 protected:
  void route(std::vector<UpstreamAddress> upstreams,
             BalancePolicy policy = BalancePolicy::kRoundRobin, UpstreamOptions options = {},
             uint64_t max_body = 0) {
    auto table = std::make_shared<RouteTable>();
    auto r = std::make_shared<Route>();
    r->project = "p";
    r->site = "app";
    r->upstream = std::make_shared<UpstreamPool>(std::move(upstreams), policy, options);
    r->max_body_bytes = max_body;
    table->add("app.localhost", r);
    router_.set_table(table);
  }
  void start_front(int threads = 1, bool h2c = false) {
    http::ServerOptions options;
    options.threads = threads;
    options.h2c = h2c;
    options.max_body_bytes = 64 << 20;
    options.on_limit = [this](const http::LimitEvent& e) {
      std::lock_guard lock(limits_mutex_);
      limits_.push_back(std::string(e.limit) + " " + std::to_string(e.status) + " " +
                        std::string(e.detail));
    };
    front_ = std::make_unique<http::Server>(
        options, [this](http::Exchange ex) { router_.serve(std::move(ex)); });
    std::string error;
    ASSERT_TRUE(front_->start(&error)) << error;
  }
  uint16_t port() const { return front_->port(); }

  std::vector<std::string> limits() {
    std::lock_guard lock(limits_mutex_);
    return limits_;
  }

  Router router_;
  std::unique_ptr<http::Server> front_;
  std::mutex limits_mutex_;
  std::vector<std::string> limits_;  // what the front's on_limit heard
};

const char kGet[] = "GET /hello?x=1 HTTP/1.1\r\nHost: app.localhost\r\n\r\n";

TEST_F(ProxyTest, ForwardsAndReusesUpstreamConnections) {
  auto up = start_upstream("a");
  route({tcp(up->port())});
  start_front();
  uint64_t connects = proxy_stats().upstream_connects.load();
  int fd = connect_tcp(port());
  std::string buffer;
  for (int i = 0; i < 5; ++i) {
    send_all(fd, kGet);
    std::string r = read_response(fd, &buffer);
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
    EXPECT_NE(r.find("GET /hello?x=1"), std::string::npos);
    EXPECT_NE(r.find("X-Upstream: a"), std::string::npos);
    EXPECT_EQ(r.find("Keep-Alive:"), std::string::npos) << "hop-by-hop header leaked: " << r;
  }
  close(fd);
  EXPECT_EQ(proxy_stats().upstream_connects.load() - connects, 1u);
}

// Many clients at once on one loop: every upstream connection opened for
// them is kept when they go idle, so later rounds open none (a pool smaller
// than the concurrency reconnected on most requests).
TEST_F(ProxyTest, AsManyIdleConnectionsAsClientsAreKept) {
  auto up = start_upstream("a");
  route({tcp(up->port())});
  start_front();
  constexpr int kClients = 100;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) fds.push_back(connect_tcp(port()));
  std::vector<std::string> buffers(kClients);
  uint64_t connects = proxy_stats().upstream_connects.load();
  for (int round = 0; round < 3; ++round) {
    for (int fd : fds) send_all(fd, kGet);
    for (int i = 0; i < kClients; ++i) {
      std::string r = read_response(fds[i], &buffers[i]);
      ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
    }
  }
  for (int fd : fds) close(fd);
  EXPECT_LE(proxy_stats().upstream_connects.load() - connects, static_cast<uint64_t>(kClients));
}

// A pooled connection the upstream closes while idle is dropped when it
// closes, not discovered stale by the next request (which would cost a retry).
TEST_F(ProxyTest, IdleConnectionClosedByTheUpstreamLeavesThePool) {
  http::ServerOptions upstream_options;
  upstream_options.idle_timeout_ms = 100;
  auto up = start_upstream("a", upstream_options);
  route({tcp(up->port())});
  start_front();
  uint64_t connects = proxy_stats().upstream_connects.load();
  uint64_t retries = proxy_stats().retries.load();
  int fd = connect_tcp(port());
  std::string buffer;
  for (int i = 0; i < 3; ++i) {
    send_all(fd, kGet);
    std::string r = read_response(fd, &buffer);
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  close(fd);
  EXPECT_EQ(proxy_stats().upstream_connects.load() - connects, 3u);
  EXPECT_EQ(proxy_stats().retries.load() - retries, 0u);
}

// An upstream that closes right behind a keep-alive answer: its connection
// must not be pooled, or a POST (never retried) would meet it dead: 502.
TEST_F(ProxyTest, ConnectionClosedRightAfterTheAnswerIsNotReused) {
  uint16_t upstream_port = 0;
  int lfd = test_support::listen_loopback(&upstream_port);
  std::thread server([lfd] {
    for (int i = 0; i < 2; ++i) {
      int fd = accept(lfd, nullptr, nullptr);
      if (fd < 0) return;  // the test is over (shutdown below)
      read_head(fd);
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      close(fd);  // no "Connection: close": a keep-alive answer, then gone
    }
  });
  route({tcp(upstream_port)});
  start_front();
  int fd = connect_tcp(port());
  std::string buffer;
  send_all(fd, kGet);
  EXPECT_NE(read_response(fd, &buffer).find("HTTP/1.1 200"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the close is long done
  send_all(fd, "POST /form HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 0\r\n\r\n");
  std::string r = read_response(fd, &buffer);
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  close(fd);
  shutdown(lfd, SHUT_RDWR);  // a server still waiting for its second connection stops
  server.join();
  close(lfd);
}

TEST_F(ProxyTest, UnixSocketUpstream) {
  std::string dir =
      std::filesystem::temp_directory_path() / ("wok-proxy-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = dir + "/up.sock";
  // A unix-socket upstream: a raw one-shot server in a thread.
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  listen(lfd, 8);
  std::thread server([lfd] {
    int c = accept(lfd, nullptr, nullptr);
    read_head(c);
    send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nvia unix!");
    close(c);
  });
  route({*UpstreamAddress::parse("unix:" + path)});
  start_front();
  std::string r = request_once(port(), kGet);
  server.join();
  close(lfd);
  std::filesystem::remove_all(dir);
  EXPECT_NE(r.find("via unix!"), std::string::npos) << r;
}

TEST_F(ProxyTest, RoundRobinSpreadsRequests) {
  auto a = start_upstream("a");
  auto b = start_upstream("b");
  route({tcp(a->port()), tcp(b->port())});
  start_front();
  int seen_a = 0, seen_b = 0;
  for (int i = 0; i < 10; ++i) {
    std::string r = request_once(port(), kGet);
    seen_a += r.find("X-Upstream: a") != std::string::npos;
    seen_b += r.find("X-Upstream: b") != std::string::npos;
  }
  EXPECT_EQ(seen_a, 5);
  EXPECT_EQ(seen_b, 5);
}

TEST_F(ProxyTest, RefusedUpstreamIs502AndClientConnectionSurvives) {
  route({tcp(dead_port())});
  start_front();
  int fd = connect_tcp(port());
  std::string buffer;
  send_all(fd, kGet);
  EXPECT_NE(read_response(fd, &buffer).find("HTTP/1.1 502"), std::string::npos);
  send_all(fd, kGet);  // same connection
  EXPECT_NE(read_response(fd, &buffer).find("HTTP/1.1 502"), std::string::npos);
  close(fd);
}

TEST_F(ProxyTest, GetIsRetriedOnAnotherUpstreamButPostIsNot) {
  auto good = start_upstream("good");
  // Nothing in flight, least-connections goes round, starting from the
  // first upstream at a pool's first pick: the GET meets the dead one, then
  // (retried, the next pick) the good one; the POST, at the third pick,
  // meets the dead one again.
  UpstreamOptions options;
  options.max_fails = 1000;  // keep the dead one in the rotation
  route({tcp(dead_port()), tcp(good->port())}, BalancePolicy::kLeastConnections, options);
  start_front();
  EXPECT_NE(request_once(port(), kGet).find("X-Upstream: good"), std::string::npos);
  std::string post = request_once(
      port(), "POST /x HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_NE(post.find("HTTP/1.1 502"), std::string::npos) << post;
}

TEST_F(ProxyTest, FailingUpstreamIsEjectedThenRetried) {
  auto good = start_upstream("good");
  uint16_t dead = dead_port();
  UpstreamOptions options;
  options.max_fails = 1;
  options.fail_timeout_ms = 300;
  route({tcp(dead), tcp(good->port())}, BalancePolicy::kLeastConnections, options);
  start_front();
  uint64_t retries = proxy_stats().retries.load();
  request_once(port(), kGet);  // fails on dead once: ejected
  EXPECT_EQ(proxy_stats().retries.load() - retries, 1u);
  for (int i = 0; i < 3; ++i) request_once(port(), kGet);
  EXPECT_EQ(proxy_stats().retries.load() - retries, 1u) << "an ejected upstream was tried";
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // cool-down over
  // Ties go round: within two requests, one starts from the dead upstream.
  request_once(port(), kGet);
  request_once(port(), kGet);
  EXPECT_EQ(proxy_stats().retries.load() - retries, 2u) << "the upstream was not tried again";
}

// Least-connections sees the requests in flight of every loop: while one
// upstream holds a request that came in on one loop, a client on the other
// loop is sent to the other upstream, every time.
TEST_F(ProxyTest, LeastConnectionsCountsTheRequestsOfEveryLoop) {
  std::atomic<bool> held{false};
  auto holding_upstream = [&held](std::string name) {
    http::ServerOptions options;
    options.threads = 1;
    auto server = std::make_unique<http::Server>(
        options, [name, &held](const http::Request& q, http::Response& r) {
          if (q.path == "/hold") {  // blocks this upstream's only loop for up to 3 s
            held = true;
            for (int i = 0; i < 300 && held; ++i)
              std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
          r.body = name;
        });
    std::string error;
    EXPECT_TRUE(server->start(&error)) << error;
    return server;
  };
  auto a = holding_upstream("a");
  auto b = holding_upstream("b");
  route({tcp(a->port()), tcp(b->port())}, BalancePolicy::kLeastConnections);
  start_front(2);
  int holder = connect_tcp(port());  // lands on one loop, which then has a connection more
  send_all(holder, "GET /hold HTTP/1.1\r\nHost: app.localhost\r\n\r\n");
  for (int i = 0; i < 500 && !held; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(held);
  int other = connect_tcp(port());  // goes to the other loop (the fewest connections)
  std::string buffer, body, answers;
  for (int i = 0; i < 4; ++i) {
    send_all(other, kGet);
    read_response(other, &buffer, &body);
    answers += body;
  }
  held = false;
  std::string held_buffer, held_body;
  read_response(holder, &held_buffer, &held_body);
  close(other);
  close(holder);
  ASSERT_TRUE(held_body == "a" || held_body == "b") << held_body;
  const std::string free = held_body == "a" ? "b" : "a";
  EXPECT_EQ(answers, free + free + free + free);
}

TEST_F(ProxyTest, SilentUpstreamIs504) {
  uint16_t upstream_port = 0;
  int lfd =
      test_support::listen_loopback(&upstream_port);  // accepts (kernel backlog) but never answers
  UpstreamOptions options;
  options.read_timeout_ms = 200;
  route({tcp(upstream_port)}, BalancePolicy::kRoundRobin, options);
  start_front();
  EXPECT_NE(request_once(port(), kGet).find("HTTP/1.1 504"), std::string::npos);
  close(lfd);
}

// The read timeout is silence, not total time: an upstream that trickles
// its answer for longer than the timeout, never pausing that long, is fine.
TEST_F(ProxyTest, SlowButSteadyUpstreamIsNotATimeout) {
  uint16_t upstream_port = 0;
  int lfd = test_support::listen_loopback(&upstream_port);
  std::thread server([lfd] {
    int fd = accept_request(lfd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    for (int i = 0; i < 10; ++i) {  // 10 x 80 ms: four times the timeout in all
      std::this_thread::sleep_for(std::chrono::milliseconds(80));
      send_all(fd, "x");
    }
    close(fd);
  });
  UpstreamOptions options;
  options.read_timeout_ms = 200;
  route({tcp(upstream_port)}, BalancePolicy::kRoundRobin, options);
  start_front();
  std::string body;
  std::string r = request_once(port(), kGet, &body);
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_EQ(body, "xxxxxxxxxx");
  server.join();
  close(lfd);
}

// An upstream whose accept queue is full drops the SYN: the connect hangs
// and the connect timeout answers 502. (A connect that went through would
// wait for the 60 s read timeout instead; a refused one cannot happen on a
// listening port.)
TEST_F(ProxyTest, ConnectTimeoutIs502) {
  uint16_t upstream_port = 0;
  int lfd = test_support::listen_loopback(&upstream_port, false);
  ASSERT_EQ(listen(lfd, 0), 0);
  std::vector<int> fillers;  // never accepted
  for (int i = 0; i < 3; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(upstream_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  UpstreamOptions options;
  options.connect_timeout_ms = 200;
  options.read_timeout_ms = 60000;
  route({tcp(upstream_port)}, BalancePolicy::kRoundRobin, options);
  start_front();
  std::string r = request_once(
      port(), "POST /x HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_NE(r.find("HTTP/1.1 502"), std::string::npos) << r;
  for (int fd : fillers) close(fd);
  close(lfd);
}

// A GET that reached the upstream is not sent again elsewhere when that
// upstream resets: it may have had an effect. (A pool's first pick starts
// from its first upstream: the resetting one.)
TEST_F(ProxyTest, RequestSentThenResetIsNotRetried) {
  uint16_t upstream_port = 0;
  int lfd = test_support::listen_loopback(&upstream_port);
  std::thread resetter([lfd] {
    int fd = accept_request(lfd);
    linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(fd);
  });
  auto other = start_upstream("other");
  route({tcp(upstream_port), tcp(other->port())}, BalancePolicy::kLeastConnections);
  start_front();
  uint64_t retries = proxy_stats().retries.load();
  std::string r = request_once(port(), kGet);
  resetter.join();
  EXPECT_NE(r.find("HTTP/1.1 502"), std::string::npos) << r;
  EXPECT_EQ(r.find("X-Upstream: other"), std::string::npos) << "retried: " << r;
  EXPECT_EQ(proxy_stats().retries.load(), retries);
  close(lfd);
}

TEST_F(ProxyTest, ForwardedHeadersAndHopByHopRemoval) {
  auto up = start_upstream("a");
  route({tcp(up->port())});
  start_front();
  std::string r =
      request_once(port(),
                   "GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Forwarded-For: 10.0.0.1\r\n"
                   "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nTE: trailers\r\n"
                   "Proxy-Authorization: x\r\nX-Forwarded-Proto: https\r\n\r\n");
  EXPECT_NE(r.find("X-Forwarded-For: 10.0.0.1, 127.0.0.1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Forwarded-Proto: http\n"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Forwarded-Host: app.localhost\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Forwarded: for=127.0.0.1;host=\"app.localhost\";proto=http\n"),
            std::string::npos)
      << r;
  EXPECT_EQ(r.find("X-Secret"), std::string::npos) << r;
  EXPECT_EQ(r.find("TE: trailers"), std::string::npos) << r;
  EXPECT_EQ(r.find("Proxy-Authorization"), std::string::npos) << r;
  EXPECT_EQ(r.find("X-Forwarded-Proto: https"), std::string::npos) << r;
}

TEST_F(ProxyTest, LargeBodiesAreStreamedWithBoundedBuffers) {
  auto up = start_upstream("a", {.max_body_bytes = 32 << 20});
  route({tcp(up->port())});
  start_front();
  proxy_stats().peak_buffered_bytes.store(0);
  std::string body;
  std::string r = request_once(port(), "GET /big HTTP/1.1\r\nHost: app.localhost\r\n\r\n", &body);
  EXPECT_EQ(body.size(), size_t{10} << 20);
  std::string upload = "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: " +
                       std::to_string(10 << 20) + "\r\n\r\n" + std::string(10 << 20, 'u');
  EXPECT_NE(request_once(port(), upload).find("got 10485760"), std::string::npos);
  size_t peak = proxy_stats().peak_buffered_bytes.load();
  printf("proxy peak buffered bytes per exchange: %zu\n", peak);
  EXPECT_LT(peak, size_t{2} << 20);
}

TEST_F(ProxyTest, ChunkedUploadIsRechunked) {
  auto up = start_upstream("a");
  route({tcp(up->port())});
  start_front();
  std::string r = request_once(
      port(),
      "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_NE(r.find("got 8"), std::string::npos) << r;
}

TEST_F(ProxyTest, PerSiteBodyLimitIs413) {
  auto up = start_upstream("a");
  route({tcp(up->port())}, BalancePolicy::kRoundRobin, {}, 10);
  start_front();
  std::string r = request_once(
      port(),
      "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 11\r\n\r\nhello world");
  EXPECT_NE(r.find("HTTP/1.1 413"), std::string::npos) << r;
  // A chunked body has no declared length: refused once it passes the limit.
  r = request_once(
      port(),
      "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 413"), std::string::npos) << r;
  // Each with a log line, as the server's own limits have.
  const std::string line = "site_max_body 413 request body over the site's limit of 10 bytes";
  EXPECT_EQ(limits(), (std::vector<std::string>{line, line}));
}

TEST_F(ProxyTest, WebSocketTunnelEchoes) {
  // A raw upstream: answers the upgrade, then echoes bytes.
  uint16_t upstream_port = 0;
  int lfd = test_support::listen_loopback(&upstream_port);
  std::string seen_head;
  std::thread server = echo_upstream(
      lfd, &seen_head,
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  route({tcp(upstream_port)});
  start_front();
  int fd = connect_tcp(port());
  send_all(
      fd,
      "GET /ws HTTP/1.1\r\nHost: app.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string got = read_head(fd);
  EXPECT_NE(got.find("HTTP/1.1 101"), std::string::npos) << got;
  EXPECT_NE(got.find("Upgrade: websocket"), std::string::npos) << got;
  send_all(fd, "ping-frame");
  std::string echoed;
  char buf[64];
  while (echoed.size() < 10) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    echoed.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(echoed, "ping-frame");
  close(fd);  // the proxy closes the upstream side; the echo thread ends
  server.join();
  close(lfd);
  EXPECT_NE(seen_head.find("Upgrade: websocket"), std::string::npos);
  EXPECT_NE(seen_head.find("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), std::string::npos);
}

// A WebSocket over HTTP/2 (RFC 8441, h2c here as over TLS) reaches an
// HTTP/1.1 upstream as the upgrade it knows (GET, Upgrade, a key the
// router made); its 101 is the client's 200, and the stream is the tunnel
// until the client ends it, which the upstream sees as the end of its input.
TEST_F(ProxyTest, WebSocketOverHttp2ReachesAnHttp11Upstream) {
  uint16_t upstream_port = 0;
  int lfd = test_support::listen_loopback(&upstream_port);
  std::string seen_head;
  std::thread server = echo_upstream(
      lfd, &seen_head,
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  route({tcp(upstream_port)});
  start_front(1, /*h2c=*/true);
  wok::test_support::H2Client c(connect_tcp(port()));
  c.set_authority("app.localhost");
  ASSERT_TRUE(
      c.run_until([&] { return c.remote_setting(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1; }));
  int32_t ws = c.open_tunnel("/ws", {{"sec-websocket-version", "13"}});
  ASSERT_TRUE(c.run_until([&] { return c.reply(ws).status != 0; }));
  EXPECT_EQ(c.reply(ws).status, 200);
  EXPECT_EQ(c.reply(ws).headers.count("sec-websocket-accept"), 0u);
  EXPECT_EQ(c.reply(ws).headers.count("upgrade"), 0u);
  c.tunnel_send(ws, "ping-frame");
  ASSERT_TRUE(c.run_until([&] { return c.reply(ws).body == "ping-frame"; })) << c.reply(ws).body;
  c.tunnel_send(ws, "", /*end=*/true);
  ASSERT_TRUE(c.run_until([&] { return c.reply(ws).closed; }));
  EXPECT_EQ(c.reply(ws).rst, 0u);
  server.join();
  close(lfd);
  EXPECT_NE(seen_head.find("GET /ws HTTP/1.1\r\n"), std::string::npos) << seen_head;
  EXPECT_NE(seen_head.find("Upgrade: websocket"), std::string::npos) << seen_head;
  EXPECT_NE(seen_head.find("Sec-WebSocket-Key: "), std::string::npos) << seen_head;
  // Names as HTTP/2 carries them (lowercase), which HTTP/1.1 takes as the same.
  EXPECT_NE(seen_head.find("sec-websocket-version: 13"), std::string::npos) << seen_head;
}

}  // namespace
}  // namespace wok::router
