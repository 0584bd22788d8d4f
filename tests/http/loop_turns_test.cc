// EventLoop's turns (http/event_loop.h): work deferred to the next turn
// runs after the loop has looked at its descriptors again, so work that
// goes on turn after turn (an HTTP/2 answer sent a budget at a time to a
// client that reads as fast as it is sent) lets other events in.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "http/event_loop.h"

namespace wok::http {
namespace {

using Clock = std::chrono::steady_clock;

TEST(EventLoopTurns, WorkPutOffToTheNextTurnLetsAnotherDescriptorIn) {
  ServerOptions options;
  AsyncHandler handler = [](Exchange) {};
  std::atomic<int> live{0};
  EventLoop loop(options, handler, &live);
  int listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listen_fd, 8), 0);
  std::string error;
  ASSERT_TRUE(loop.init(listen_fd, &error)) << error;
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC), 0);

  // A chain of steps, each putting the next off to the next turn, until the
  // pipe has been seen (or 10 s: on a loop that ran the chain to its end
  // first, the pipe's byte would wait all that time).
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::atomic<bool> started{false}, seen{false}, seen_in_time{false};
  std::atomic<long> steps{0};
  std::function<void()> step = [&] {
    ++steps;
    started = true;
    if (!seen && Clock::now() < deadline) loop.defer_next_turn([&step] { step(); });
  };
  ASSERT_TRUE(loop.mailbox()->post([&] {
    loop.watch(pipe_fds[0], EPOLLIN, [&](uint32_t) {
      char c;
      (void)::read(pipe_fds[0], &c, 1);
      seen_in_time = Clock::now() < deadline;
      seen = true;
    });
    step();
  }));
  std::thread runner([&] { loop.run(); });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
  while (!seen && Clock::now() < deadline + std::chrono::seconds(2))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  loop.request_stop(0);
  runner.join();
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_TRUE(seen_in_time) << "the pipe waited for the chain's end (" << steps << " steps)";
  EXPECT_GT(steps.load(), 0);
}

}  // namespace
}  // namespace wok::http
