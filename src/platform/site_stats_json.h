#pragma once
// The JSON shape of GET .../sites/{name}/stats (docs/api.md), from the
// router's in-memory per-site statistics.
#include <nlohmann/json.hpp>
#include <string>

#include "router/stats/site_stats.h"

namespace wok::platform {

nlohmann::json site_stats_json(const router::SiteStats& stats, const std::string& ns,
                               const std::string& name, int minutes);

}  // namespace wok::platform
