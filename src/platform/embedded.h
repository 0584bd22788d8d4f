#pragma once
// `wok up`: the whole platform in one process — store, API server,
// controllers and router — under one data directory.
#include <string>

#include "cli/router_flags.h"

namespace wok::platform {

struct EmbeddedOptions {
  std::string data_dir = "./.wok-data";
  std::string listen = "127.0.0.1:8080";  // public HTTP (the router)
  std::string api = "127.0.0.1:7070";
  bool demo = false;
  std::string examples_dir;  // where the demo's sources are
  std::string version;
  cli::RouterLimitFlags router;  // the public router's limits
};

// Runs until SIGINT or SIGTERM; returns the process exit code.
int run_embedded(const EmbeddedOptions& options);

}  // namespace wok::platform
