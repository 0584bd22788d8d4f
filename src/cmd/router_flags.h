#pragma once
// The router's limits as command-line flags, shared by `wok up` and
// `wok serve` (a site's pod): sizes as Kubernetes quantities or bytes
// ("8Ki", "16Mi", "65536"), durations Go-style ("500ms", "15s", "2m").
// An empty flag keeps the default of http::ServerOptions.
#include <string>
#include <vector>

namespace CLI {
class App;
}
namespace wok::http {
struct ServerOptions;
}

namespace wok::cmd {

struct RouterLimitFlags {
  std::string threads;           // event loops; 0: one per core
  std::string max_connections;   // beyond it new connections are refused
  std::string max_request_line;  // request target (URL) size: 414
  std::string max_header_bytes;  // request line and header block: 431
  std::string max_body;          // request body, for every site: 413
  std::string header_timeout;    // the head must arrive within: 408
  std::string body_timeout;      // longest pause in a request body: 408
  std::string idle_timeout;      // keep-alive connection with no request
};

// `--max-body` etc.; with a prefix, `--serve-max-body` (the operator's
// settings for the `wok serve` of sites' pods).
void add_router_limit_flags(CLI::App& command, RouterLimitFlags& flags,
                            const std::string& prefix = "",
                            const std::string& group = "Router limits");

// Copies the given flags into *options; false with *error naming the flag
// (with its prefix) and what is wrong with its value.
bool apply_router_limits(const RouterLimitFlags& flags, http::ServerOptions* options,
                         std::string* error, const std::string& prefix = "");

// The flags that are set, as arguments of `wok serve`: "--max-body=1Mi".
std::vector<std::string> router_limit_args(const RouterLimitFlags& flags);

// The operator's and `wok render`'s --serve-* flags: checked (an error names
// the prefixed flag), then turned into `wok serve` arguments.
bool serve_limit_args(const RouterLimitFlags& flags, std::vector<std::string>* args,
                      std::string* error);

}  // namespace wok::cmd
