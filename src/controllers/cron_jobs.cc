#include "controllers/cron_jobs.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <fstream>

#include "api/cron.h"
#include "api/validation.h"
#include "controllers/workloads.h"
#include "render/plan.h"
#include "runtime/runtime.h"
#include "store/store.h"

namespace wok::controllers {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::sys_seconds;
using std::chrono::system_clock;

std::string rfc3339(sys_seconds t) {
  time_t tt = t.time_since_epoch().count();
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "2026-12-02T16:20:00Z" -> a time; nullopt for anything else.
std::optional<sys_seconds> parse_rfc3339(const std::string& text) {
  struct tm tm {};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) return std::nullopt;
  return sys_seconds(std::chrono::seconds(timegm(&tm)));
}

sys_seconds seconds_of(system_clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

// The last `tail` lines of a file (a run's log is at most max_output bytes).
json tail_lines(const fs::path& path, int tail) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  json out = json::array();
  size_t from =
      lines.size() > static_cast<size_t>(tail) ? lines.size() - static_cast<size_t>(tail) : 0;
  for (size_t i = from; i < lines.size(); ++i) out.push_back(std::move(lines[i]));
  return out;
}

std::string lower_reason(std::string reason) {
  for (char& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return reason;
}

}  // namespace

std::string job_run_id(const std::string& site_uid, const std::string& job, int64_t run) {
  return "cron." + site_uid + "." + job + ".n" + std::to_string(run);
}

CronJobs::CronJobs(store::Store& store, JobLauncher launcher, CronJobsOptions options)
    : store_(store),
      launcher_(std::move(launcher)),
      options_(std::move(options)),
      runs_(options_.max_running, options_.max_per_project) {}

CronJobs::~CronJobs() { stop(); }

void CronJobs::start() {
  if (controller_) return;
  reconcile::ControllerOptions options;
  options.name = "cron";
  options.workers = 1;  // one tick at a time, over every site
  controller_ =
      std::make_unique<reconcile::Controller>(std::move(options), [this](const std::string&) {
        if (stopping_.load()) return reconcile::Result::done();
        tick();  // what throws is a failed pass: logged, tried again after its backoff
        return reconcile::Result::after(options_.tick);
      });
  controller_->enqueue("every-site");
  controller_->start();
}

void CronJobs::stop() {
  stopping_.store(true);
  if (controller_) controller_->stop();
  std::lock_guard lock(mu_);
  for (auto& [uid, site] : sites_) {
    for (auto& [name, state] : site.jobs)
      for (int64_t n : state.active) runs_.cancel(job_run_id(uid, name, n));
  }
  sites_.clear();
}

fs::path CronJobs::log_dir(const std::string& uid, const std::string& job) const {
  const SiteState& s = sites_.at(uid);
  return options_.data_dir / "sites" / s.ns / s.name / uid / "jobs" / job;
}

void CronJobs::tick() {
  std::lock_guard lock(mu_);
  system_clock::time_point now = options_.clock();
  std::set<std::string> seen;
  for (const json& site : store_.list("Site")) {
    const json& spec = site.value("spec", json::object());
    if (!spec.is_object() || spec.value("mode", "") != "app") continue;
    tick_site(site, now, seen);
  }
  std::vector<std::string> gone;
  for (const auto& [uid, s] : sites_)
    if (!seen.count(uid)) gone.push_back(uid);
  for (const auto& uid : gone) forget_site(uid);
}

void CronJobs::forget_site(const std::string& uid) {
  for (auto& [name, state] : sites_[uid].jobs)
    for (int64_t n : state.active) runs_.cancel(job_run_id(uid, name, n));
  sites_.erase(uid);
}

void CronJobs::tick_site(const json& site, system_clock::time_point now,
                         std::set<std::string>& seen) {
  const std::string uid = site["metadata"].value("uid", "");
  const json& status = site.value("status", json::object());
  std::optional<store::Revision> live;
  for (auto& r : store_.revisions(uid)) {
    if (r.live) live = std::move(r);
  }
  // Jobs run with the live revision, and only while the site serves it (a
  // revision the reconciler withdrew, a local source no longer allowed,
  // has status.revision null).
  if (!live || !status.contains("revision") || status["revision"] != json(live->number)) return;
  json spec = json::parse(live->spec, nullptr, false);
  std::vector<api::JobSpec> jobs;  // the plan's (render/plan.h), as a CronJob's
  if (!spec.is_discarded())
    for (render::JobPlan& j :
         render::plan_site({{"metadata", site["metadata"]}, {"spec", spec}}).jobs)
      jobs.push_back(std::move(j.job));
  if (jobs.empty() && !status.contains("jobs")) return;
  seen.insert(uid);
  SiteState& s = sites_[uid];
  if (!s.loaded) {  // what a previous wok recorded: schedule times, run numbers
    s.ns = site["metadata"].value("namespace", "");
    s.name = site["metadata"].value("name", "");
    s.loaded = true;
    for (const json& j : status.value("jobs", json::array())) {
      if (!j.is_object()) continue;
      JobState& st = s.jobs[j.value("name", "")];
      st.last_schedule = parse_rfc3339(j.value("lastScheduleTime", "")).value_or(seconds_of(now));
      st.requests_handled = j.value("requestsHandled", int64_t{0});
      st.last_run = j.value("lastRun", int64_t{0});
      for (const json& r : j.value("runs", json::array())) {
        Run run{r.value("run", int64_t{0}),    r.value("reason", ""), r.value("startTime", ""),
                r.value("completionTime", ""), r.value("result", ""), r.value("exitCode", -1),
                r.value("message", "")};
        if (run.result == "Running") {  // wok stopped during it: end_job killed it
          run.result = "Failed";
          run.message = "interrupted: wok stopped during the run";
          run.end = rfc3339(seconds_of(now));
        }
        st.runs.push_back(std::move(run));
      }
    }
  }
  const json requests = status.value("jobRequests", json::object());
  std::set<std::string> names;
  for (const api::JobSpec& job : jobs) {
    names.insert(job.name);
    bool fresh = !s.jobs.count(job.name);
    JobState& st = s.jobs[job.name];
    if (fresh) st.last_schedule = seconds_of(now);  // a new job starts from now, not from the past
    collect(uid, job, st);
    std::string error;
    auto schedule = api::parse_cron(job.schedule, &error);
    if (schedule) {
      auto next = api::next_cron_time(*schedule, st.last_schedule);
      if (next && *next <= now) {
        // Down for a while: only the latest missed time counts (once).
        sys_seconds latest = *next;
        for (int i = 0; i < 1'000'000; ++i) {
          auto after = api::next_cron_time(*schedule, latest);
          if (!after || *after > now) break;
          latest = *after;
        }
        st.last_schedule = latest;
        auto late = now - latest;
        if (job.starting_deadline_ms > 0 &&
            late > std::chrono::milliseconds(job.starting_deadline_ms)) {
          st.message =
              "missed the run of " + rfc3339(latest) + ": it is " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(late).count()) +
              "s late, more than its startingDeadline";
        } else {
          launch(site, *live, job, st, "Scheduled", now);
        }
      }
    }
    int64_t wanted = requests.is_object() && requests.contains(job.name) &&
                             requests[job.name].is_number_integer()
                         ? requests[job.name].get<int64_t>()
                         : 0;
    if (wanted > st.requests_handled) {
      st.requests_handled = wanted;
      launch(site, *live, job, st, "Manual", now);
    }
  }
  // Jobs no longer in the live spec: their runs end.
  for (auto it = s.jobs.begin(); it != s.jobs.end();) {
    if (names.count(it->first)) {
      ++it;
      continue;
    }
    for (int64_t n : it->second.active) runs_.cancel(job_run_id(uid, it->first, n));
    it = s.jobs.erase(it);
  }
  json out = json::array();
  for (const api::JobSpec& job : jobs) out.push_back(status_of(job, s.jobs[job.name], now));
  if (status.value("jobs", json()) != out) {
    store_.patch_status("Site", s.ns, s.name, {{"jobs", out.empty() ? json(nullptr) : out}});
  }
}

void CronJobs::launch(const json& site, const store::Revision& live, const api::JobSpec& job,
                      JobState& st, const std::string& reason, system_clock::time_point now) {
  const std::string uid = site["metadata"].value("uid", "");
  const std::string ns = site["metadata"].value("namespace", "");
  const std::string when = rfc3339(seconds_of(now));
  // Allow with runs that never end: without a bound they would pile up
  // (queued behind the project's limit) minute after minute.
  if (job.concurrency_policy == "Allow" &&
      st.active.size() >= static_cast<size_t>(options_.max_active_per_job)) {
    st.message = "skipped a " + lower_reason(reason) + " run at " + when + ": " +
                 std::to_string(st.active.size()) +
                 " runs of this job are already active or queued (at most " +
                 std::to_string(options_.max_active_per_job) + ")";
    return;
  }
  if (!st.active.empty()) {
    if (job.concurrency_policy == "Forbid") {
      st.message = "skipped a " + lower_reason(reason) + " run at " + when + ": run " +
                   std::to_string(*st.active.rbegin()) +
                   " is still active (concurrencyPolicy Forbid)";
      return;
    }
    if (job.concurrency_policy == "Replace") {
      for (int64_t n : st.active) {
        runs_.cancel(job_run_id(uid, job.name, n));
        for (Run& r : st.runs) {
          if (r.number != n) continue;
          r.result = "Failed";
          r.end = when;
          r.message =
              "replaced by run " + std::to_string(st.last_run + 1) + " (concurrencyPolicy Replace)";
        }
      }
      st.active.clear();
    }
  }
  Run run;
  run.number = ++st.last_run;
  run.reason = reason;
  run.start = when;
  run.result = "Running";
  BuildOptions opts;
  opts.timeout = std::min(std::chrono::milliseconds(job.timeout_ms), options_.timeout_max);
  opts.max_output = options_.max_output;
  std::string error = launcher_(site, live, job, run.number, &opts);
  if (!error.empty()) {
    run.result = "Failed";
    run.end = when;
    run.message = error;
    st.message = "run " + std::to_string(run.number) + " could not start: " + error;
    st.runs.push_back(std::move(run));
    prune(uid, job, st);
    return;
  }
  st.message.clear();
  runs_.submit(job_run_id(uid, job.name, run.number), ns, std::move(opts));
  st.active.insert(run.number);
  st.runs.push_back(std::move(run));
}

void CronJobs::collect(const std::string& uid, const api::JobSpec& job, JobState& st) {
  std::vector<int64_t> done;
  for (int64_t n : st.active) {
    auto result = runs_.take(job_run_id(uid, job.name, n));
    if (!result) continue;
    done.push_back(n);
    for (Run& r : st.runs) {
      if (r.number != n) continue;
      r.end = rfc3339(seconds_of(options_.clock()));
      r.exit_code = result->exit_code;
      r.result = result->ok ? "Succeeded" : "Failed";
      std::string why = result->error;  // run_build speaks of builds: "build exited with status 7"
      if (why.starts_with("build ")) why = why.substr(6);
      r.message =
          result->ok ? ""
          : result->timed_out
              ? "killed at its timeout of " +
                    std::to_string(
                        std::min<long long>(job.timeout_ms, options_.timeout_max.count()) / 1000) +
                    "s"
              : why;
    }
    std::error_code ec;
    fs::create_directories(log_dir(uid, job.name), ec);
    std::ofstream(log_dir(uid, job.name) / (std::to_string(n) + ".log"), std::ios::binary)
        << result->output;
  }
  for (int64_t n : done) st.active.erase(n);
  if (!done.empty()) prune(uid, job, st);
}

void CronJobs::prune(const std::string& uid, const api::JobSpec& job, JobState& st) {
  int succeeded = 0, failed = 0;
  std::set<int64_t> dropped;
  for (auto it = st.runs.rbegin(); it != st.runs.rend(); ++it) {
    if (it->result == "Running") continue;
    int& count = it->result == "Succeeded" ? succeeded : failed;
    int keep = it->result == "Succeeded" ? job.successful_history : job.failed_history;
    if (++count > keep) dropped.insert(it->number);
  }
  std::error_code ec;
  for (int64_t n : dropped) fs::remove(log_dir(uid, job.name) / (std::to_string(n) + ".log"), ec);
  std::erase_if(st.runs, [&](const Run& r) { return dropped.count(r.number) > 0; });
}

json CronJobs::status_of(const api::JobSpec& job, const JobState& st,
                         system_clock::time_point now) const {
  json j = {{"name", job.name},
            {"schedule", job.schedule},
            {"concurrencyPolicy", job.concurrency_policy},
            {"lastScheduleTime", rfc3339(st.last_schedule)},
            {"active", st.active.size()},
            {"lastRun", st.last_run},
            {"requestsHandled", st.requests_handled}};
  std::string error;
  if (auto schedule = api::parse_cron(job.schedule, &error)) {
    if (auto next = api::next_cron_time(*schedule, std::max(st.last_schedule, seconds_of(now))))
      j["nextScheduleTime"] = rfc3339(*next);
  }
  if (!st.message.empty()) j["message"] = st.message;
  json runs = json::array();
  for (const Run& r : st.runs) {
    json run = {
        {"run", r.number}, {"reason", r.reason}, {"result", r.result}, {"startTime", r.start}};
    if (!r.end.empty()) run["completionTime"] = r.end;
    if (r.exit_code >= 0) run["exitCode"] = r.exit_code;
    if (!r.message.empty()) run["message"] = r.message;
    runs.push_back(std::move(run));
  }
  j["runs"] = std::move(runs);
  return j;
}

json CronJobs::logs(const std::string& ns, const std::string& site, const std::string& job,
                    int tail) {
  json items = json::array();
  auto object = store_.get("Site", ns, site);
  if (!object) return {{"kind", "JobLogs"}, {"items", items}};
  const std::string uid = (*object)["metadata"].value("uid", "");
  fs::path dir = options_.data_dir / "sites" / ns / site / uid / "jobs" / job;
  const json& status = object->value("status", json::object());
  for (const json& j : status.value("jobs", json::array())) {
    if (!j.is_object() || j.value("name", "") != job) continue;
    for (const json& r : j.value("runs", json::array())) {
      json item = r;
      item["lines"] = tail_lines(dir / (std::to_string(r.value("run", int64_t{0})) + ".log"), tail);
      items.push_back(std::move(item));
    }
  }
  return {{"kind", "JobLogs"}, {"job", job}, {"items", items}};
}

std::optional<runtime::InstanceSpec> job_instance(const WorkloadPlan& plan,
                                                  const render::JobPlan& job,
                                                  const std::string& site_uid, int64_t run,
                                                  std::string* error) {
  const runtime::InstanceSpec* component = nullptr;
  for (const auto& instance : plan.instances) {
    auto id = parse_instance_id(instance.id);
    if (id && id->component == job.run.name) {
      component = &instance;
      break;
    }
  }
  if (!component) {
    *error = "component \"" + job.run.name + "\" has no instance to copy";
    return std::nullopt;
  }
  if (component->uid == 0) {
    *error = "no sandbox uid is left for project \"" + component->project + "\"";
    return std::nullopt;
  }
  // The component's sandbox, env, files, volumes and network; the plan's argv.
  runtime::InstanceSpec spec = *component;
  spec.id = job_run_id(site_uid, job.job.name, run);
  spec.command = job.run.command;
  spec.port = 0;
  spec.health_path.clear();
  spec.probe_listening = false;
  spec.service.clear();
  spec.grace = std::chrono::seconds(2);
  spec.labels["wok.dev/job"] = job.job.name;
  return spec;
}

JobLauncher CronJobs::sandbox_launcher(
    store::Store& store, runtime::Runtime& runtime, fs::path data_dir, SecretReader read_secret,
    std::function<bool(const std::string&, const std::string&)> held) {
  return [&store, &runtime, data_dir, read_secret, held](
             const json& site, const store::Revision& live, const api::JobSpec& job, int64_t run,
             BuildOptions* opts) -> std::string {
    const std::string ns = site["metadata"].value("namespace", ""),
                      name = site["metadata"].value("name", "");
    // Nothing of a site runs on its volumes while a backup is put back there.
    if (held && held(ns, name)) return "the site is being restored from a backup";
    const std::string uid = site["metadata"].value("uid", "");
    json spec = json::parse(live.spec, nullptr, false);
    if (spec.is_discarded()) return "the live revision's spec does not parse";
    // A component kept at 0 replicas (a job's template only) still gives its sandbox.
    if (spec.contains("app") && spec["app"].is_object() && spec["app"].contains("components") &&
        spec["app"]["components"].is_array()) {
      for (json& c : spec["app"]["components"])
        if (c.is_object() && c.value("name", "") == job.component) c["replicas"] = 1;
    }
    auto project = store.get("Project", "", ns);
    bool egress = !project || api::project_egress(project->value("spec", json::object()));
    fs::path storage = data_dir / "sites" / ns / name / uid / "storage";
    WorkloadPlan plan = plan_workloads(ns, name, uid, spec, live.number, live.root,
                                       storage.string(), store.project_uid(ns), egress);
    if (!plan.error.empty()) return plan.error;
    const json planned_site = {{"metadata", site["metadata"]}, {"spec", spec}};
    // The component's secrets, as its instances get them (controllers/secret_env.h).
    if (std::string err = add_secret_env(planned_site, plan, read_secret); !err.empty()) return err;
    const render::SitePlan site_plan = render::plan_site(planned_site);
    const render::JobPlan* planned = nullptr;
    for (const auto& j : site_plan.jobs)
      if (j.job.name == job.name) planned = &j;
    if (!planned) return "job \"" + job.name + "\" is not in the live revision's plan";
    std::string why;
    auto spec_of_run = job_instance(plan, *planned, uid, run, &why);
    if (!spec_of_run) return why;
    if (std::string err = runtime.ensure_network(plan.network); !err.empty()) return err;
    std::string error;
    // What the run is (run_build checks it; the sandbox runs it): an image's
    // own entrypoint when the job gives no command.
    opts->command = spec_of_run->command.empty() ? std::vector<std::string>{spec_of_run->image}
                                                 : spec_of_run->command;
    opts->sandbox_command = runtime.prepare_job(*spec_of_run, &error);
    if (opts->sandbox_command.empty()) return error;
    opts->sandbox_end = [&runtime, id = spec_of_run->id] { runtime.end_job(id); };
    return "";
  };
}

}  // namespace wok::controllers
