// wok stats site NAME -n PROJECT: the router's request statistics of one
// site over the last minutes (GET .../sites/NAME/stats).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cmd/commands.h"
#include "cmd/fields.h"
#include "cmd/table.h"

namespace wok::cmd {
namespace {

using nlohmann::json;

std::string ms(const json& stats, const char* key) {
  const json* v = find_at(stats, {"latencyMs", key});
  if (!v || !v->is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g ms", v->get<double>());
  return buf;
}

uint64_t count(const json& stats, std::initializer_list<std::string_view> path) {
  const json* v = find_at(stats, path);
  return v && v->is_number_unsigned() ? v->get<uint64_t>() : 0;
}

}  // namespace

int stats_site_command(Session& session, const std::string& name, int minutes) {
  if (int code = 1; !require_project(session, &code)) return code;
  std::string path =
      site_subresource_path(session.project, name, "stats") + "?minutes=" + std::to_string(minutes);
  HttpResponse response = session.client.request("GET", path);
  if (response.status != 200) {
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  }
  json stats;
  if (!parse_json_body(response.body, &stats) || !stats.is_object()) {
    return session.fail("the server answered with something that is not SiteStats");
  }
  std::ostream& out = session.io.out;
  uint64_t requests = count(stats, {"requests"});
  out << "Site \"" << name << "\" in project \"" << session.project << "\", last "
      << count(stats, {"windowMinutes"}) << " minute(s):\n";
  out << "  requests  " << requests << "\n";
  for (const char* cls : {"2xx", "3xx", "4xx", "5xx"}) {
    out << "  " << cls << "       " << count(stats, {"byStatusClass", cls}) << "\n";
  }
  out << "  bytes     " << human_bytes(count(stats, {"bytes"})) << "\n";
  if (requests == 0) {
    out << "  latency   - (no requests)\n";
  } else {
    out << "  latency   p50 " << ms(stats, "p50") << "   p90 " << ms(stats, "p90") << "   p99 "
        << ms(stats, "p99") << "\n";
  }
  return 0;
}

}  // namespace wok::cmd
