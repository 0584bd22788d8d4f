// Route tables swapped continuously under load: not one request may fail.
// Also prints (never asserts) what building and swapping 100,000 sites costs.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "http/server.h"
#include "router/router.h"

namespace wok::router {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::shared_ptr<RouteTable> build_table(int sites, const std::string& root) {
  auto table = std::make_shared<RouteTable>();
  for (int i = 0; i < sites; ++i) {
    auto route = std::make_shared<Route>();
    route->project = "p";
    route->site = "s" + std::to_string(i);
    route->root = root;
    table->add("s" + std::to_string(i) + ".localhost", route);
  }
  return table;
}

TEST(LiveConfigTest, SwappingTablesUnderLoadFailsNoRequest) {
  std::string root =
      std::filesystem::temp_directory_path() / ("wok-live-" + std::to_string(getpid()));
  std::filesystem::create_directories(root);
  std::ofstream(root + "/index.html") << "ok";
  // A second revision of one requested site: its route changes at every swap.
  const std::string root2 = root + "/r2";
  std::filesystem::create_directories(root2);
  std::ofstream(root2 + "/index.html") << "ok";
  constexpr int kSites = 100'000;

  auto t0 = Clock::now();
  std::shared_ptr<const RouteTable> base = build_table(kSites, root);
  printf("build %d-site table: %.1f ms\n", kSites, ms_since(t0));

  Router router;
  router.set_table(base);
  http::ServerOptions options;
  options.threads = 2;
  http::Server server(options, [&router](http::Exchange ex) { router.serve(std::move(ex)); });
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;

  std::atomic<bool> done{false};
  std::atomic<int> swaps{0};
  double worst_swap_ms = 0, total_swap_ms = 0;
  std::thread swapper([&] {
    // Add or remove one site among 100,000 per step, and move a site that
    // a client is requesting to its other revision: copy, change, publish.
    for (int i = 0; !done.load(); ++i) {
      auto t = Clock::now();
      auto next = std::make_shared<RouteTable>(*base);
      auto extra = std::make_shared<Route>();
      extra->root = root;
      if (i % 2 == 0) next->add("extra" + std::to_string(i) + ".localhost", extra);
      auto moved = std::make_shared<Route>();
      moved->project = "p";
      moved->site = "s7";
      moved->root = i % 2 == 0 ? root2 : root;
      next->add("s7.localhost", moved);
      router.set_table(next);
      double took = ms_since(t);
      worst_swap_ms = std::max(worst_swap_ms, took);
      total_swap_ms += took;
      swaps.fetch_add(1);
    }
  });

  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      timeval tv{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(server.port());
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      std::string request =
          "GET / HTTP/1.1\r\nHost: s" + std::to_string(c * 1000 + 7) + ".localhost\r\n\r\n";
      std::string buffer;
      for (int i = 0; i < 300 || swaps.load() < 5; ++i) {  // one keep-alive connection each
        send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        while (buffer.find("\r\n\r\nok") == std::string::npos) {
          char buf[4096];
          ssize_t n = recv(fd, buf, sizeof buf, 0);
          if (n <= 0) break;
          buffer.append(buf, static_cast<size_t>(n));
        }
        size_t end = buffer.find("\r\n\r\nok");
        if (end != std::string::npos && buffer.compare(0, 15, "HTTP/1.1 200 OK") == 0) {
          ok.fetch_add(1);
          buffer.erase(0, end + 6);
        } else {
          failed.fetch_add(1);
          break;
        }
      }
      close(fd);
    });
  }
  for (auto& t : clients) t.join();
  done.store(true);
  swapper.join();
  server.stop();
  std::filesystem::remove_all(root);
  printf(
      "%d requests, %d table swaps meanwhile, copy+change+swap of %d sites: mean %.3f ms, worst "
      "%.1f ms\n",
      ok.load(), swaps.load(), kSites, total_swap_ms / std::max(1, swaps.load()), worst_swap_ms);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(ok.load(), 1200);
  EXPECT_GT(swaps.load(), 0);
}

}  // namespace
}  // namespace wok::router
