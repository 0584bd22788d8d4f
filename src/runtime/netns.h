#pragma once
// Reaching a workload in its own network namespace without giving it an
// address: the socket is created inside the namespace (base::socket_in_netns,
// shared with the proxy; a socket stays in the namespace it was created in)
// and then used from anywhere. Needs CAP_SYS_ADMIN (wok runs as root).
#include <chrono>
#include <cstdint>

namespace wok::runtime {

// A TCP socket connected to 127.0.0.1:port inside the network namespace of
// process `pid`, non-blocking and close-on-exec; -1 with errno set on failure
// (ECONNREFUSED when nothing listens, ETIMEDOUT, ESRCH when pid is gone).
int connect_in_netns(int pid, uint16_t port,
                     std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace wok::runtime
