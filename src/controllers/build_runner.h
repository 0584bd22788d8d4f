#pragma once
// Runs a site's build command: a subprocess in its own process group, in the
// checkout directory, with a time limit; stdout and stderr captured together.
#include <chrono>
#include <map>
#include <string>
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
  std::map<std::string, std::string> env;  // added to a minimal environment (PATH, HOME=working_dir)
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  size_t max_output = 1 << 20;
};

BuildResult run_build(const BuildOptions& options);

}  // namespace wok::controllers
