#pragma once
// `wok logs`: the output of a site's running instances, read from the
// runtime's log files, for the API's .../sites/NAME/logs.
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "server/api_server.h"

namespace wok::runtime {
class Runtime;
}

namespace wok::platform {

nlohmann::json site_logs(const runtime::Runtime& runtime, const std::string& ns, const std::string& name,
                         const server::LogsQuery& query);

}  // namespace wok::platform
