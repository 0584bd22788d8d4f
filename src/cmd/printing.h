#pragma once
// Tables of `wok get`, shared with describe and rollout.
#include <chrono>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace wok::cmd {

using Clock = std::chrono::system_clock;

// NAME HOSTS MEMBERS AGE
std::string format_projects(const nlohmann::json& items, Clock::time_point now);

// [PROJECT] NAME MODE HOSTS READY REVISION AGE [COMMIT URL MESSAGE]
std::string format_sites(const nlohmann::json& items, bool with_project, bool wide,
                         Clock::time_point now);

// REVISION COMMIT OUTCOME CREATED CAUSE MESSAGE, rows in the order given; the
// live revision's outcome reads "Deployed (live)". `indent` prefixes every line.
std::string format_revisions(const nlohmann::json& items, const std::string& indent = "");

// "-o json" (4-space indent, like kubectl) and "-o yaml" renderings.
std::string to_json_text(const nlohmann::json& value);

}  // namespace wok::cmd
