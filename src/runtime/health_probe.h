#pragma once
// Readiness check of an instance with a port: HTTP/1.0 GET of its health path
// over a socket inside its network namespace.
#include <chrono>
#include <cstdint>
#include <string>

namespace wok::runtime {

struct ProbeResult {
  bool ok = false;    // connected and answered 2xx/3xx
  int status = 0;     // HTTP status, 0 when none was read
  std::string error;  // "connect: Connection refused", "status 503"...
};

// path "" checks only that a TCP connection is accepted.
ProbeResult probe_http(int pid, uint16_t port, const std::string& path,
                       std::chrono::milliseconds timeout = std::chrono::seconds(1));

// Whether a TCP socket of the instance's network namespace listens on
// 127.0.0.1:port, 0.0.0.0:port or [::]:port (its /proc/PID/net/tcp and tcp6);
// connects to nothing.
ProbeResult probe_listening(int pid, uint16_t port);

// The status code of an HTTP response head ("HTTP/1.1 200 OK..."), 0 if malformed.
int parse_status_line(const std::string& head);

}  // namespace wok::runtime
