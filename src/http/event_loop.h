#pragma once
// One thread's epoll loop: accepts on its own listener, drives its
// connections, scans timeouts, and drains them on stop.
#include <atomic>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>

#include "http/message.h"
#include "http/server.h"

namespace wok::http {

class Connection;
struct LoopState;

class EventLoop {
 public:
  // live_connections is shared by all loops of a server (max_connections).
  EventLoop(const ServerOptions& options, const Handler& handler,
            std::atomic<int>* live_connections);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Takes ownership of listen_fd, even on failure.
  bool init(int listen_fd, std::string* error);
  // Runs until a stop has drained every connection or its grace has passed.
  void run();
  // Callable from any thread.
  void request_stop(int grace_ms);

 private:
  void accept_all();
  void shed_connection();
  void begin_stop();
  void tick();
  void refresh_clock();
  LoopState state() const;
  void drop(int fd);
  void close_all();

  const ServerOptions& options_;
  const Handler& handler_;
  std::atomic<int>* live_connections_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int listen_fd_ = -1;
  int reserve_fd_ = -1;  // spare fd, given up to shed a connection when out of descriptors
  int64_t listen_resume_ms_ = -1;  // listener paused after fd exhaustion until then
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::atomic<int64_t> stop_deadline_ms_{-1};
  bool stopping_ = false;
  int64_t now_ms_ = 0;
  int64_t tick_interval_ms_ = 1000;
  time_t date_second_ = 0;
  std::string date_;
};

}  // namespace wok::http
