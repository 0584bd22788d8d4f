#pragma once
// Runs the tools the runtime drives (runc, umoci, skopeo) as child processes.
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace wok::runtime {

struct CommandResult {
  int exit_code = -1;  // -1 when it could not run or was killed by a signal
  std::string out;
  std::string err;  // or why it could not be started
  bool ok() const { return exit_code == 0; }
  // "runc delete: exit 1: <last line of stderr>" for error messages.
  std::string describe(const std::string& what) const;
};

// Runs argv (argv[0] looked up in PATH) with stdin from /dev/null (or
// stdin_fd when >= 0); stdout and stderr captured. stdout_fd/stderr_fd >= 0
// replace the capture (runc run --detach hands them to the container).
// Killed after `timeout`.
// `cancel`, when given and set meanwhile, kills it as a timeout does.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60),
                          int stdout_fd = -1, int stderr_fd = -1, int stdin_fd = -1,
                          const std::atomic<bool>* cancel = nullptr);

}  // namespace wok::runtime
