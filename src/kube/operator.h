#pragma once
// The operator: informers on Projects, Sites and every kind they become;
// a de-duplicating, rate-limited work queue; level-based reconcilers that
// render, apply, prune and write status; and leader election so that only
// one replica acts.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/bounds.h"

#include "controllers/work_queue.h"
#include "kube/applier.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/leader_election.h"
#include "render/render.h"

namespace wok::kube {

// The render functions, replaceable in tests; by default render::render_*.
struct Renderer {
  std::function<std::vector<nlohmann::json>(const nlohmann::json& project,
                                            const render::PlatformSettings&)>
      project;
  std::function<std::vector<nlohmann::json>(const nlohmann::json& site,
                                            const nlohmann::json& project,
                                            const render::PlatformSettings&)>
      site;
};
Renderer default_renderer();

struct OperatorConfig {
  render::PlatformSettings settings;
  bool leader_elect = false;
  LeaseOptions lease;  // used when leader_elect
  int workers = 2;
  Renderer renderer = default_renderer();
  std::chrono::milliseconds resync{std::chrono::minutes(10)};
  // The admin's upper bounds on every site (--max-site-*); a site over them
  // is not applied and its status says which field and which bound.
  api::SiteBounds bounds{.command = "wok operator"};
  // Check each Site as `wok up`'s API server does before applying it: the
  // validator (field errors by path), the bounds, its project's host
  // patterns. Off only for tests whose fake renderer takes other shapes.
  bool check_sites = true;
  // Kubernetes follows git: each site's ref is resolved on its
  // source.git.interval into a mirror under `mirror_dir`; its pods fetch that
  // commit, so a new one rolls them. Off only for tests with fake URLs.
  bool follow_git = true;
  std::string mirror_dir = "/tmp/wok-mirrors";
  // file:// and path URLs: never on a cluster (they would read the
  // operator's own file system), except in tests.
  bool allow_local_sources = false;
};

class Operator {
 public:
  Operator(KubeClient& client, OperatorConfig config);
  ~Operator();
  void start();
  // Stops the workers and informers and releases the lease.
  void stop();

  // Every informer has listed once.
  bool synced() const;
  // Synced, and either leading or a standby that can see the lease.
  bool ready() const;
  bool leading() const { return leading_; }
  // Leadership was lost while running: the process should exit so that it
  // restarts as a clean standby (what client-go programs do).
  bool lost_leadership() const { return lost_leadership_; }
  std::string metrics() const;  // Prometheus text

 private:
  struct Outcome {
    std::string error;                        // retried with backoff
    std::chrono::milliseconds requeue_after{0};
  };

  void on_project(const ObjectPtr& old, const ObjectPtr& now);
  void on_site(const ObjectPtr& old, const ObjectPtr& now);
  void on_owned(const ObjectPtr& old, const ObjectPtr& now);
  void on_leading(bool leading);
  void enqueue_all();
  void work_loop();
  Outcome reconcile(const std::string& key);
  Outcome reconcile_project(const std::string& name);
  Outcome reconcile_site(const std::string& ns, const std::string& name);
  bool write_status(const nlohmann::json& site, const nlohmann::json& status, std::string* error);
  struct Followed {
    std::string commit;  // the last commit the ref resolved to ("" none yet)
    std::string error;   // why the last resolution failed
    std::chrono::milliseconds next{0};  // until the next one is due
  };
  Followed follow_git(const nlohmann::json& site);
  struct GitState {
    std::string url, ref, commit, error;
    std::chrono::steady_clock::time_point next{};
  };
  std::mutex git_mu_;
  std::map<std::string, GitState> git_;  // by "ns/name"
  std::chrono::milliseconds backoff(const std::string& key, bool failed);

  KubeClient& client_;
  OperatorConfig config_;
  std::unique_ptr<Informer> projects_, sites_;
  std::vector<std::unique_ptr<Informer>> owned_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<LeaderElector> elector_;
  controllers::WorkQueue queue_;
  std::vector<std::thread> workers_;
  std::atomic<bool> started_{false}, stopping_{false}, leading_{false}, lost_leadership_{false};
  std::mutex mu_;
  std::map<std::string, int> failures_;
  std::atomic<uint64_t> reconciles_{0}, errors_{0}, status_writes_{0};
};

}  // namespace wok::kube
