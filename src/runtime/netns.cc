#include "runtime/netns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/netns_socket.h"

namespace wok::runtime {

int connect_in_netns(int pid, uint16_t port, std::chrono::milliseconds timeout) {
  if (pid <= 0) {
    errno = ESRCH;
    return -1;
  }
  // The socket comes from the helper thread shared with the proxy (setns
  // never touches this thread); it keeps the instance's namespace.
  int fd = base::socket_in_netns("/proc/" + std::to_string(pid) + "/ns/net", AF_INET);
  if (fd < 0) {
    if (errno == ENOENT) errno = ESRCH;
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  int so_error = 0;
  socklen_t len = sizeof so_error;
  if (n == 1) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (n != 1 || so_error != 0) {
    ::close(fd);
    errno = n == 1 ? so_error : ETIMEDOUT;
    return -1;
  }
  return fd;
}

}  // namespace wok::runtime
