#pragma once
// The default sink for limit events: one spdlog line each.
#include "http/server.h"

namespace wok::http {

void log_limit(const LimitEvent& event);

}  // namespace wok::http
