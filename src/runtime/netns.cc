#include "runtime/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

namespace wok::runtime {

namespace {

// Runs on its own thread: setns() changes only the calling thread's namespace,
// and the thread ends right after, so no other code runs in the workload's.
void socket_in_netns(int ns_fd, int* out_fd, int* out_errno) {
  if (::setns(ns_fd, CLONE_NEWNET) != 0) {
    *out_errno = errno;
    return;
  }
  *out_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (*out_fd < 0) *out_errno = errno;
}

}  // namespace

int connect_in_netns(int pid, uint16_t port, std::chrono::milliseconds timeout) {
  if (pid <= 0) {
    errno = ESRCH;
    return -1;
  }
  std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/net";
  int ns_fd = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) {
    errno = errno == ENOENT ? ESRCH : errno;
    return -1;
  }
  int fd = -1, err = 0;
  std::thread(socket_in_netns, ns_fd, &fd, &err).join();
  ::close(ns_fd);
  if (fd < 0) {
    errno = err;
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
