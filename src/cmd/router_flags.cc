#include "cmd/router_flags.h"

#include <CLI/CLI.hpp>
#include <charconv>

#include "api/validation.h"
#include "http/server.h"

namespace wok::cmd {
namespace {

struct Problem {
  std::string* error;
  const std::string& prefix;
  bool fail(std::string_view flag, std::string_view value, std::string_view want) {
    *error =
        "--" + prefix + std::string(flag) + " \"" + std::string(value) + "\": " + std::string(want);
    return false;
  }
};

bool count(std::string_view flag, const std::string& value, long long min, long long max,
           long long* out, Problem& p) {
  long long n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < min || n > max) {
    return p.fail(
        flag, value,
        "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  *out = n;
  return true;
}

bool size(std::string_view flag, const std::string& value, long long min, long long* out,
          Problem& p) {
  long long n = api::parse_memory_bytes(value);
  if (n < 0) return p.fail(flag, value, "is not a size (e.g. 8Ki, 16Mi, 65536)");
  if (n < min) return p.fail(flag, value, "must be at least " + std::to_string(min) + " bytes");
  *out = n;
  return true;
}

bool duration(std::string_view flag, const std::string& value, int* out, Problem& p) {
  long long ms = api::parse_duration_ms(value);
  if (ms < 0) return p.fail(flag, value, "is not a duration (e.g. 500ms, 15s, 2m)");
  if (ms < 100 || ms > 24LL * 3600 * 1000) return p.fail(flag, value, "must be from 100ms to 24h");
  *out = static_cast<int>(ms);
  return true;
}

}  // namespace

namespace {

struct FlagInfo {
  const char* name;
  std::string RouterLimitFlags::*field;
  const char* help;
};

// One table for the flags of `wok up`, `wok serve` and (prefixed) `wok
// operator` / `wok render`, and for the arguments rendered from them.
constexpr FlagInfo kFlags[] = {
    {"threads", &RouterLimitFlags::threads, "router event loops (default: one per core)"},
    {"max-connections", &RouterLimitFlags::max_connections,
     "open client connections; beyond it new ones are refused (default 10000)"},
    {"max-request-line", &RouterLimitFlags::max_request_line,
     "size of a request's target (URL); larger: 414 (default 8Ki)"},
    {"max-header-bytes", &RouterLimitFlags::max_header_bytes,
     "size of the request line and header block; larger: 431 (default 16Ki)"},
    {"max-body", &RouterLimitFlags::max_body,
     "request body size for every site (a site may set less); larger: 413 (default 16Mi)"},
    {"header-timeout", &RouterLimitFlags::header_timeout,
     "time for a request's head to arrive; then 408 (default 15s)"},
    {"body-timeout", &RouterLimitFlags::body_timeout,
     "longest pause within a request body; then 408 (default 30s)"},
    {"idle-timeout", &RouterLimitFlags::idle_timeout,
     "a kept-alive connection without a request is closed after (default 60s)"},
};

}  // namespace

void add_router_limit_flags(CLI::App& command, RouterLimitFlags& f, const std::string& prefix,
                            const std::string& group) {
  for (const FlagInfo& flag : kFlags) {
    command.add_option("--" + prefix + flag.name, f.*flag.field, flag.help)->group(group);
  }
}

std::vector<std::string> router_limit_args(const RouterLimitFlags& f) {
  std::vector<std::string> args;
  for (const FlagInfo& flag : kFlags) {
    if (!(f.*flag.field).empty())
      args.push_back("--" + std::string(flag.name) + "=" + f.*flag.field);
  }
  return args;
}

bool apply_router_limits(const RouterLimitFlags& f, http::ServerOptions* o, std::string* error,
                         const std::string& prefix) {
  Problem p{error, prefix};
  long long n = 0;
  if (!f.threads.empty()) {
    if (!count("threads", f.threads, 0, 256, &n, p)) return false;
    o->threads = static_cast<int>(n);
  }
  if (!f.max_connections.empty()) {
    if (!count("max-connections", f.max_connections, 1, 1'000'000, &n, p)) return false;
    o->max_connections = static_cast<int>(n);
  }
  if (!f.max_request_line.empty()) {
    if (!size("max-request-line", f.max_request_line, 64, &n, p)) return false;
    o->max_request_line_bytes = static_cast<size_t>(n);
  }
  if (!f.max_header_bytes.empty()) {
    if (!size("max-header-bytes", f.max_header_bytes, 1024, &n, p)) return false;
    o->max_header_bytes = static_cast<size_t>(n);
  }
  if (!f.max_body.empty()) {
    if (!size("max-body", f.max_body, 0, &n, p)) return false;
    o->max_body_bytes = static_cast<size_t>(n);
  }
  if (!f.header_timeout.empty() &&
      !duration("header-timeout", f.header_timeout, &o->header_timeout_ms, p)) {
    return false;
  }
  if (!f.body_timeout.empty() && !duration("body-timeout", f.body_timeout, &o->body_timeout_ms, p))
    return false;
  if (!f.idle_timeout.empty() && !duration("idle-timeout", f.idle_timeout, &o->idle_timeout_ms, p))
    return false;
  return true;
}

bool serve_limit_args(const RouterLimitFlags& flags, std::vector<std::string>* args,
                      std::string* error) {
  http::ServerOptions checked;
  if (!apply_router_limits(flags, &checked, error, "serve-")) return false;
  *args = router_limit_args(flags);
  return true;
}

}  // namespace wok::cmd
