#pragma once
// The `wok` command line: every client command (apply, get, describe, delete,
// rollout, refresh, token, version) and the parsing of `wok up`, whose work
// the caller supplies.
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace wok::cli {

struct UpOptions {
  std::string data_dir = "./.wok-data";
  std::string listen = "127.0.0.1:8080";
  std::string api = "127.0.0.1:7070";
  bool demo = false;
};

using UpCommand = std::function<int(const UpOptions&)>;

// Parses argv, runs the command and returns the exit code: 0 ok, 1 error
// (printed as "error: ..." on stderr), 2 usage error.
int run(int argc, char** argv);
int run(int argc, char** argv, UpCommand up);

// The same with explicit streams, for tests. args[0] is the program name.
int run(const std::vector<std::string>& args, UpCommand up, std::istream& in, std::ostream& out,
        std::ostream& err);

}  // namespace wok::cli
