#include "controllers/build_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <utility>

#include "base/unique_fd.h"

namespace wok::controllers {
namespace {

namespace fs = std::filesystem;
using base::UniqueFd;
using Clock = std::chrono::steady_clock;

constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";
constexpr char kTruncatedMarker[] = "\n[output truncated]";
// Time a build gets between SIGTERM and SIGKILL to clean up after itself.
constexpr auto kKillGrace = std::chrono::seconds(2);
// Child exit is noticed by polling waitid at this interval (no pidfd needed).
constexpr auto kExitPollInterval = std::chrono::milliseconds(20);
constexpr auto kMaxTimeout = std::chrono::hours(24 * 365);

class SpawnFileActions {
 public:
  SpawnFileActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnFileActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
 public:
  SpawnAttributes() { posix_spawnattr_init(&attr_); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

// A NULL-terminated char* array over owned strings, as execve wants.
class CStringArray {
 public:
  explicit CStringArray(std::vector<std::string> strings) : strings_(std::move(strings)) {
    for (std::string& s : strings_) pointers_.push_back(s.data());
    pointers_.push_back(nullptr);
  }
  char* const* get() const { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

BuildResult failure(std::string error) {
  BuildResult result;
  result.error = std::move(error);
  return result;
}

// "2s", "0.3s", "1.25s": Go-style, like durations in Site specs.
std::string format_seconds(std::chrono::milliseconds d) {
  std::string s = std::to_string(d.count() / 1000);
  if (const long long ms = d.count() % 1000; ms != 0) {
    std::string frac = std::to_string(1000 + ms).substr(1);
    frac.erase(frac.find_last_not_of('0') + 1);
    s += "." + frac;
  }
  return s + "s";
}

// The build sees only this environment: nothing of the server's own (which
// may hold credentials) leaks into a site's build.
std::optional<std::map<std::string, std::string>> build_environment(const BuildOptions& options,
                                                                    const fs::path& working_dir,
                                                                    std::string* error) {
  std::map<std::string, std::string> env = {
      {"PATH", kDefaultPath}, {"HOME", working_dir.string()}, {"LANG", "C.UTF-8"}};
  for (const auto& [name, value] : options.env) {
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      *error = "invalid build environment variable \"" + name + "\"";
      return std::nullopt;
    }
    env[name] = value;
  }
  return env;
}

std::vector<std::string> environment_strings(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

// Searches the build's PATH, not the server's: posix_spawnp and execvp
// would use the PATH of this process. Relative PATH entries (such as
// node_modules/.bin) are relative to the working directory.
std::optional<std::string> find_executable(const std::string& name, const std::string& path_var,
                                           const fs::path& working_dir) {
  if (name.find('/') != std::string::npos) return name;  // the child's chdir resolves it
  std::stringstream dirs(path_var);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;  // "current directory" entries are a classic trap
    const fs::path candidate = working_dir / dir / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
  }
  return std::nullopt;
}

// The child gets: stdin from /dev/null, stdout and stderr into the pipe, no
// other descriptor (closefrom: other threads may have opened fds without
// O_CLOEXEC), default signal handling, and its own process group so that a
// timeout can kill everything it started.
int spawn(const std::string& path, const std::vector<std::string>& argv,
          const std::vector<std::string>& envp, const std::string& working_dir, int out_fd,
          pid_t* pid) {
  SpawnFileActions actions;
  posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(actions.get(), out_fd, 1);
  posix_spawn_file_actions_adddup2(actions.get(), out_fd, 2);
  posix_spawn_file_actions_addchdir_np(actions.get(), working_dir.c_str());
  posix_spawn_file_actions_addclosefrom_np(actions.get(), 3);

  SpawnAttributes attr;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setflags(attr.get(),
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(attr.get(), 0);
  posix_spawnattr_setsigmask(attr.get(), &none);
  posix_spawnattr_setsigdefault(attr.get(), &all);

  const CStringArray c_argv(argv);
  const CStringArray c_envp(envp);
  return posix_spawn(pid, path.c_str(), actions.get(), attr.get(), c_argv.get(), c_envp.get());
}

// Combined output, capped: past the cap the pipe is still drained (so the
// build does not block or die of SIGPIPE) but the bytes are dropped.
class OutputBuffer {
 public:
  OutputBuffer(size_t max, std::function<void(std::string_view)> sink)
      : max_(max), sink_(std::move(sink)) {}
  void append(const char* data, size_t n) {
    const size_t room = max_ - std::min(max_, text_.size());
    text_.append(data, std::min(n, room));
    truncated_ = truncated_ || n > room;
    if (sink_ && std::min(n, room) > 0) sink_(std::string_view(data, std::min(n, room)));
  }
  std::string take() { return truncated_ ? std::move(text_) + kTruncatedMarker : std::move(text_); }

 private:
  size_t max_;
  std::function<void(std::string_view)> sink_;
  std::string text_;
  bool truncated_ = false;
};

// Watches a spawned build until it has exited and its output is drained,
// enforcing the time limit on its whole process group.
class BuildWatch {
 public:
  BuildWatch(pid_t pid, UniqueFd out, const BuildOptions& options)
      : pid_(pid),
        out_(std::move(out)),
        output_(options.max_output, options.on_output),
        // Clamped so that an absurd limit from a spec cannot overflow the clock.
        deadline_(Clock::now() + std::min<std::chrono::milliseconds>(options.timeout, kMaxTimeout)),
        cancel_(options.cancel) {}

  // Returns the wait status; the child is reaped.
  int run() {
    while (!done()) {
      wait_for_output();
      notice_exit();
      enforce_time_limit();
    }
    // The group leader is still an unreaped zombie here, so its pid (the
    // group id) cannot have been reused by an unrelated process.
    kill_group(SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }

  bool timed_out() const { return timed_out_; }
  bool cancelled() const { return cancelled_; }
  std::string take_output() { return output_.take(); }

 private:
  bool done() const { return exited_ && (eof_ || Clock::now() >= drain_until_); }

  void wait_for_output() {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kExitPollInterval);
    if (exited_) {
      wait = std::chrono::duration_cast<std::chrono::milliseconds>(drain_until_ - Clock::now());
    }
    pollfd pfd{out_.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, eof_ ? 0 : 1, std::max<int>(0, wait.count()));
    if (ready > 0) read_some();
  }

  void read_some() {
    char buf[65536];
    const ssize_t n = ::read(out_.get(), buf, sizeof buf);
    if (n > 0) {
      output_.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      eof_ = true;
      out_.reset();
    }
  }

  // WNOWAIT: see the exit without reaping, which keeps the group id ours.
  void notice_exit() {
    if (exited_) return;
    siginfo_t info{};
    if (::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != pid_) {
      return;
    }
    exited_ = true;
    // Whatever the build left running in the background is not part of a
    // site; it would also hold the pipe open forever. Bounded drain after
    // that, in case something escaped the group and still holds the pipe.
    kill_group(SIGKILL);
    drain_until_ = Clock::now() + kKillGrace;
  }

  void enforce_time_limit() {
    if (exited_) return;
    if (cancel_ && cancel_->load() && !cancelled_) {
      cancelled_ = true;
      kill_group(SIGKILL);
    }
    const auto now = Clock::now();
    if (!timed_out_ && now >= deadline_) {
      timed_out_ = true;
      kill_group(SIGTERM);
      kill_at_ = now + kKillGrace;
    } else if (timed_out_ && now >= kill_at_) {
      kill_group(SIGKILL);
      kill_at_ = Clock::time_point::max();
    }
  }

  void kill_group(int sig) { ::kill(-pid_, sig); }

  pid_t pid_;
  UniqueFd out_;
  OutputBuffer output_;
  Clock::time_point deadline_;
  Clock::time_point kill_at_ = Clock::time_point::max();
  Clock::time_point drain_until_ = Clock::time_point::max();
  bool exited_ = false;
  bool eof_ = false;
  bool timed_out_ = false;
  std::shared_ptr<std::atomic<bool>> cancel_;
  bool cancelled_ = false;
};

std::string spawn_error(int err, const std::string& command) {
  if (err == ENOENT) return "build command not found: " + command;
  return "cannot run build command " + command + ": " + std::strerror(err);
}

BuildResult summarize(int status, bool timed_out, std::chrono::milliseconds timeout,
                      std::string output, bool cancelled = false) {
  BuildResult result;
  result.output = std::move(output);
  result.timed_out = timed_out;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (cancelled) {
    result.error = "build cancelled";
  } else if (timed_out) {
    result.error = "build timed out after " + format_seconds(timeout);
  } else if (WIFSIGNALED(status)) {
    result.error = "build killed by signal " + std::to_string(WTERMSIG(status));
  } else if (result.exit_code != 0) {
    result.error = "build exited with status " + std::to_string(result.exit_code);
  } else {
    result.ok = true;
  }
  return result;
}

std::string check_options(const BuildOptions& options) {
  if (options.command.empty() || options.command[0].empty()) return "build command is empty";
  if (options.timeout.count() <= 0) return "build timeout must be positive";
  std::error_code ec;
  if (options.working_dir.empty() || !fs::is_directory(options.working_dir, ec)) {
    return "build working directory \"" + options.working_dir + "\" does not exist";
  }
  return "";
}

BuildResult run_sandboxed(const BuildOptions& options) {
  struct End {
    const std::function<void()>& end;
    ~End() {
      if (end) end();
    }
  } end{options.sandbox_end};
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failure(std::string("pipe: ") + std::strerror(errno));
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  pid_t pid = -1;
  const int rc = spawn(options.sandbox_command[0], options.sandbox_command,
                       {std::string("PATH=") + kDefaultPath}, "/", write_end.get(), &pid);
  write_end.reset();
  if (rc != 0) return failure(spawn_error(rc, options.sandbox_command[0]));
  BuildWatch watch(pid, std::move(read_end), options);
  const int status = watch.run();
  return summarize(status, watch.timed_out(), options.timeout, watch.take_output(),
                   watch.cancelled());
}

}  // namespace

BuildResult run_build(const BuildOptions& options) {
  if (!options.sandbox_command.empty()) {
    if (options.command.empty() || options.command[0].empty())
      return failure("build command is empty");
    if (options.timeout.count() <= 0) return failure("build timeout must be positive");
    return run_sandboxed(options);
  }
  if (std::string err = check_options(options); !err.empty()) return failure(err);
  const fs::path working_dir = fs::absolute(options.working_dir);
  std::string err;
  const auto env = build_environment(options, working_dir, &err);
  if (!env) return failure(err);
  const auto path = find_executable(options.command[0], env->at("PATH"), working_dir);
  if (!path) return failure("build command not found: " + options.command[0]);

  // O_CLOEXEC: a build spawned concurrently from another thread must not
  // inherit our write end, or we would wait for its EOF too.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failure(std::string("pipe: ") + std::strerror(errno));
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);

  pid_t pid = -1;
  const int rc = spawn(*path, options.command, environment_strings(*env), working_dir.string(),
                       write_end.get(), &pid);
  write_end.reset();  // only the child writes; EOF comes when it (and its group) is done
  if (rc != 0) return failure(spawn_error(rc, options.command[0]));

  BuildWatch watch(pid, std::move(read_end), options);
  const int status = watch.run();
  return summarize(status, watch.timed_out(), options.timeout, watch.take_output(),
                   watch.cancelled());
}

}  // namespace wok::controllers
