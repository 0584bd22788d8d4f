#pragma once
// Listening sockets for the per-thread loops: SO_REUSEPORT lets each loop
// own a socket on the same port and the kernel spread connections among them.
#include <cstdint>
#include <string>

namespace wok::http {

// A non-blocking listening socket bound to host:port (host is an address or
// a name; empty means all interfaces). Returns -1 and sets *error on failure.
int open_listener(const std::string& host, uint16_t port, std::string* error);
// The port a bound socket actually got (for port 0).
uint16_t bound_port(int fd);

}  // namespace wok::http
