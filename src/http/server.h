#pragma once
// A multi-threaded HTTP/1.1 server: one epoll loop per thread, each with its
// own SO_REUSEPORT listener, keep-alive, graceful stop. The same server
// carries the router (public port) and the API (API port).
#include <cstdint>
#include <memory>
#include <string>

#include "http/message.h"

namespace wok::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks; see Server::port()
  int threads = 0;    // 0: one per core
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 16 * 1024 * 1024;
  int idle_timeout_ms = 60'000;
  int header_timeout_ms = 15'000;
  int max_connections = 10'000;  // per server; beyond it new connections are refused
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();  // stops if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the loops. On failure returns false and sets *error.
  bool start(std::string* error);
  uint16_t port() const;  // the bound port, valid after start()
  // Stops accepting, lets in-flight requests finish (up to grace_ms), closes
  // idle connections, joins the threads.
  void stop(int grace_ms = 5000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wok::http
