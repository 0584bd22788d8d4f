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
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/bounds.h"
#include "kube/applier.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/leader_election.h"
#include "kube/site_status.h"
#include "reconcile/controller.h"
#include "render/render.h"
#include "store/site_events.h"

namespace wok::kube {

// The render functions, replaceable in tests; by default render::render_*.
struct Renderer {
  std::function<std::vector<nlohmann::json>(const nlohmann::json& project,
                                            const render::PlatformSettings&)>
      project;
  std::function<std::vector<nlohmann::json>(
      const nlohmann::json& site, const nlohmann::json& project, const render::PlatformSettings&)>
      site;
};
Renderer default_renderer();

// spec.database and spec.services: the Secrets SITE-db and SITE-NAME
// (username, password) made with a random password when they do not exist;
// one that exists (made before, or the project's own) is kept. "" or why not.
std::string ensure_database_secret(KubeClient& client, const nlohmann::json& site);

struct OperatorConfig {
  render::PlatformSettings settings;
  bool leader_elect = false;
  LeaseOptions lease;  // used when leader_elect
  // Where the operator runs: the grants of clones from another project
  // (kube/clone_grant.h) are there.
  std::string own_namespace = "wok-system";
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
  // A refresh (the wok.dev/refresh annotation, a push webhook) fetches at
  // once, but at most once per this gap per site: a member rewriting the
  // annotation in a loop makes the operator fetch once a second, not once
  // per write (as the webhooks' one-second window on wok up).
  std::chrono::milliseconds min_refresh_gap{1000};
  // file:// and path URLs: never on a cluster (they would read the
  // operator's own file system), except in tests.
  bool allow_local_sources = false;
  // Each deployed (spec, commit) pair is recorded as a ControllerRevision
  // in the site's namespace, at most this many kept (kube/site_revisions.h);
  // `wok rollout undo` pins one. Off only for tests that count every write.
  bool record_revisions = true;
  int revision_history_limit = 10;
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
  // The Site as the informer last saw it (null when there is none): what
  // the webhook listener looks up, on a standby as on the leader.
  ObjectPtr site(const std::string& ns, const std::string& name) const {
    return sites_->get(ns, name);
  }
  // The informers' Projects and Sites: what the admission webhook judges a
  // Site against, on a standby as on the leader.
  ObjectPtr project(const std::string& name) const { return projects_->get("", name); }
  std::vector<ObjectPtr> sites() const { return sites_->list(); }
  // Synced, and either leading or a standby that can see the lease.
  bool ready() const;
  bool leading() const { return leading_; }
  // Leadership was lost while running: the process should exit so that it
  // restarts as a clean standby (what client-go programs do).
  bool lost_leadership() const { return lost_leadership_; }
  std::string metrics() const;  // Prometheus text
  // Resolves the site's git ref now instead of at its interval (what the
  // wok.dev/refresh annotation does; for push webhooks too).
  void refresh(const std::string& ns, const std::string& name);

 private:
  struct Outcome {
    std::string error;  // retried with backoff
    std::chrono::milliseconds requeue_after{0};
  };

  void on_project(const ObjectPtr& old, const ObjectPtr& now);
  void on_site(const ObjectPtr& old, const ObjectPtr& now);
  // Takes out of `desired` (site `site` of namespace ns) the objects whose
  // kind and name another site of ns already has; "" when none, else what
  // to say (status and event NameConflict).
  std::string name_conflict(std::vector<nlohmann::json>& desired, const std::string& ns,
                            const std::string& site) const;
  void on_owned(const ObjectPtr& old, const ObjectPtr& now);
  void on_leading(bool leading);
  void enqueue_all();
  reconcile::Result pass(const std::string& key);
  Outcome reconcile(const std::string& key);
  Outcome reconcile_project(const std::string& name);
  static constexpr char kCloneGrantsKey[] = "clone-grants";
  Outcome sweep_grants();
  Outcome reconcile_site(const std::string& ns, const std::string& name);
  // Writes the status, then the events its change says and `events`
  // (kube/site_events.h).
  bool write_status(const nlohmann::json& site, const nlohmann::json& status,
                    std::vector<store::SiteEvent> events, std::string* error);
  struct Followed {
    std::string commit;                 // the last commit the ref resolved to ("" none yet)
    std::string error;                  // why the last resolution failed
    std::chrono::milliseconds next{0};  // until the next one is due
  };
  Followed follow_git(const nlohmann::json& site);
  struct GitState {
    std::string url, ref, commit, error;
    std::chrono::steady_clock::time_point next{};
    std::chrono::steady_clock::time_point fetched{};  // the last fetch
  };
  // A refresh: due now, or once min_refresh_gap has passed since the last fetch.
  void refresh_due(GitState& state) const;
  std::atomic<uint64_t> git_fetches_{0};
  std::mutex git_mu_;
  std::map<std::string, GitState> git_;  // by "ns/name"

  // Revisions (operator_revisions.cc): what a site deploys (its spec and
  // ref, or a pinned revision's spec and commit) and its revision number.
  struct Deploy {
    nlohmann::json site;  // what to render: the spec to deploy, status.commit
    Followed followed;
    int64_t revision = 0;            // the number stamped into the pod templates
    nlohmann::json record;           // a new ControllerRevision to write, or null
    int64_t pinned = 0;              // a rollback's revision being deployed
    std::string pin_note;            // why a wok.dev/rollback-to is not honoured
    std::vector<std::string> prune;  // ControllerRevisions over the limit
    bool recorded = false;           // applied, and its revision written
  };
  // check(site) is the operator's check of a Site ("" when it passes), run
  // again on a pinned revision's spec. Sets *blocker when nothing may be applied.
  Deploy plan_deploy(const nlohmann::json& site,
                     const std::function<std::string(const nlohmann::json&)>& check,
                     Blocker* blocker);
  // After a successful apply: writes the new revision, prunes the old ones.
  bool record_revision(Deploy& deploy, std::string* error);
  // The revision fields and the Pinned condition of the status.
  void revision_status(const nlohmann::json& site, const Deploy& deploy,
                       nlohmann::json& status) const;
  void honour_refresh(const nlohmann::json& site);
  std::map<std::string, std::string> refresh_seen_;  // by "ns/name", under git_mu_
  std::set<std::string> repositories_;  // projects seen with a backup repository, under git_mu_

  KubeClient& client_;
  OperatorConfig config_;
  std::unique_ptr<Informer> projects_, sites_;
  std::vector<std::unique_ptr<Informer>> owned_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<LeaderElector> elector_;
  std::unique_ptr<reconcile::Controller> controller_;
  std::atomic<bool> started_{false}, stopping_{false}, leading_{false}, lost_leadership_{false};
  std::atomic<uint64_t> reconciles_{0}, errors_{0}, status_writes_{0}, events_{0};
};

}  // namespace wok::kube
