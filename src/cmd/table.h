#pragma once
// Plain-text output shared by the commands: aligned tables and kubectl's
// compact ages.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wok::cmd {

// Columns padded to their widest cell and separated by three spaces, as
// kubectl's tabwriter does; the last column is not padded. rows[0] is the
// header. Every line ends with '\n'; `indent` is prefixed to each line.
std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         std::string_view indent = "");

// kubectl's HumanDuration: 45s, 3m5s, 15m, 2h10m, 10h, 5d3h, 30d, 2y.
std::string human_duration(std::chrono::seconds elapsed);

// 512 B, 1.5 KiB, 10.0 MiB...
std::string human_bytes(uint64_t bytes);

// RFC 3339 ("2026-11-25T10:00:00Z", "...10:00:00.123+02:00") to a time point.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// Age of an RFC 3339 timestamp relative to `now`; "<unknown>" if unparsable.
std::string age_since(std::string_view timestamp, std::chrono::system_clock::time_point now);

}  // namespace wok::cmd
