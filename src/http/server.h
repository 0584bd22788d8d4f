#pragma once
// A multi-threaded HTTP/1.1 server: one epoll loop per thread, each with its
// own SO_REUSEPORT listener, keep-alive, graceful stop. The same server
// carries the router (public port) and the API (API port).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/exchange.h"
#include "http/message.h"

namespace wok::http {
class TlsAcceptor;
}

namespace wok::http {

// A limit the server enforced (one per refusal), for the log.
struct LimitEvent {
  std::string_view
      limit;       // "max_connections", "header_timeout", "body_timeout", "idle_timeout", "parse"
  int status = 0;  // what the client was answered; 0: closed without an answer
  std::string_view remote;  // client address, if known
  std::string_view detail;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                         // 0: the kernel picks; see Server::port()
  int threads = 0;                           // 0: one per core
  size_t max_request_line_bytes = 8 * 1024;  // the request target (URL): 414
  size_t max_header_bytes = 16 * 1024;       // request line and header block: 431
  size_t max_body_bytes = 16 * 1024 * 1024;
  int idle_timeout_ms = 60'000;
  int header_timeout_ms = 15'000;
  int body_timeout_ms = 30'000;  // longest pause between request body bytes: 408
  int max_connections = 10'000;  // per server; beyond it new connections are refused
  // Called on the loop thread for every limit hit; unset: spdlog (idle
  // timeouts at debug level, the rest at info).
  std::function<void(const LimitEvent&)> on_limit = nullptr;
  // Set: every connection speaks TLS (http/tls.h), the handshake bounded by
  // header_timeout_ms; requests carry Request::tls.
  std::shared_ptr<const TlsAcceptor> tls = nullptr;
  // A plain (not TLS) listener also takes HTTP/2 from clients that start
  // with its preface (h2c with prior knowledge); HTTP/2 over TLS is
  // negotiated by ALPN (the acceptor's protocols).
  bool h2c = false;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);  // synchronous: whole request, whole response
  Server(ServerOptions options, AsyncHandler handler);
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
