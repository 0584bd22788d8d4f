#pragma once
// Sockets inside another network namespace (a sandboxed instance that has
// only loopback): the socket is created by a thread that has entered the
// namespace, and a socket keeps the namespace it was created in, so the
// caller connects and uses it from its own thread as usual. Shared by the
// reverse proxy (src/router) and the runtime's health probes (src/runtime).
// Needs CAP_SYS_ADMIN (wok runs as root).
#include <chrono>
#include <string>

namespace wok::base {

// A non-blocking, close-on-exec SOCK_STREAM socket of `domain` (AF_INET,
// AF_INET6, AF_UNIX) created inside the network namespace file netns_path
// (e.g. /proc/PID/ns/net). Returns -1 with errno set on failure: ENOENT /
// ESRCH when the namespace is gone, EPERM without the capability, ETIMEDOUT
// when the helper thread did not answer within `bound`, EAGAIN while it is
// still stuck on an earlier request. Thread-safe; never throws.
//
// Blocks the caller for the time it takes to create one socket (a few
// microseconds: open, two setns, socket), at most `bound`.
int socket_in_netns(const std::string& netns_path, int domain,
                    std::chrono::milliseconds bound = std::chrono::milliseconds(500));

}  // namespace wok::base
