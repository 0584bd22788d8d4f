#include "runtime/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace wok::runtime {

std::string CommandResult::describe(const std::string& what) const {
  std::string msg = err;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (auto nl = msg.rfind('\n'); nl != std::string::npos) msg = msg.substr(nl + 1);
  std::string status = exit_code >= 0 ? "exit " + std::to_string(exit_code) : "failed";
  return what + ": " + status + (msg.empty() ? "" : ": " + msg);
}

namespace {

// Reads both pipes until they close or the deadline passes.
bool drain(int out_fd, int err_fd, std::string& out, std::string& err,
           std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* cancel) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* bufs[2] = {&out, &err};
  char buf[8192];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (cancel && cancel->load())) return false;
    // A look at `cancel` at least every 200 ms.
    int n = ::poll(fds, 2,
                   static_cast<int>(cancel ? std::min<int64_t>(left.count(), 200) : left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        if (bufs[i]->size() < (4u << 20)) bufs[i]->append(buf, r);
      } else if (r == 0 || errno != EINTR) {
        fds[i].fd = -1;
      }
    }
  }
  return true;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          int stdout_fd, int stderr_fd, int stdin_fd,
                          const std::atomic<bool>* cancel) {
  CommandResult result;
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (stdout_fd < 0 && ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (stderr_fd < 0 && ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    if (out_pipe[0] >= 0) ::close(out_pipe[0]), ::close(out_pipe[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0)
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
  else
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd >= 0 ? stdout_fd : out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd >= 0 ? stderr_fd : err_pipe[1], 2);
  // Own process group, so a timeout kills helpers the tool started too.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (out_pipe[1] >= 0) ::close(out_pipe[1]);
  if (err_pipe[1] >= 0) ::close(err_pipe[1]);
  if (rc != 0) {
    if (out_pipe[0] >= 0) ::close(out_pipe[0]);
    if (err_pipe[0] >= 0) ::close(err_pipe[0]);
    result.err = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool in_time = drain(out_pipe[0], err_pipe[0], result.out, result.err, deadline, cancel);
  if (out_pipe[0] >= 0) ::close(out_pipe[0]);
  if (err_pipe[0] >= 0) ::close(err_pipe[0]);
  int status = 0;
  while (in_time) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline || (cancel && cancel->load())) {
      in_time = false;
      break;
    }
    ::usleep(5000);
  }
  if (!in_time) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.err += "\n" + argv[0] + (cancel && cancel->load() ? " cancelled" : " timed out");
    return result;
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace wok::runtime
