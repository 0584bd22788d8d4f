#include "base/netns_socket.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

namespace wok::base {
namespace {

// One persistent helper thread for the whole process, fed by a queue.
//
// Why a thread at all: setns() switches the calling thread, and the event
// loops' threads must never leave the host namespace. Why one persistent
// thread rather than one per socket: creating a socket takes microseconds,
// spawning a thread costs more than that, and the proxy opens upstream
// connections on the data plane. Why the caller waits synchronously (with a
// bound) rather than being woken through an eventfd: the wait is as short
// as the syscalls themselves, so an asynchronous hand-off would only add a
// connection phase, cancellation and an fd per request to every caller for
// nothing; the bound keeps a pathological stall (a kernel that does not
// answer setns) from holding a loop for long, and while such a stall lasts
// further callers fail at once (EAGAIN) instead of each waiting the bound.
class NetnsHelper {
 public:
  // -1 with *error on failure; see socket_in_netns().
  int create(const std::string& path, int domain, std::chrono::milliseconds bound, int* error) {
    auto request = std::make_shared<Request>();
    request->path = path;
    request->domain = domain;
    std::unique_lock lock(mu_);
    if (!started_ && !start()) {
      *error = EAGAIN;
      return -1;
    }
    if (stuck_ > 0) {
      *error = EAGAIN;
      return -1;
    }
    queue_.push_back(request);
    work_.notify_one();
    if (!done_.wait_for(lock, bound, [&] { return request->done; })) {
      request->abandoned = true;  // the helper closes the socket when it gets there
      ++stuck_;
      *error = ETIMEDOUT;
      return -1;
    }
    *error = request->error;
    return request->fd;
  }

 private:
  struct Request {
    std::string path;
    int domain = 0;
    bool done = false;
    bool abandoned = false;
    int fd = -1;
    int error = 0;
  };

  // Called with mu_ held. A failure (no more threads) is reported to this
  // caller and retried by the next one: not fatal, not an exception.
  bool start() {
    try {
      std::thread(&NetnsHelper::run, this).detach();
    } catch (const std::system_error&) {
      return false;
    }
    started_ = true;
    return true;
  }

  void run() {
    // The namespace to come back to after each socket: otherwise the helper
    // would keep the last instance's namespace alive after it is gone.
    int home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    std::unique_lock lock(mu_);
    while (true) {
      work_.wait(lock, [&] { return !queue_.empty(); });
      std::shared_ptr<Request> request = queue_.front();
      queue_.pop_front();
      lock.unlock();
      int error = 0;
      int fd = make_socket(request->path, request->domain, home, &error);
      lock.lock();
      if (request->abandoned) {
        if (fd >= 0) ::close(fd);
        --stuck_;
        continue;
      }
      request->fd = fd;
      request->error = error;
      request->done = true;
      done_.notify_all();
    }
  }

  static int make_socket(const std::string& path, int domain, int home, int* error) {
    int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
      *error = errno;
      return -1;
    }
    // EINVAL here: the file is not a network namespace.
    int rc = ::setns(ns, CLONE_NEWNET);
    *error = errno;
    ::close(ns);
    if (rc != 0) return -1;
    int fd = ::socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    *error = fd < 0 ? errno : 0;
    // Failing to go home only pins a namespace until the next request
    // switches again; the socket itself is good.
    if (home >= 0) ::setns(home, CLONE_NEWNET);
    return fd;
  }

  std::mutex mu_;
  std::condition_variable work_;  // the helper waits for requests
  std::condition_variable done_;  // callers wait for their answer
  std::deque<std::shared_ptr<Request>> queue_;
  bool started_ = false;
  int stuck_ = 0;  // abandoned requests the helper has not finished yet
};

}  // namespace

int socket_in_netns(const std::string& netns_path, int domain, std::chrono::milliseconds bound) {
  // Never destroyed: the detached helper thread uses it until the process ends.
  static NetnsHelper* helper = new NetnsHelper;
  int error = 0;
  int fd = helper->create(netns_path, domain, bound, &error);
  if (fd < 0) errno = error;
  return fd;
}

}  // namespace wok::base
