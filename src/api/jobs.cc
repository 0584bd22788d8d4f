#include "api/jobs.h"

#include <nlohmann/json.hpp>
#include <set>

#include "api/cron.h"

namespace wok::api {
namespace {

using nlohmann::json;

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

std::string str_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::vector<JobSpec> app_jobs(const json& spec) {
  std::vector<JobSpec> out;
  if (!spec.is_object() || !spec.contains("app") || !spec["app"].is_object()) return out;
  const json& app = spec["app"];
  if (!app.contains("jobs") || !app["jobs"].is_array()) return out;
  std::string first;
  if (app.contains("components") && app["components"].is_array() && !app["components"].empty() &&
      app["components"][0].is_object())
    first = str_at(app["components"][0], "name");
  for (const json& j : app["jobs"]) {
    if (!j.is_object()) continue;
    JobSpec job;
    job.name = str_at(j, "name");
    job.schedule = str_at(j, "schedule");
    job.component = str_at(j, "component");
    if (job.component.empty()) job.component = first;
    if (j.contains("command") && j["command"].is_array()) {
      for (const json& a : j["command"])
        if (a.is_string()) job.command.push_back(a);
    }
    if (std::string p = str_at(j, "concurrencyPolicy"); !p.empty()) job.concurrency_policy = p;
    if (long long ms = parse_duration_ms(str_at(j, "timeout")); ms > 0) job.timeout_ms = ms;
    if (long long ms = parse_duration_ms(str_at(j, "startingDeadline")); ms > 0)
      job.starting_deadline_ms = ms;
    if (j.contains("successfulJobsHistoryLimit") &&
        j["successfulJobsHistoryLimit"].is_number_integer())
      job.successful_history = j["successfulJobsHistoryLimit"];
    if (j.contains("failedJobsHistoryLimit") && j["failedJobsHistoryLimit"].is_number_integer())
      job.failed_history = j["failedJobsHistoryLimit"];
    out.push_back(std::move(job));
  }
  return out;
}

void check_jobs(const json& app, std::vector<FieldError>& out) {
  if (!app.contains("jobs") || !app["jobs"].is_array()) return;
  const json& jobs = app["jobs"];
  if (jobs.size() > static_cast<size_t>(kMaxJobs)) {
    out.push_back({"spec.app.jobs", "lists " + std::to_string(jobs.size()) + " jobs, at most " +
                                        std::to_string(kMaxJobs) + " are allowed"});
    return;
  }
  std::set<std::string> components;
  if (app.contains("components") && app["components"].is_array()) {
    for (const json& c : app["components"])
      if (c.is_object()) components.insert(str_at(c, "name"));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const json& j = jobs[i];
    if (!j.is_object()) continue;  // the schema said so
    std::string path = "spec.app.jobs[" + std::to_string(i) + "]";
    std::string name = str_at(j, "name");
    if (!is_dns_label(name))
      out.push_back({path + ".name", in_quotes(name) + " is not a valid name (a DNS label)"});
    else if (!names.insert(name).second)
      out.push_back({path + ".name", in_quotes(name) + " is listed twice"});
    std::string error;
    if (!parse_cron(str_at(j, "schedule"), &error)) out.push_back({path + ".schedule", error});
    if (j.contains("component") && j["component"].is_string() &&
        !components.count(str_at(j, "component"))) {
      out.push_back({path + ".component", in_quotes(str_at(j, "component")) +
                                              " is not a component of spec.app.components"});
    }
    if (j.contains("command") && j["command"].is_array() && j["command"].empty()) {
      out.push_back({path + ".command", "must not be empty"});
    }
    if (j.contains("concurrencyPolicy") && j["concurrencyPolicy"].is_string()) {
      std::string p = j["concurrencyPolicy"];
      if (p != "Forbid" && p != "Allow" && p != "Replace")
        out.push_back(
            {path + ".concurrencyPolicy", in_quotes(p) + " is not one of Forbid, Allow, Replace"});
    }
    if (j.contains("timeout") && j["timeout"].is_string()) {
      std::string t = j["timeout"];
      long long ms = parse_duration_ms(t);
      if (ms < 0)
        out.push_back({path + ".timeout", in_quotes(t) + " is not a duration (e.g. 30s, 10m, 1h)"});
      else if (ms < 1000 || ms > kMaxJobTimeoutMs)
        out.push_back({path + ".timeout", in_quotes(t) + " must be between 1s and 24h"});
      else if (ms % 1000 != 0)
        out.push_back({path + ".timeout", in_quotes(t) + " must be whole seconds"});
    }
    if (j.contains("startingDeadline") && j["startingDeadline"].is_string()) {
      std::string t = j["startingDeadline"];
      long long ms = parse_duration_ms(t);
      if (ms < 0)
        out.push_back(
            {path + ".startingDeadline", in_quotes(t) + " is not a duration (e.g. 5m, 1h)"});
      else if (ms < kMinStartingDeadlineMs || ms > kMaxJobTimeoutMs)
        out.push_back({path + ".startingDeadline", in_quotes(t) + " must be between 10s and 24h"});
      else if (ms % 1000 != 0)
        out.push_back({path + ".startingDeadline", in_quotes(t) + " must be whole seconds"});
    }
    for (const char* key : {"successfulJobsHistoryLimit", "failedJobsHistoryLimit"}) {
      if (j.contains(key) && j[key].is_number_integer()) {
        long long n = j[key];
        if (n < 0 || n > kMaxJobHistory)
          out.push_back({path + "." + key, std::to_string(n) + " is out of range (0-" +
                                               std::to_string(kMaxJobHistory) + ")"});
      }
    }
  }
}

}  // namespace wok::api
