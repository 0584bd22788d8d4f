#include "http/server.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "http/event_loop.h"
#include "http/limit_log.h"
#include "http/listener.h"
#include "http/sync_handler.h"

namespace wok::http {

struct Server::Impl {
  ServerOptions options;
  AsyncHandler handler;
  std::atomic<int> live_connections{0};
  std::mutex mutex;  // serialises start() and stop()
  std::vector<std::unique_ptr<EventLoop>> loops;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool running = false;

  bool open_loops(int count, std::string* error);
};

Server::Server(ServerOptions options, Handler handler)
    : Server(std::move(options), adapt_sync_handler(std::move(handler))) {}

Server::Server(ServerOptions options, AsyncHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (!impl_->options.on_limit) impl_->options.on_limit = log_limit;
  impl_->handler = std::move(handler);
}

// Without an explicit stop() nobody is waiting for a graceful drain.
Server::~Server() { stop(0); }

// One listening socket, a dup of it per loop. With a socket per loop
// (SO_REUSEPORT) the kernel spread connections by a hash of their
// addresses: 64 connections over two loops were typically 36 and 28, and
// the busier loop set the tail latency.
bool Server::Impl::open_loops(int count, std::string* error) {
  int listener = open_listener(options.host, options.port, error);
  if (listener < 0) return false;
  port = bound_port(listener);
  for (int i = 0; i < count; ++i) {
    int fd = i + 1 < count ? fcntl(listener, F_DUPFD_CLOEXEC, 0) : listener;
    if (fd < 0) {
      *error = std::string("listening socket: ") + strerror(errno);
      close(listener);
      return false;
    }
    auto loop = std::make_unique<EventLoop>(options, handler, &live_connections);
    if (!loop->init(fd, error)) {
      if (fd != listener) close(listener);
      return false;
    }
    loops.push_back(std::move(loop));
  }
  return true;
}

bool Server::start(std::string* error) {
  // A client that goes away mid-response must cost its connection (EPIPE),
  // never the process: writev and sendfile raise SIGPIPE otherwise.
  signal(SIGPIPE, SIG_IGN);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->running) {
    *error = "server already started";
    return false;
  }
  int count = impl_->options.threads;
  if (count <= 0) count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!impl_->open_loops(count, error)) {
    impl_->loops.clear();
    return false;
  }
  std::vector<EventLoop*> all;
  for (auto& loop : impl_->loops) all.push_back(loop.get());
  for (auto& loop : impl_->loops) loop->set_siblings(all);
  for (auto& loop : impl_->loops) {
    impl_->threads.emplace_back([l = loop.get()] { l->run(); });
  }
  impl_->running = true;
  return true;
}

uint16_t Server::port() const { return impl_->port; }

// Must not be called from a handler: it joins the loop threads.
void Server::stop(int grace_ms) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (!impl_->running) return;
  for (auto& loop : impl_->loops) loop->request_stop(grace_ms);
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  impl_->loops.clear();
  impl_->running = false;
}

}  // namespace wok::http
