#pragma once
// spec.app.jobs on `wok up`: the embedded CronJob controller. Once a second
// (tick) it looks at every app site's live revision and starts the runs that
// are due: the job's schedule (api/cron.h, UTC) or a `wok job run` request
// (status.jobRequests). A run is a one-shot in the sandbox of its component
// (Runtime::prepare_job: the project's uid, the live revision's files, env
// and site network), run by BuildJobs: at most `max_running` runs at once and
// `max_per_project` of one project, round-robin over projects, so one team's
// jobs never starve another's. The job's timeout (capped by the admin's
// `timeout_max`) kills every process of the run (Runtime::end_job).
//
// Like a Kubernetes CronJob: concurrencyPolicy Forbid skips a run due while
// one is active, Allow runs both, Replace stops the active one first. A
// schedule missed while wok was down is run once at start, unless the job
// has a startingDeadline and the last missed time is older than it (then it
// is recorded as missed). The output of each run (bounded: `max_output`) is
// kept in a file per run, the newest successfulJobsHistoryLimit successful
// and failedJobsHistoryLimit failed ones; status.jobs says for each job its
// last schedule time, next one, active runs and the kept runs' results.
// State that must survive a restart (last schedule time, run numbers,
// requests handled) lives in that status.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "api/jobs.h"
#include "controllers/build_jobs.h"
#include "controllers/secret_env.h"
#include "controllers/workloads.h"
#include "reconcile/controller.h"
#include "render/plan.h"

namespace wok::store {
class Store;
struct Revision;
}  // namespace wok::store

namespace wok::runtime {
class Runtime;
}

namespace wok::controllers {

// Makes `options` run job `job` of `site` (its live revision `live`) as run
// `run`: command or sandbox_command/sandbox_end. "" or why it cannot run.
using JobLauncher =
    std::function<std::string(const nlohmann::json& site, const store::Revision& live,
                              const api::JobSpec& job, int64_t run, BuildOptions* options)>;

struct CronJobsOptions {
  std::filesystem::path data_dir;  // run logs: DATA/sites/NS/NAME/UID/jobs/JOB/RUN.log
  int max_running = 4;
  int max_per_project = 2;
  int max_active_per_job = 5;  // concurrencyPolicy Allow: runs active or queued at once
  std::chrono::milliseconds timeout_max{std::chrono::hours(1)};  // over every job's timeout
  size_t max_output = 256 << 10;                                 // bytes kept per run
  std::chrono::milliseconds tick{1000};
  // Now, for the schedules (tests inject a fake clock).
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
};

class CronJobs {
 public:
  CronJobs(store::Store& store, JobLauncher launcher, CronJobsOptions options);
  ~CronJobs();  // stop()
  CronJobs(const CronJobs&) = delete;
  CronJobs& operator=(const CronJobs&) = delete;

  // tick() every options.tick, as the one key of a reconcile::Controller
  // ("cron": its passes, errors and durations in wok_reconcile_*).
  void start();
  void stop();  // and cancels every run (their sandboxes end)
  // One pass over every site: start due runs, collect finished ones, write
  // status. Public for tests, which call it with their clock.
  void tick();
  // The kept runs of a job, oldest first, each with the last `tail` lines
  // of its output: {"kind": "JobLogs", "items": [{run, reason, result,
  // exitCode, startTime, completionTime, lines}]}.
  nlohmann::json logs(const std::string& ns, const std::string& site, const std::string& job,
                      int tail);
  int running_count() const { return runs_.running_count(); }

  // The production launcher: the job runs in its component's sandbox of
  // the live revision (the component's instance spec, its command replaced
  // by the job's), on the site's network, with its component's secrets
  // read when the run starts (as a Kubernetes Job's pod reads its Secrets
  // when it is created; `read_secret` unset: a job whose component names a
  // secret does not run, saying so).
  static JobLauncher sandbox_launcher(
      store::Store& store, runtime::Runtime& runtime, std::filesystem::path data_dir,
      SecretReader read_secret = {},
      std::function<bool(const std::string& ns, const std::string& site)> held = {});

 private:
  struct Run {
    int64_t number = 0;
    std::string reason;      // Scheduled, Manual, Missed
    std::string start, end;  // RFC 3339
    std::string result;      // Running, Succeeded, Failed
    int exit_code = -1;
    std::string message;
  };
  struct JobState {
    std::chrono::sys_seconds last_schedule{};
    int64_t requests_handled = 0;
    int64_t last_run = 0;
    std::vector<Run> runs;  // kept runs and active ones, oldest first
    std::set<int64_t> active;
    std::string message;  // the last skip or launch failure
  };
  struct SiteState {
    std::string ns, name;
    std::map<std::string, JobState> jobs;
    bool loaded = false;
  };
  void tick_site(const nlohmann::json& site, std::chrono::system_clock::time_point now,
                 std::set<std::string>& seen);
  void launch(const nlohmann::json& site, const store::Revision& live, const api::JobSpec& job,
              JobState& state, const std::string& reason,
              std::chrono::system_clock::time_point now);
  void collect(const std::string& uid, const api::JobSpec& job, JobState& state);
  void prune(const std::string& uid, const api::JobSpec& job, JobState& state);
  std::filesystem::path log_dir(const std::string& uid, const std::string& job) const;
  nlohmann::json status_of(const api::JobSpec& job, const JobState& state,
                           std::chrono::system_clock::time_point now) const;
  void forget_site(const std::string& uid);

  store::Store& store_;
  JobLauncher launcher_;
  CronJobsOptions options_;
  std::mutex mu_;                           // one tick at a time; guards sites_
  std::map<std::string, SiteState> sites_;  // by uid
  std::atomic<bool> stopping_{false};
  std::unique_ptr<reconcile::Controller> controller_;

 public:
  const reconcile::Controller* controller() const {
    return controller_.get();
  }  // null before start()

 private:
  BuildJobs runs_;  // declared last: destroyed (runs cancelled) first
};

// "cron.UID.JOB.nRUN": the runtime id of a run (never parsed as an
// instance id: workloads' sweeps leave it alone).
std::string job_run_id(const std::string& site_uid, const std::string& job, int64_t run);

// Pure: the sandbox of run `run` of a planned job (render::JobPlan): the
// instance `plan` gives its component (image, env, volumes, limits,
// network) with the plan's argv, no port. nullopt and why when the
// component has no instance to copy.
std::optional<runtime::InstanceSpec> job_instance(const WorkloadPlan& plan,
                                                  const render::JobPlan& job,
                                                  const std::string& site_uid, int64_t run,
                                                  std::string* error);

}  // namespace wok::controllers
