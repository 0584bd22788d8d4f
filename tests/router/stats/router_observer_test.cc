// Router::serve reports every completed request of a known site to its
// observers, through a real server on a real socket.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "router/router.h"

namespace wok::router {
namespace {

namespace fs = std::filesystem;

struct Seen {
  std::string project, site, host, method, path;
  int status;
  uint64_t bytes;
  int64_t upstream_us, duration_us;
};

class RecordingObserver : public RequestObserver {
 public:
  void on_request(const RequestRecord& r) override {
    std::lock_guard lock(mutex_);
    seen_.push_back({std::string(r.project), std::string(r.site), std::string(r.host),
                     std::string(r.method), std::string(r.path), r.status, r.bytes,
                     r.upstream.count(), r.duration.count()});
  }
  std::vector<Seen> all() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::vector<Seen> seen_;
};

std::string exchange(uint16_t port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string all;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
      all.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return all;
}

// A router reporting to a recording observer, behind a real server.
class RouterObserverTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) server_->stop();
    if (!root_.empty()) fs::remove_all(root_);
  }
  // A static site "www.test" (project team) whose index.html says hello.
  std::shared_ptr<RouteTable> static_site() {
    char tmpl[] = "/tmp/wok-router-observer-XXXXXX";
    root_ = mkdtemp(tmpl);
    std::ofstream(root_ / "index.html") << "hello";
    auto table = std::make_shared<RouteTable>();
    table->add("www.test", std::make_shared<const Route>(Route{"team", "www", root_.string()}));
    return table;
  }
  void serve(std::shared_ptr<RouteTable> table) {
    router_.set_table(std::move(table));
    router_.add_observer(&observer_);
    http::ServerOptions options;
    options.threads = 1;
    server_ = std::make_unique<http::Server>(
        options, [this](http::Exchange ex) { router_.serve(std::move(ex)); });
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }
  // Every completion has been reported once the server has stopped.
  std::vector<Seen> stop_and_collect() {
    server_->stop();
    return observer_.all();
  }

  RecordingObserver observer_;  // outlives the router, which outlives the server
  Router router_;
  std::unique_ptr<http::Server> server_;
  fs::path root_;
};

TEST_F(RouterObserverTest, EveryCompletedRequestOfASiteIsReported) {
  serve(static_site());
  std::string answer =
      exchange(server_->port(),
               "GET /index.html?q=1 HTTP/1.1\r\nHost: www.test\r\n\r\n"
               "HEAD / HTTP/1.1\r\nHost: www.test\r\n\r\n"
               "GET /missing HTTP/1.1\r\nHost: www.test\r\n\r\n"
               "GET / HTTP/1.1\r\nHost: unknown.test\r\nConnection: close\r\n\r\n");
  ASSERT_NE(answer.find("hello"), std::string::npos) << answer;
  std::vector<Seen> seen = stop_and_collect();
  ASSERT_EQ(seen.size(), 3u);  // the unknown host belongs to no site
  EXPECT_EQ(seen[0].project, "team");
  EXPECT_EQ(seen[0].site, "www");
  EXPECT_EQ(seen[0].host, "www.test");
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, "/index.html");
  EXPECT_EQ(seen[0].status, 200);
  EXPECT_EQ(seen[0].bytes, 5u);
  EXPECT_EQ(seen[0].upstream_us, -1);
  EXPECT_EQ(seen[1].method, "HEAD");
  EXPECT_EQ(seen[1].bytes, 0u);
  EXPECT_EQ(seen[2].status, 404);
}

// An absolute-form target names the site: its authority wins over the Host
// header (RFC 9112 3.2.2), and is what the observers see.
TEST_F(RouterObserverTest, AbsoluteFormTargetsAreRoutedByTheirAuthority) {
  serve(static_site());
  std::string answer =
      exchange(server_->port(),
               "GET http://www.test/index.html?x=1 HTTP/1.1\r\nHost: other.test\r\n"
               "Connection: close\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("hello"), std::string::npos) << answer;
  std::vector<Seen> seen = stop_and_collect();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].host, "www.test");
  EXPECT_EQ(seen[0].path, "/index.html");
}

// A proxied request reports the time its upstream took: at least the
// upstream's own delay, at most the whole request's.
TEST_F(RouterObserverTest, ProxiedRequestsReportTheirUpstreamTime) {
  http::ServerOptions upstream_options;
  upstream_options.threads = 1;
  http::Server upstream(upstream_options, [](const http::Request&, http::Response& r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    r.body = "slow";
  });
  std::string error;
  ASSERT_TRUE(upstream.start(&error)) << error;
  auto table = std::make_shared<RouteTable>();
  auto route = std::make_shared<Route>();
  route->project = "team";
  route->site = "api";
  route->upstream = std::make_shared<UpstreamPool>(std::vector<UpstreamAddress>{
      *UpstreamAddress::parse("127.0.0.1:" + std::to_string(upstream.port()))});
  table->add("api.test", route);
  serve(table);
  std::string answer = exchange(server_->port(),
                                "GET / HTTP/1.1\r\nHost: api.test\r\n\r\n"
                                "GET / HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n");
  std::vector<Seen> seen = stop_and_collect();
  upstream.stop();
  EXPECT_NE(answer.find("slow"), std::string::npos) << answer;
  ASSERT_EQ(seen.size(), 2u);
  for (const Seen& s : seen) {
    EXPECT_GE(s.upstream_us, 60000);
    EXPECT_LE(s.upstream_us, s.duration_us);
  }
}

}  // namespace
}  // namespace wok::router
