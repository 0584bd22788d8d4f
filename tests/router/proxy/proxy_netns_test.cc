// The reverse proxy reaching upstreams inside other network namespaces (app
// instances sandboxed with only loopback). Real namespaces without runc: a
// forked child unshares its network namespace, brings lo up and serves HTTP
// on 127.0.0.1:PORT there; the host's own 127.0.0.1:PORT is a different
// server, so an answer from the wrong namespace is visible. Needs root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "http/server.h"
#include "router/loopback_client.h"
#include "router/proxy/proxy_stats.h"
#include "router/router.h"

namespace wok::router {
namespace {

using test_support::connect_tcp;
using test_support::read_response;
using test_support::send_all;

const char kGet[] = "GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n";

// --- the child: raw syscalls only (it was forked from a threaded process) ---

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

size_t append_number(char* out, unsigned value) {
  char digits[16];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  return n;
}

// Serves "in-netns NAME conn=C req=R" to each request, one keep-alive
// connection at a time (C counts connections, R requests on this one).
[[noreturn]] void serve_forever(int listener, char name) {
  unsigned conns = 0;
  while (true) {
    int c = accept(listener, nullptr, nullptr);
    if (c < 0) continue;
    ++conns;
    unsigned requests = 0;
    char in[8192];
    size_t have = 0;
    while (true) {
      char* end = static_cast<char*>(memmem(in, have, "\r\n\r\n", 4));
      if (end == nullptr) {
        if (have == sizeof in) break;
        ssize_t n = read(c, in + have, sizeof in - have);
        if (n <= 0) break;
        have += static_cast<size_t>(n);
        continue;
      }
      size_t used = static_cast<size_t>(end + 4 - in);
      memmove(in, in + used, have - used);
      have -= used;
      ++requests;
      char body[64] = "in-netns ";
      size_t b = strlen(body);
      body[b++] = name;
      memcpy(body + b, " conn=", 6);
      b += 6;
      b += append_number(body + b, conns);
      memcpy(body + b, " req=", 5);
      b += 5;
      b += append_number(body + b, requests);
      char head[128] = "HTTP/1.1 200 OK\r\nContent-Length: ";
      size_t h = strlen(head);
      h += append_number(head + h, static_cast<unsigned>(b));
      memcpy(head + h, "\r\n\r\n", 4);
      h += 4;
      write_all(c, head, h);
      write_all(c, body, b);
    }
    close(c);
  }
}

// Enters a fresh network namespace, brings its lo up, listens on
// 127.0.0.1:port and reports errno (0: ready) through the pipe as one int;
// then serves until killed.
[[noreturn]] void child_main(int report, uint16_t port, char name) {
  auto fail = [report](int error) {
    write_all(report, reinterpret_cast<const char*>(&error), sizeof error);
    _exit(1);
  };
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  if (unshare(CLONE_NEWNET) != 0) fail(errno);
  // A new namespace has lo, down.
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  memcpy(ifr.ifr_name, "lo", 3);
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail(errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail(errno);
  close(s);
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (l < 0 || bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(l, 16) != 0) {
    fail(errno);
  }
  int ready = 0;
  write_all(report, reinterpret_cast<const char*>(&ready), sizeof ready);
  close(report);
  serve_forever(l, name);
}

// ---------------------------------------------------------------------------

class ProxyNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP()
          << "needs root to create network namespaces (unshare, setns); CI runs it as root";
    }
    // The host's own 127.0.0.1:PORT: a different server with the same port
    // as every namespace's, so an answer from the host is recognisable.
    http::ServerOptions options;
    options.threads = 1;
    host_ =
        std::make_unique<http::Server>(options, [this](const http::Request&, http::Response& r) {
          host_hits_.fetch_add(1);
          r.body = "on-host";
        });
    std::string error;
    ASSERT_TRUE(host_->start(&error)) << error;
    port_ = host_->port();
  }

  void TearDown() override {
    if (front_) front_->stop(1000);
    for (pid_t pid : children_) kill_child(pid);
    if (host_) host_->stop(1000);
  }

  // A child in a fresh network namespace serving on 127.0.0.1:port_; *out
  // is its pid, or 0 after GTEST_SKIP / a failure.
  void spawn_namespace(char name, pid_t* out) {
    *out = 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << strerror(errno);
      return;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      child_main(p[1], port_, name);
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      ADD_FAILURE() << "fork: " << strerror(errno);
      return;
    }
    children_.push_back(pid);
    int error = -1;
    ssize_t n = read(p[0], &error, sizeof error);
    close(p[0]);
    if (n != sizeof error || error != 0) {
      kill_child(pid);
      if (error == EPERM) {
        GTEST_SKIP() << "cannot create a network namespace here (EPERM: no CAP_SYS_ADMIN)";
      }
      ADD_FAILURE() << "namespace child failed: "
                    << (n == sizeof error ? strerror(error) : "no report");
      return;
    }
    *out = pid;
  }

  void kill_child(pid_t pid) {
    for (size_t i = 0; i < children_.size(); ++i) {
      if (children_[i] != pid) continue;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);  // reaped: /proc/PID is gone
      children_.erase(children_.begin() + static_cast<long>(i));
      return;
    }
  }

  UpstreamAddress in_namespace(pid_t pid) {
    UpstreamAddress a = *UpstreamAddress::parse("127.0.0.1:" + std::to_string(port_));
    a.netns = "/proc/" + std::to_string(pid) + "/ns/net";
    return a;
  }

  void route(std::vector<UpstreamAddress> upstreams, UpstreamOptions options = {}) {
    auto table = std::make_shared<RouteTable>();
    auto r = std::make_shared<Route>();
    r->project = "p";
    r->site = "app";
    r->upstream =
        std::make_shared<UpstreamPool>(std::move(upstreams), BalancePolicy::kRoundRobin, options);
    table->add("app.localhost", r);
    router_.set_table(table);
  }

  void start_front() {
    http::ServerOptions options;
    options.threads = 1;
    front_ = std::make_unique<http::Server>(
        options, [this](http::Exchange ex) { router_.serve(std::move(ex)); });
    std::string error;
    ASSERT_TRUE(front_->start(&error)) << error;
  }

  std::unique_ptr<http::Server> host_;
  std::atomic<int> host_hits_{0};
  uint16_t port_ = 0;
  std::vector<pid_t> children_;
  Router router_;
  std::unique_ptr<http::Server> front_;
};

TEST(UpstreamAddressNetns, IdentityKeepsNamespacesApart) {
  UpstreamAddress host = *UpstreamAddress::parse("127.0.0.1:8080");
  UpstreamAddress a = host, b = host;
  a.netns = "/proc/10/ns/net";
  b.netns = "/proc/11/ns/net";
  EXPECT_NE(a, b);
  EXPECT_NE(a, host);
  UpstreamAddress again = *UpstreamAddress::parse("127.0.0.1:8080");
  again.netns = "/proc/10/ns/net";
  EXPECT_EQ(a, again);
  EXPECT_EQ(a.hash(), again.hash());
  EXPECT_NE(*UpstreamAddress::parse("127.0.0.1:8080"), *UpstreamAddress::parse("127.0.0.1:8081"));
}

TEST_F(ProxyNetnsTest, ReachesTheNamespaceNotTheHostAndReusesTheConnection) {
  pid_t child = 0;
  spawn_namespace('A', &child);
  if (IsSkipped() || HasFailure()) return;
  route({in_namespace(child)});
  start_front();
  uint64_t connects = proxy_stats().upstream_connects.load();
  int fd = connect_tcp(front_->port());
  ASSERT_GE(fd, 0);
  std::string buffer;
  for (int i = 1; i <= 3; ++i) {
    send_all(fd, kGet);
    std::string r = read_response(fd, &buffer);
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
    // The same upstream connection (conn=1) serves every request.
    EXPECT_NE(r.find("in-netns A conn=1 req=" + std::to_string(i)), std::string::npos) << r;
  }
  close(fd);
  EXPECT_EQ(proxy_stats().upstream_connects.load() - connects, 1u);
  EXPECT_EQ(host_hits_.load(), 0) << "the host's 127.0.0.1:" << port_ << " answered";
  // Sanity: the host's server really is on that port, so the check above means something.
  std::string b;
  int h = connect_tcp(port_);
  ASSERT_GE(h, 0);
  send_all(h, kGet);
  EXPECT_NE(read_response(h, &b).find("on-host"), std::string::npos);
  close(h);
}

TEST_F(ProxyNetnsTest, SamePortInTwoNamespacesIsTwoUpstreams) {
  pid_t a = 0;
  spawn_namespace('A', &a);
  if (IsSkipped() || HasFailure()) return;
  pid_t b = 0;
  spawn_namespace('B', &b);
  if (IsSkipped() || HasFailure()) return;
  route({in_namespace(a), in_namespace(b)});
  start_front();
  int fd = connect_tcp(front_->port());
  ASSERT_GE(fd, 0);
  std::string buffer;
  // Round robin alternates; keep-alive connections must go back to their own
  // namespace's pool (a shared key would hand A's connection to B's turn).
  for (int i = 1; i <= 4; ++i) {
    send_all(fd, kGet);
    std::string r = read_response(fd, &buffer);
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
    EXPECT_NE(r.find("in-netns A conn=1"), std::string::npos) << r;
    send_all(fd, kGet);
    r = read_response(fd, &buffer);
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
    EXPECT_NE(r.find("in-netns B conn=1"), std::string::npos) << r;
  }
  close(fd);
  EXPECT_EQ(host_hits_.load(), 0);
}

TEST_F(ProxyNetnsTest, VanishedNamespaceIs502AndTheProxyKeepsServing) {
  pid_t child = 0;
  spawn_namespace('A', &child);
  if (IsSkipped() || HasFailure()) return;
  UpstreamOptions options;
  options.max_fails = 2;  // ejection then comes into play too
  route({in_namespace(child)}, options);
  start_front();
  int fd = connect_tcp(front_->port());
  ASSERT_GE(fd, 0);
  std::string buffer;
  send_all(fd, kGet);
  ASSERT_NE(read_response(fd, &buffer).find("in-netns A"), std::string::npos);
  kill_child(child);  // the instance is gone, and with it /proc/PID/ns/net
  // The first request after the kill may meet the kept-alive connection
  // (closed by the kernel with the namespace) or the missing namespace file;
  // every later one fails to open the namespace, and the upstream gets
  // ejected on the way. A fresh client connection each time: a 502 decided
  // while the request is being dispatched ends the client connection in
  // http::Connection (the same with a missing unix socket), which is not
  // what this test is about.
  close(fd);
  for (int i = 0; i < 4; ++i) {
    int c = connect_tcp(front_->port());
    ASSERT_GE(c, 0) << "the front server is gone";
    std::string b;
    send_all(c, kGet);
    std::string r = read_response(c, &b);
    EXPECT_NE(r.find("HTTP/1.1 502"), std::string::npos) << r;
    close(c);
  }
  EXPECT_EQ(host_hits_.load(), 0);
}

TEST_F(ProxyNetnsTest, FileThatIsNotANamespaceIs502) {
  UpstreamAddress a = *UpstreamAddress::parse("127.0.0.1:" + std::to_string(port_));
  a.netns = "/dev/null";  // opens fine; setns refuses it
  route({a});
  start_front();
  int fd = connect_tcp(front_->port());
  ASSERT_GE(fd, 0);
  std::string buffer;
  send_all(fd, kGet);
  EXPECT_NE(read_response(fd, &buffer).find("HTTP/1.1 502"), std::string::npos);
  close(fd);
  EXPECT_EQ(host_hits_.load(), 0);
}

}  // namespace
}  // namespace wok::router
