#pragma once
// Runs a site's build command with a time limit, stdout and stderr captured
// together. Under wok up the command is `runc run` of a sandbox the runtime
// prepared (Runtime::prepare_job: the project's uid, the checkout and a
// build cache writable, nothing else of the host; seccomp, cgroup limits),
// and `sandbox_end` kills what is left in it; without a sandbox (tests of
// this runner) it is a subprocess in its own process group.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wok::controllers {

struct BuildResult {
  bool ok = false;
  int exit_code = -1;      // when it exited
  bool timed_out = false;  // killed (the whole group) after the limit
  std::string output;      // combined stdout+stderr, truncated to max_output bytes
  std::string error;       // human summary when !ok: "build exited with status 2"
};

struct BuildOptions {
  std::vector<std::string> command;  // argv, command[0] looked up in PATH
  std::string working_dir;
  std::map<std::string, std::string>
      env;  // added to a minimal environment (PATH, HOME=working_dir)
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  size_t max_output = 1 << 20;
  // Non-empty: run this (absolute path first) instead of `command`, from /,
  // with only PATH in its environment: the sandbox has the build's own.
  std::vector<std::string> sandbox_command;
  std::function<void()> sandbox_end;  // called once the build is over, whatever happened
  // Set to true from another thread: the build is killed at once ("build
  // cancelled"), as on its time limit but without the grace period.
  std::shared_ptr<std::atomic<bool>> cancel;
  // Each piece of output as it arrives (what is kept of it: the cap holds),
  // on the build's thread: a live view of a running build.
  std::function<void(std::string_view)> on_output;
};

BuildResult run_build(const BuildOptions& options);

}  // namespace wok::controllers
