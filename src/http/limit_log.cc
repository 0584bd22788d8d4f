#include "http/limit_log.h"

#include <spdlog/spdlog.h>

namespace wok::http {

void log_limit(const LimitEvent& e) {
  // An idle keep-alive connection closing is routine; the rest are refusals
  // an operator may want to see.
  auto level = e.limit == "idle_timeout" ? spdlog::level::debug : spdlog::level::info;
  spdlog::log(level, "http limit {}: status {} client {} {}", e.limit, e.status,
              e.remote.empty() ? "-" : e.remote, e.detail);
}

}  // namespace wok::http
