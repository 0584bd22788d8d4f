#pragma once
// A site's backups on a cluster (docs/data.md, "On Kubernetes"), the
// operator's part: the project's repository (the claim render::kBackupClaim
// and the key render::kBackupKeySecret) made once, and a backup by hand, which
// `wok backup create --kubeconfig` asks for with the annotation
// kBackupRequestAnnotation and the operator makes as a Job of the site's
// CronJob "SITE-backup" (render/backup.cc). A member's role only patches
// the Site: nobody but the operator makes pods of the backup's template.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kube/client.h"
#include "render/render.h"

namespace wok::kube {

// The annotation's value is the request's token (its time, RFC 3339).
inline constexpr char kBackupRequestAnnotation[] = "wok.dev/backup-request";

// The Job of a request: "SITE-backup-" and 8 hex digits of the token's
// FNV-1a hash (the CLI names it before the operator makes it; a request
// seen again after a restart finds its Job made).
std::string backup_job_name(const std::string& site, const std::string& token);

// The project's repository claim and key, made when missing (never
// labelled as wok's: never pruned, they outlive the sites they back up).
// "" or why not.
// With an S3 store (settings.backup_repository) no claim: the Secret
// render::kBackupStoreSecret instead, the credentials Secret of the
// operator's namespace copied with the repository's URL ({project}:
// NS.PROJECT_UID, as wok up names a project's repository), made again when
// either changed (or a member edited it).
std::string ensure_backup_repository(KubeClient& client, const std::string& ns,
                                     const std::string& project_uid,
                                     const render::PlatformSettings& settings);

// The operator's --backup-repository and --backup-credentials-secret: ""
// (claims), or an s3: URL holding {project} with a Secret's name; else why not.
std::string check_backup_store(const std::string& repository, const std::string& credentials);

// The Job `name` of the backup CronJob `cron_job`'s template, its
// `--reason` manual instead of scheduled.
nlohmann::json manual_backup_job(const nlohmann::json& cron_job, const std::string& name);

// The site's backup status on a cluster (status.backup): its schedule, the
// last request honoured and its Job, and what failed. `cron_job` is the
// rendered CronJob; `old` the status.backup before. Makes the repository
// and, for a new request, the Job.
// `grant_ns`: where the webhook records backup deletions' grants.
nlohmann::json reconcile_backup(KubeClient& client, const nlohmann::json& site,
                                const nlohmann::json& cron_job, const nlohmann::json& old,
                                const std::string& project_uid,
                                const render::PlatformSettings& settings,
                                const std::string& grant_ns);

// `wok backup list --kubeconfig`: the request's token; the operator makes
// the Job "SITE-list-HASH" (render::render_list_job), whose log the CLI reads.
inline constexpr char kBackupListAnnotation[] = "wok.dev/backup-list-request";
std::string list_job_name(const std::string& site, const std::string& token);

// `wok backup list --kubeconfig` without a site (the project's list, deleted
// sites' backups too): the request rides on one of the project's sites that
// keeps data (a member may patch a Site, nothing of the project itself); the
// Job "wok.backup-list-HASH" lists the whole repository. A project whose
// sites are all gone is listed by its last sweep (render::kBackupSweep),
// which the operator runs when a site is deleted.
inline constexpr char kProjectBackupListAnnotation[] = "wok.dev/project-backup-list-request";
std::string project_list_job_name(const std::string& token);

// `wok backup restore site GONE --to NEW --kubeconfig` of a deleted site: the
// backup's spec, read by a Job "wok.backup-show-HASH" (render::render_show_job)
// asked through a site of the project as kBackupListAnnotation's project
// list is: kBackupShowRequestAnnotation the token, kBackupShowAnnotation
// "SITE/ID" (a DNS label and a backup id or latest, else ignored).
inline constexpr char kBackupShowRequestAnnotation[] = "wok.dev/backup-show-request";
inline constexpr char kBackupShowAnnotation[] = "wok.dev/backup-show";
std::string show_job_name(const std::string& token);

// `wok backup delete site NAME --backup ID --kubeconfig`: the token and
// "SITE/ID" (a DNS label and an id, never latest), on the site itself or,
// for a deleted site, another of the project that keeps data. The
// admission webhook lets only a project admin write a new token and
// records a grant of it (kube/clone_grant.h); the operator then makes the
// Job "wok.backup-delete-HASH" (render::render_forget_job), whose log the
// CLI reads, and without a grant says why in status.backup.lastError.
inline constexpr char kBackupDeleteRequestAnnotation[] = "wok.dev/backup-delete-request";
inline constexpr char kBackupDeleteAnnotation[] = "wok.dev/backup-delete";
std::string delete_job_name(const std::string& token);

// When sites the project's sweep CronJob names on the cluster now are gone
// from `sweep` (the CronJob about to be applied, stamped): a Job of it made
// now, "wok.backup-sweep-HASH" of the gone sites' uids (made once, however
// often this runs before the CronJob is applied), so that the project's
// list is current once its last site is deleted. "" or why not.
std::string sweep_deleted_sites(KubeClient& client, const nlohmann::json& sweep);

// A restore in place (`wok backup restore --kubeconfig`): the request's
// token (its time) and the backup (an id, or latest).
inline constexpr char kRestoreRequestAnnotation[] = "wok.dev/restore-request";
inline constexpr char kRestoreBackupAnnotation[] = "wok.dev/restore-backup";

// "SITE-restore-" and 8 hex digits of the token's hash.
std::string restore_job_name(const std::string& site, const std::string& token);

// A clone (spec.cloneFrom of a site without status.clonedFrom) is a restore
// from the other site's backup before the site first runs: its request is
// "clone:UID", its Job "SITE-clone-HASH"; a failed one keeps the site
// stopped (a CMS on an empty database would show its installer) until
// cloneFrom is removed.
// Where a restore of the site stands (status.restore), and what it asks of
// this pass: a new request stops the site's pods (phase Stopping); once
// none runs, the Job render::render_restore_job makes is created
// (Restoring); its end gives Restored or Failed, and the pods start again.
struct RestoreStep {
  bool stop_site = false;  // the site's Deployments at 0 replicas, its CronJobs suspended
  nlohmann::json status;   // status.restore; null: none ever
  std::chrono::milliseconds requeue{0};
  // spec.cloneFrom done: status.clonedFrom ({project, site, backup}).
  nlohmann::json cloned_from;
  bool ended = false;  // Restored or Failed in this pass: the site starts again
};

// The site's rendered objects when a restore has ended: an autoscaled
// Deployment (whose replicas the render leaves to its autoscaler) gets its
// autoscaler's minReplicas back, or it would stay at the restore's 0.
void start_after_restore(std::vector<nlohmann::json>& desired);

// After a restore in place: the backup's revision (the restore Job's word)
// pinned as a rollback pins it (wok.dev/rollback-to, until the spec
// changes), when this cluster still keeps it with the backup's commit, as
// wok up runs a restored site on its backup's revision. What happened, as
// the end of status.restore's message ("; the backup's revision 3 ..."). A
// pin leaves the restore "Starting" for a pass: the site starts again on
// the pinned revision, never on the one the pass before the pin rendered.
struct RestoredPin {
  std::string message;
  int64_t revision = 0;  // pinned in this pass; 0: nothing pinned
};
RestoredPin pin_restored_revision(KubeClient& client, const nlohmann::json& site,
                                  const nlohmann::json& job);

// Makes `object` in `collection` unless it exists (kept as it is: a key
// made again would lock the repository away; a 409 counts as made). ""
// or why not.
std::string create_once(KubeClient& client, const std::string& collection,
                        const nlohmann::json& object);

RestoreStep reconcile_restore(KubeClient& client, const nlohmann::json& site,
                              const nlohmann::json& project,
                              const std::vector<nlohmann::json>& owned,
                              const render::PlatformSettings& settings,
                              const std::string& grant_ns);

// The site's rendered objects with nothing of it running: Deployments at 0
// replicas, CronJobs (its jobs, its backups) suspended.
void stop_for_restore(std::vector<nlohmann::json>& desired);

}  // namespace wok::kube
