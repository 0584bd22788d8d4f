#pragma once
// A small HTTPS/1.1 server for the admission webhook: the API server calls
// webhooks only over TLS, a few requests a second at most. A thread accepts;
// each connection gets a thread of its own with blocking SSL_accept and
// SSL_read, bounded in number, in time and in size, and parsed by the data
// plane's request parser (http/request_parser.h). Not the data plane: no
// event loop, no HTTP/2.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "http/message.h"
#include "kube/tls_certificate.h"

namespace wok::kube {

struct HttpsOptions {
  std::string host = "0.0.0.0";  // or an IPv6 address, with or without brackets
  uint16_t port = 0;             // 0: any free port (port() says which)
  std::string cert_file, key_file;
  size_t max_body_bytes = 1 << 20;  // beyond: 413 (an AdmissionReview of a Site is a few KiB)
  // From a connection's first byte (or a kept-alive one's next request) to
  // the whole request, TLS handshake included; beyond: closed (408 when a
  // request had begun).
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // between kept-alive requests
  int max_connections = 32;                        // more are closed at once
};

class HttpsServer {
 public:
  HttpsServer(HttpsOptions options, http::Handler handler);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Loads the certificate and listens; false with `error` naming what failed.
  bool start(std::string* error);
  // Closes the listener and every connection, and waits for their threads.
  void stop();
  uint16_t port() const { return port_; }
  uint64_t certificate_loads() const { return certificate_.loads(); }

 private:
  void accept_loop();
  void serve(int fd, std::string remote);

  HttpsOptions options_;
  http::Handler handler_;
  TlsCertificate certificate_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the accept loop
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable idle_;
  std::set<int> open_;  // connections being served
};

}  // namespace wok::kube
