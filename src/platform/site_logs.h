#pragma once
// `wok logs`: the output of a site's instances (running, and the stopped ones
// of its newest revision: a failed rollout's), read from the runtime's log
// files, for the API's .../sites/NAME/logs: each instance's current (or last)
// run, or with query.previous the run before it (log_files.h).
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "server/api_server.h"

namespace wok::runtime {
class Runtime;
}

namespace wok::platform {

nlohmann::json site_logs(const runtime::Runtime& runtime, const std::string& ns,
                         const std::string& name, const server::LogsQuery& query);

}  // namespace wok::platform
