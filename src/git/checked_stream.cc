#include "git/checked_stream.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

namespace wok::git {
namespace {

thread_local ConnectionPolicy* current_policy = nullptr;

// Laid out as libgit2's own git_socket_stream up to `s`: its ssh transport
// takes the socket from there (GIT_CONTAINER_OF(io, git_socket_stream, parent)->s).
struct CheckedStream {
  git_stream parent;
  char* host;
  char* port;
  int s;
  ConnectionPolicy* policy;  // the opening thread's; nullptr: unrestricted
};
static_assert(std::is_standard_layout_v<CheckedStream>);

CheckedStream* self(git_stream* stream) { return reinterpret_cast<CheckedStream*>(stream); }

int fail(const std::string& message) {
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

int stop(CheckedStream* st, const std::string& why) {
  if (st->policy->stopped.empty()) st->policy->stopped = why;
  return fail(why);
}

int out_of_time(CheckedStream* st) {
  return stop(st, "the fetch went over its time limit of " +
                      std::to_string(st->policy->limits.timeout.count()) + "s");
}

// Milliseconds left until the deadline for poll(): -1 without a policy, 0 when none is left.
int remaining_ms(const CheckedStream* st) {
  if (st->policy == nullptr) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(st->policy->deadline -
                                                           std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<long long>(left.count(), INT_MAX));
}

// Waits until fd is ready for `events` within the fetch's time: 1, or 0
// when the time is over, or -1 (errno set).
int wait_ready(const CheckedStream* st, int fd, short events) {
  int wait = remaining_ms(st);
  if (wait == 0) return 0;
  pollfd p{fd, events, 0};
  int n;
  do {
    n = poll(&p, 1, wait);
  } while (n < 0 && errno == EINTR);
  return n;
}

// Connects fd to one address within the fetch's time: 0, -1 (errno set),
// or 1 when the time ran out.
int connect_within(const CheckedStream* st, int fd, const addrinfo* a) {
  if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) return 0;
  if (errno != EINPROGRESS) return -1;
  int ready = wait_ready(st, fd, POLLOUT);
  if (ready == 0) return 1;
  if (ready < 0) return -1;
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return -1;
  errno = error;
  return error == 0 ? 0 : -1;
}

int on_connect(git_stream* stream) {
  CheckedStream* st = self(stream);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(st->host, st->port, &hints, &found); rc != 0) {
    return fail(std::string("failed to resolve address for ") + st->host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
  // This answer is the one connected to: it is the one checked.
  if (st->policy != nullptr) {
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
      std::string why = refuse_address(st->host, a->ai_addr, a->ai_addrlen, st->policy->limits);
      if (!why.empty()) return stop(st, why);
    }
  }
  int last_error = 0;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    int rc = connect_within(st, fd, a);
    if (rc == 0) {
      // Blocking again, as libgit2's own sockets (and libssh2) expect; our
      // reads and writes never block past the deadline anyway (MSG_DONTWAIT).
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      st->s = fd;
      return 0;
    }
    last_error = errno;
    close(fd);
    if (rc == 1) return out_of_time(st);
  }
  return fail(std::string("failed to connect to ") + st->host + ": " + std::strerror(last_error));
}

// recv or send without blocking, waiting for readiness within the deadline.
template <typename Io>
ssize_t transfer(CheckedStream* st, short events, const char* what, Io io) {
  while (true) {
    ssize_t n = io();
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return fail(std::string(what) + ": " + std::strerror(errno));
    int ready = wait_ready(st, st->s, events);
    if (ready == 0) return out_of_time(st);
    if (ready < 0) return fail(std::string(what) + ": " + std::strerror(errno));
  }
}

ssize_t on_read(git_stream* stream, void* data, size_t length) {
  CheckedStream* st = self(stream);
  return transfer(st, POLLIN, "error receiving data from socket",
                  [&] { return recv(st->s, data, length, MSG_DONTWAIT); });
}

ssize_t on_write(git_stream* stream, const char* data, size_t length, int /*flags: always 0*/) {
  CheckedStream* st = self(stream);
  return transfer(st, POLLOUT, "error sending data to socket",
                  [&] { return send(st->s, data, length, MSG_DONTWAIT | MSG_NOSIGNAL); });
}

int on_close(git_stream* stream) {
  CheckedStream* st = self(stream);
  int rc = st->s >= 0 ? close(st->s) : 0;
  st->s = -1;
  return rc;
}

void on_free(git_stream* stream) {
  CheckedStream* st = self(stream);
  on_close(stream);
  std::free(st->host);
  std::free(st->port);
  delete st;
}

}  // namespace

ConnectionPolicyScope::ConnectionPolicyScope(ConnectionPolicy& policy) : previous_(current_policy) {
  current_policy = &policy;
}

ConnectionPolicyScope::~ConnectionPolicyScope() { current_policy = previous_; }

int open_checked_stream(git_stream** out, const char* host, const char* port) {
  auto* st = new (std::nothrow) CheckedStream{};
  if (st == nullptr) return fail("out of memory");
  st->parent.version = GIT_STREAM_VERSION;
  st->parent.connect = on_connect;
  st->parent.read = on_read;
  st->parent.write = on_write;
  st->parent.close = on_close;
  st->parent.free = on_free;
  st->host = strdup(host);
  st->port = strdup(port != nullptr ? port : "");
  st->s = -1;
  st->policy = current_policy;
  if (st->host == nullptr || st->port == nullptr) {
    on_free(&st->parent);
    return fail("out of memory");
  }
  *out = &st->parent;
  return 0;
}

bool install_checked_stream() {
#if LIBGIT2_VER_MAJOR == 1
  static const bool installed = [] {
    git_stream_registration registration{};
    registration.version = GIT_STREAM_VERSION;
    registration.init = open_checked_stream;
    return git_stream_register(GIT_STREAM_STANDARD, &registration) == 0;
  }();
  return installed;
#else
  return false;
#endif
}

}  // namespace wok::git
