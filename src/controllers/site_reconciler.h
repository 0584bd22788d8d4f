#pragma once
// The Site reconciler (level-based, controller-runtime's shape): given a
// site's key it reads the current state, fetches and builds what the spec
// asks for into a new immutable revision, switches the router to it, and
// reports in status. A failed fetch or build leaves the live revision serving.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controllers/autoscaler.h"
#include "controllers/backups.h"
#include "controllers/build_jobs.h"
#include "controllers/secret_env.h"

namespace wok::store {
class Store;
struct Revision;
}  // namespace wok::store

namespace wok::runtime {
class Runtime;
}
namespace wok::certs {
class CertificateOrderer;
class LocalCa;
}  // namespace wok::certs

namespace wok::controllers {

class RoutePublisher;
class SiteCertificates;
class Workloads;
struct WorkloadPlan;
struct BuildOptions;

struct ReconcileResult {
  std::string error;                           // non-empty: retried with backoff
  std::chrono::milliseconds requeue_after{0};  // 0: only on the next change
};

struct PlatformConfig {
  std::string data_dir;         // sites live in data_dir/sites/<project>/<site>/<uid>
  std::string public_url_port;  // ":8080", or "" for port 80, used in status URLs
  // The TLS listener (wok up --listen-tls): ":8443", or "" for port 443, in
  // status URLs; unset: none, and spec.tls is not acted on.
  std::optional<std::string> public_tls_url_port;
  // The issuers of spec.tls mode auto: an ACME CA (wok up
  // --acme-directory; null: none) for public names, wok's local CA for the
  // rest (null: none); see SiteCertificates.
  const certs::LocalCa* local_ca = nullptr;
  certs::CertificateOrderer* acme = nullptr;
  int64_t certificate_renew_after_s = 0;  // tests of renewal (WOK_CERT_RENEW_AFTER_S)
  // Asks for a pass over site ns/name (set by SiteController): a
  // certificate ordered in the background has arrived or failed.
  std::function<void(const std::string& ns, const std::string& name)> wake_site;
  // Runs php and app sites' instances; nullptr: such sites fail to deploy.
  runtime::Runtime* runtime = nullptr;
  // A new revision's instances must be ready within this, else it fails.
  std::chrono::milliseconds ready_timeout{120'000};
  // Old instances keep running this long after the route moved away.
  std::chrono::milliseconds drain{1'000};
  // php and app sites are looked at this often (crashes, restarts, pids).
  std::chrono::milliseconds workload_resync{2'000};
  // Builds (in the runtime's sandbox when `runtime` is set): the admin's
  // wall-clock ceiling over every spec's build.timeout, and the cgroup
  // limits of one build.
  std::chrono::milliseconds build_timeout_max{15 * 60'000};
  int64_t build_memory_bytes = 2ll << 30;
  int64_t build_cpu_millis = 2000;
  int64_t build_pids = 1024;
  int64_t build_tmp_bytes = 512ll << 20;
  // The disk of a site's builds, checkout and cache together (build_disk.h).
  uint64_t build_disk_bytes = 2ull << 30;
  // Builds run at most this many at once, and this many of one project:
  // one team's slow builds never hold another team's deploys.
  int builds_running_max = 2;
  int builds_per_project_max = 1;
  // Remote fetches may reach loopback, link-local and private networks
  // (the admin's `wok up --allow-private-sources`).
  bool allow_private_sources = false;
  // Before every fetch: "" when the site (spec and status) may read the
  // local sources it names, else why not (its status then says so).
  // Unset: any may.
  std::function<std::string(const nlohmann::json& site)> check_local_sources;
  // The values of a project's secret (spec.app.components[].secrets), or
  // nullopt and why; unset: a site naming one does not deploy.
  std::function<std::optional<std::map<std::string, std::string>>(
      const std::string& ns, const std::string& name, std::string* error)>
      read_secret;
  // spec.database: makes the project's secret `name` holding `data` unless a
  // secret of that name exists (a member's own password is kept); "" or why
  // not. Unset: the secret must be made by hand.
  std::function<std::string(const std::string& ns, const std::string& name,
                            const std::map<std::string, std::string>& data)>
      create_secret;
  // spec.app.autoscale: the router's count of a site's requests since start
  // (unset: requests per second are unknown), and how long a lower
  // recommendation must hold before replicas go (Kubernetes' default).
  std::function<uint64_t(const std::string& ns, const std::string& site)> requests_total;
  std::chrono::milliseconds autoscale_down_window{300'000};
  // Backups (wok backup, spec.cloneFrom); null: a clone fails saying so.
  Backups* backups = nullptr;
};

class SiteReconciler {
 public:
  SiteReconciler(store::Store& store, RoutePublisher& routes, PlatformConfig config);
  ~SiteReconciler();
  ReconcileResult reconcile(const std::string& ns, const std::string& name);
  // The build under way for site ns/name: its revision and what it printed
  // so far; nullopt when none is.
  std::optional<std::pair<int64_t, std::string>> build_output(const std::string& ns,
                                                              const std::string& name);
  // Stops instances of sites not in `sites` ("ns/name"); at controller start.
  void sweep_instances(const std::set<std::string>& sites);
  // At controller start, before the platform says it is ready: routes a
  // static site's live revision, so a restarted platform serves what it
  // served without waiting for the first reconcile (php and app sites need
  // their instances ready first: the reconcile routes them).
  void serve_live(const nlohmann::json& site);
  // Ends the work it does on threads of its own (certificate orders); after
  // the passes have stopped.
  void stop_background();
  // wok backup restore, in place: with no pass of the site running and its
  // hosts answering 503 "being restored", stops its instances, puts back the
  // volumes, services' data and database of `backup` (whose /backup.json is
  // `manifest`), and makes its revision (spec, commit) the one to run; the
  // 503 ends once that revision's instances are ready again. The caller
  // checked that the spec may run here (hosts, quota) as for a rollback.
  // While it runs, status.restoring ({backup, preRestoreBackup, since})
  // says so in the store: a restore cut short by wok's end (kill -9) is
  // finished at the next start (serve_live keeps the 503 on; the first
  // pass of the site starts resume_restore), from the same backup, with
  // the pre-restore backup already made. `resumed`: that record.
  std::optional<nlohmann::json> restore(const std::string& ns, const std::string& name,
                                        const BackupInfo& backup, const nlohmann::json& manifest,
                                        BackupError* error,
                                        const nlohmann::json* resumed = nullptr);

 private:
  // spec.access and spec.tls of the site's current spec, for every route it has.
  void publish_access(const nlohmann::json& site);
  struct FetchState {  // in memory: a restart simply fetches again
    int64_t generation = -1;
    int64_t refresh_seen = -1;
    std::string commit;
    std::chrono::steady_clock::time_point next_fetch;
    std::string author;  // of `commit`, for the revision a fetch makes
  };
  struct Desired {
    std::string commit;
    std::string error;
    std::chrono::milliseconds requeue_after{0};
  };
  Desired desired_commit(const nlohmann::json& site, const std::string& site_dir,
                         FetchState& state);
  // Makes a new revision live; returns "" or why it failed.
  std::string deploy(const nlohmann::json& site, const std::string& site_dir,
                     const std::string& commit, const std::string& spec_text, int64_t* number);
  // Ready is True while a revision serves; last_error nullopt leaves it as is.
  void write_status(const nlohmann::json& site, const std::optional<store::Revision>& live,
                    const std::string& reason, const std::string& message,
                    const std::optional<std::string>& last_error);
  // Why `live` may no longer run or be routed, "" when it may: a local
  // source outside today's allow-list that the platform admin did not
  // write (the approval is by generation, the revision's), or an image
  // registry on a private network without --allow-private-sources.
  std::string live_refusal(const nlohmann::json& site, const store::Revision& live);
  // spec.app.autoscale of the live revision: measures the scaled
  // component's instances (CPU) and the router's requests, and decides how
  // many run (plan_for applies it).
  void autoscale(const nlohmann::json& site, const store::Revision& live);
  void collect_garbage(const std::string& uid, const std::string& site_dir);
  // A revision whose build runs in BuildJobs: what publishing it needs.
  struct PendingBuild {
    std::string ns, name;
    int64_t number = 0;
    std::string commit, spec_text;
    std::filesystem::path work, base;  // work-N/, and the source path in its checkout
  };
  // Publishes a checked-out (and, with `build`, built) revision: checks its
  // paths, starts its instances, routes it. "" or why it failed.
  std::string publish_revision(const nlohmann::json& site, const std::string& site_dir,
                               const PendingBuild& p, const BuildResult* build);
  ReconcileResult after_deploy(const nlohmann::json& site, const std::string& site_dir,
                               const std::string& error, int64_t number,
                               std::chrono::milliseconds requeue_after);
  // Makes `opts` run the build in a sandbox of the runtime: checkout at /src
  // (writable, handed to the project's uid), cache_dir at /cache (HOME).
  std::string sandbox_build(const std::string& ns, const std::string& name, int64_t number,
                            const std::filesystem::path& checkout, const std::string& sub,
                            const std::string& cache_dir, const nlohmann::json& spec,
                            BuildOptions* opts);
  // Whether the project's sites may reach the internet (spec.network.egress).
  bool project_egress(const std::string& ns);
  // The instances of a php or app revision; nullopt for a static one.
  std::optional<WorkloadPlan> plan_for(const nlohmann::json& site, int64_t number,
                                       const std::string& root, const std::string& spec_text);
  // Starts a new revision's instances (if any) and waits until they are
  // ready: "" or why not, with them stopped again.
  std::string start_workloads(const nlohmann::json& site, int64_t number, const std::string& root,
                              const std::string& spec_text);
  // spec.cloneFrom, before the first revision's components start: fills the
  // site's (new, empty) volumes, services' data and database from the
  // backup. "" or why not.
  std::string seed_clone(const nlohmann::json& site, const nlohmann::json& spec,
                         const WorkloadPlan& plan);
  // Whether `site` (with no live revision) is a clone whose data is not in
  // yet.
  bool needs_seed(const nlohmann::json& site) const;
  // seed_clone of site ns/name (uid) in a thread of its own, which holds
  // the site's lock throughout (its passes wait: reconcile's try_lock), so
  // that a large backup never holds one of the controller's few workers.
  // The outcome goes into seeded_.
  void seed_in_background(const std::string& ns, const std::string& name, const std::string& uid);
  // Puts `backup` (of project `source_ns`, its /backup.json `manifest`)
  // into `site` whose spec is `spec`: the volumes and services both name,
  // and the database (of the same engine; its server started from `plan`).
  // `restored` says what is back, also when it fails midway. "" or why not.
  std::string restore_data(const nlohmann::json& site, const nlohmann::json& spec,
                           const std::string& source_ns, const BackupInfo& backup,
                           const nlohmann::json& manifest, const WorkloadPlan* plan,
                           nlohmann::json* restored);
  // Starts the servers (database, services) of `plan` alone and waits until
  // they are ready: "" or why not.
  std::string start_servers(const WorkloadPlan& plan);
  // The lock a pass of site "ns/name" holds; restore() holds it throughout.
  std::mutex& site_lock(const std::string& key);
  // Finishes the restore status.restoring of site ns/name records (a
  // thread of its own, joined by stop_background); on failure the site
  // runs as the cut restore left it, an event and its log saying where
  // its former data is.
  void resume_restore(const std::string& ns, const std::string& name, const nlohmann::json& record);
  // Routes to a revision (its files, or its ready instances) and stops the
  // site's other instances after `drain`.
  void route_to(const nlohmann::json& site, int64_t number, const std::string& root,
                const std::string& spec_text, std::chrono::milliseconds drain);

  store::Store& store_;
  RoutePublisher& routes_;
  PlatformConfig config_;
  std::unique_ptr<Workloads> workloads_;  // null without a runtime
  std::mutex mu_;
  std::map<std::string, FetchState> fetch_;      // by uid
  std::map<std::string, PendingBuild> pending_;  // by uid, guarded by mu_
  // By uid: the live revision's number and whether its images' registries
  // may be pulled from (resolved once per revision and process, not on each
  // resync); guarded by mu_.
  std::map<std::string, std::pair<int64_t, std::string>> live_registries_;
  Autoscaler autoscaler_;
  // spec.access.basicAuth that could not be read, by "ns/name" (guarded by
  // mu_): said as AccessReady=False.
  std::map<std::string, std::string> login_errors_;
  std::unique_ptr<SiteCertificates> certificates_;                 // null without a TLS listener
  std::map<std::string, std::unique_ptr<std::mutex>> site_locks_;  // guarded by mu_
  PlannedSecrets planned_secrets_;  // the secret values each revision started with
  // Restores cut short that serve_live found ("ns/name" -> status.restoring),
  // until resume_restore holds the site; guarded by mu_.
  std::map<std::string, std::string> to_resume_;
  std::set<std::string> resuming_;     // resume_restore started; guarded by mu_
  std::vector<std::thread> resumers_;  // guarded by mu_; and seed_in_background's
  // A clone seeded by seed_in_background: its site's uid -> "" (seeded, or
  // nothing to seed) or why the seeding failed, which its first revision
  // fails with (start_workloads takes it). Guarded by mu_.
  std::map<std::string, std::string> seeded_;
  BuildJobs builds_;  // declared last: destroyed (builds cancelled) first
};

}  // namespace wok::controllers
