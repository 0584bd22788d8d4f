#pragma once
// spec.app.jobs: scheduled one-shot runs of a command in a component's
// sandbox, the same on every platform (embedded: controllers/cron_jobs.h;
// Kubernetes: a CronJob per job, render/app_mode.cc). One reading of a
// job's fields with their defaults, so both platforms agree.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "api/validation.h"

namespace wok::api {

inline constexpr int kMaxJobs = 10;
inline constexpr int kMaxJobHistory = 10;
inline constexpr long long kDefaultJobTimeoutMs = 3'600'000;  // 1h
inline constexpr long long kMaxJobTimeoutMs = 24 * 3'600'000ll;
inline constexpr long long kMinStartingDeadlineMs = 10'000;  // as Kubernetes advises

struct JobSpec {
  std::string name;
  std::string schedule;
  std::string component;                      // resolved: the named one, else the first component
  std::vector<std::string> command;           // empty: the component's own
  std::string concurrency_policy = "Forbid";  // Forbid, Allow, Replace
  long long timeout_ms = kDefaultJobTimeoutMs;
  long long starting_deadline_ms = -1;  // -1: unset (a missed run is always run once)
  int successful_history = 3;
  int failed_history = 3;
};

// The jobs of an app spec, defaults filled in (a valid spec: fields that do
// not parse keep their defaults).
std::vector<JobSpec> app_jobs(const nlohmann::json& spec);

// Errors of spec.app.jobs (called by validate_site for app sites).
void check_jobs(const nlohmann::json& app, std::vector<FieldError>& out);

}  // namespace wok::api
