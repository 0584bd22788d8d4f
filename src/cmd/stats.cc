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
  // What the site keeps, now: its volumes and its database (status.storage).
  HttpResponse site =
      session.client.request("GET", object_path(Kind::kSite, session.project, name));
  json object;
  if (site.status == 200 && parse_json_body(site.body, &object) && object.is_object()) {
    const json* storage = find_at(object, {"status", "storage"});
    if (storage && storage->is_array()) {
      for (const auto& s : *storage) {
        const json* bytes = find_at(s, {"bytes"});
        if (!bytes || !bytes->is_number_unsigned()) continue;
        std::string label = text_at(s, {"name"}) == "database" ? std::string("database")
                                                               : "storage " + text_at(s, {"name"});
        out << "  " << label << std::string(label.size() < 10 ? 10 - label.size() : 1, ' ')
            << human_bytes(bytes->get<uint64_t>()) << " used\n";
      }
    }
  }
  return 0;
}

}  // namespace wok::cmd
