#pragma once
// Site builds run off the reconcile workers, fairly across projects. A build
// may take minutes (or hang until its time limit): run on a reconcile worker
// it kept every other team's deploys waiting. Here each build has its own
// thread; at most `max_running` run at once and at most `max_per_project` of
// one project, the next one started in round-robin order over projects. The
// reconciler stays level-based: it submits, then looks again (state/take)
// on its next passes.
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "controllers/build_runner.h"

namespace wok::controllers {

class BuildJobs {
 public:
  BuildJobs(int max_running, int max_per_project);
  ~BuildJobs();  // cancels every build and waits for them
  BuildJobs(const BuildJobs&) = delete;
  BuildJobs& operator=(const BuildJobs&) = delete;

  // Queues the build of `key` (a site); it starts when the limits allow.
  // A build already known for `key` is cancelled first.
  void submit(const std::string& key, const std::string& project, BuildOptions options);
  bool known(const std::string& key) const;
  bool running(const std::string& key) const;  // false while queued
  // The result once the build is over (forgotten then); nullopt before.
  std::optional<BuildResult> take(const std::string& key);
  // Kills a running build (or drops a queued one) and waits until it is
  // over; its result is discarded.
  void cancel(const std::string& key);
  int running_count() const;
  // What the build of `key` printed so far ("" while queued); nullopt when
  // there is none (never submitted, or taken).
  std::optional<std::string> output(const std::string& key) const;

 private:
  struct Job {
    std::string project;
    BuildOptions options;
    std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
    bool started = false, done = false;
    BuildResult result;
    std::thread thread;
    // Its output so far (options.on_output appends here, on its thread).
    struct Live {
      std::mutex mu;
      std::string text;
    };
    std::shared_ptr<Live> live = std::make_shared<Live>();
  };
  void start_next_locked();
  void run(const std::string& key, Job* job);

  const int max_running_, max_per_project_;
  mutable std::mutex mu_;
  std::condition_variable finished_;
  std::map<std::string, std::unique_ptr<Job>> jobs_;
  std::deque<std::string> order_;  // queued keys, oldest first
  std::string last_project_;       // round robin: the project started last
  std::map<std::string, int> running_per_project_;
  int running_ = 0;
};

}  // namespace wok::controllers
