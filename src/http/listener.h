#pragma once
// The listening socket the per-thread loops share (each holds a dup of it,
// registered with EPOLLEXCLUSIVE): a connection goes to a loop that is
// free to take it, rather than to the one a hash of its address picks.
#include <cstdint>
#include <string>

namespace wok::http {

// A non-blocking listening socket bound to host:port (host is an address or
// a name; empty means all interfaces). Returns -1 and sets *error on failure.
int open_listener(const std::string& host, uint16_t port, std::string* error);
// The port a bound socket actually got (for port 0).
uint16_t bound_port(int fd);

}  // namespace wok::http
