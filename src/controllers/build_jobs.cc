#include "controllers/build_jobs.h"

#include <algorithm>

namespace wok::controllers {

BuildJobs::BuildJobs(int max_running, int max_per_project)
    : max_running_(std::max(1, max_running)), max_per_project_(std::max(1, max_per_project)) {}

BuildJobs::~BuildJobs() {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, job] : jobs_) keys.push_back(key);
  }
  for (const auto& key : keys) cancel(key);
}

void BuildJobs::submit(const std::string& key, const std::string& project, BuildOptions options) {
  cancel(key);
  std::lock_guard lock(mu_);
  auto job = std::make_unique<Job>();
  job->project = project;
  job->options = std::move(options);
  job->options.cancel = job->cancelled;
  job->options.on_output = [live = job->live,
                            before = std::move(job->options.on_output)](std::string_view piece) {
    {
      std::lock_guard hold(live->mu);
      live->text.append(piece);
    }
    if (before) before(piece);
  };
  jobs_[key] = std::move(job);
  order_.push_back(key);
  start_next_locked();
}

void BuildJobs::start_next_locked() {
  while (running_ < max_running_ && !order_.empty()) {
    // Round robin over projects: the first queued build of the first project
    // after the one started last (in name order), skipping full projects.
    std::map<std::string, std::string> first_of;  // project -> its oldest queued key
    for (const auto& key : order_) {
      const std::string& p = jobs_.at(key)->project;
      if (running_per_project_[p] < max_per_project_ && !first_of.count(p)) first_of[p] = key;
    }
    if (first_of.empty()) return;
    auto next = first_of.upper_bound(last_project_);
    if (next == first_of.end()) next = first_of.begin();
    std::string key = next->second;
    order_.erase(std::find(order_.begin(), order_.end(), key));
    Job* job = jobs_.at(key).get();
    job->started = true;
    last_project_ = job->project;
    running_per_project_[job->project]++;
    running_++;
    job->thread = std::thread([this, key, job] { run(key, job); });
  }
}

void BuildJobs::run(const std::string& key, Job* job) {
  BuildResult result = run_build(job->options);
  std::lock_guard lock(mu_);
  job->result = std::move(result);
  job->done = true;
  running_per_project_[job->project]--;
  running_--;
  start_next_locked();
  finished_.notify_all();
  (void)key;
}

bool BuildJobs::known(const std::string& key) const {
  std::lock_guard lock(mu_);
  return jobs_.count(key) > 0;
}

bool BuildJobs::running(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(key);
  return it != jobs_.end() && it->second->started && !it->second->done;
}

std::optional<std::string> BuildJobs::output(const std::string& key) const {
  std::shared_ptr<Job::Live> live;
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) return std::nullopt;
    live = it->second->live;
  }
  std::lock_guard hold(live->mu);
  return live->text;
}

int BuildJobs::running_count() const {
  std::lock_guard lock(mu_);
  return running_;
}

std::optional<BuildResult> BuildJobs::take(const std::string& key) {
  std::unique_ptr<Job> job;
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(key);
    if (it == jobs_.end() || !it->second->done) return std::nullopt;
    job = std::move(it->second);
    jobs_.erase(it);
  }
  if (job->thread.joinable()) job->thread.join();
  return std::move(job->result);
}

void BuildJobs::cancel(const std::string& key) {
  std::unique_ptr<Job> job;
  {
    std::unique_lock lock(mu_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) return;
    Job* j = it->second.get();
    if (!j->started) {
      order_.erase(std::find(order_.begin(), order_.end(), key));
      // Never started: its prepared sandbox is cleaned up all the same.
      if (j->options.sandbox_end) {
        auto end = std::move(j->options.sandbox_end);
        jobs_.erase(it);
        lock.unlock();
        end();
        return;
      }
    } else {
      j->cancelled->store(true);
      finished_.wait(lock, [j] { return j->done; });
    }
    job = std::move(it->second);
    jobs_.erase(it);
  }
  if (job->thread.joinable()) job->thread.join();
}

}  // namespace wok::controllers
