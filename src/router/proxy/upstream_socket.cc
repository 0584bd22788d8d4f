#include "router/proxy/upstream_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/netns_socket.h"

namespace wok::router {
namespace {

// Fills addr from a numeric host; false if it is not one.
bool socket_address(const UpstreamAddress& a, sockaddr_storage* addr, socklen_t* len) {
  *addr = {};
  if (!a.unix_path.empty()) {
    auto* un = reinterpret_cast<sockaddr_un*>(addr);
    if (a.unix_path.size() >= sizeof un->sun_path) return false;
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, a.unix_path.c_str(), a.unix_path.size() + 1);
    *len = sizeof(sockaddr_un);
    return true;
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(addr);
  if (inet_pton(AF_INET, a.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(a.port);
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(addr);
  if (inet_pton(AF_INET6, a.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(a.port);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace

ConnectResult connect_upstream(const UpstreamAddress& address) {
  ConnectResult r;
  sockaddr_storage addr;
  socklen_t len = 0;
  if (!socket_address(address, &addr, &len)) {
    r.error = EINVAL;
    return r;
  }
  // A sandboxed instance: only the socket's creation happens inside its
  // namespace (on the shared helper thread); the socket keeps that
  // namespace, so the connect below and all I/O stay on this loop. A
  // namespace that cannot be entered (the instance is gone) is an ordinary
  // connect failure: 502 and passive health, like a refused connection.
  int fd = address.netns.empty()
               ? socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
               : base::socket_in_netns(address.netns, addr.ss_family);
  if (fd < 0) {
    r.error = errno;
    return r;
  }
  if (addr.ss_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0) {
    r.fd = fd;
  } else if (errno == EINPROGRESS) {
    r.fd = fd;
    r.in_progress = true;
  } else {  // refused, or (EAGAIN) a unix socket's backlog is full

    r.error = errno;
    close(fd);
  }
  return r;
}

int connect_error(int fd) {
  int error = 0;
  socklen_t len = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return errno;
  return error;
}

}  // namespace wok::router
