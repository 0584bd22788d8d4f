// wok job run SITE JOB, wok logs site NAME --job JOB: the cron jobs of app
// sites (spec.app.jobs).
#include <nlohmann/json.hpp>
#include <ostream>

#include "cmd/commands.h"

namespace wok::cmd {

using nlohmann::json;

int job_run_command(Session& session, const std::string& site, const std::string& job) {
  if (int code = 1; !require_project(session, &code)) return code;
  json body = json::object();
  HttpResponse response = session.client.request(
      "POST", site_subresource_path(session.project, site, "jobrun") + "?job=" + job, &body);
  if (response.status / 100 != 2) {
    return session.fail(response, not_found_message(Kind::kSite, session.project, site));
  }
  session.io.out << "job " << job << " of " << qualified_name(Kind::kSite, site)
                 << " requested: it runs within seconds (see `wok describe site " << site
                 << "`, `wok logs site " << site << " --job " << job << "`)\n";
  return 0;
}

int job_logs_command(Session& session, const std::string& site, const std::string& job, int tail) {
  if (int code = 1; !require_project(session, &code)) return code;
  HttpResponse response =
      session.client.request("GET", site_subresource_path(session.project, site, "joblogs") +
                                        "?job=" + job + "&tail=" + std::to_string(tail));
  if (response.status != 200)
    return session.fail(response, not_found_message(Kind::kSite, session.project, site));
  json logs;
  if (!parse_json_body(response.body, &logs) || !logs.is_object() ||
      !logs.value("items", json()).is_array()) {
    return session.fail("the server answered with something that is not a JobLogs object");
  }
  const json& items = logs["items"];
  if (items.empty()) {
    session.io.err << "Job \"" << job << "\" of site \"" << site
                   << "\" has no kept run yet (`wok job run " << site << " " << job
                   << "` starts one).\n";
    return 0;
  }
  // Every kept run, oldest first; what each was on stderr, its output on stdout.
  for (const json& run : items) {
    session.io.err << "run " << run.value("run", int64_t{0}) << " (" << run.value("reason", "")
                   << ", " << run.value("result", "")
                   << (run.contains("exitCode")
                           ? ", exit code " + std::to_string(run.value("exitCode", 0))
                           : "")
                   << (run.contains("message") ? ": " + run.value("message", "") : "")
                   << ") started " << run.value("startTime", "") << "\n";
    session.io.err.flush();
    for (const json& line : run.value("lines", json::array()))
      if (line.is_string()) session.io.out << line.get<std::string>() << "\n";
    session.io.out.flush();
  }
  return 0;
}

}  // namespace wok::cmd
