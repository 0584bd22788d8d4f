#pragma once
// `wok rollout history|undo` and `wok refresh` against a cluster: what the
// CLI does with a kubeconfig, through the same client as the operator. The
// operator does the rest (kube/site_revisions.h): these only read the
// Site's ControllerRevisions and patch the Site's annotations, which is all
// a project member's role allows.
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "kube/client.h"
#include "kube/site_revisions.h"

namespace wok::kube {

struct RolloutResult {
  bool ok = false;
  std::string text;  // the table or the confirmation; the error when !ok
};

// Site `name` of namespace `ns`, or the error to show ("site "www" not
// found in namespace "team-a"").
bool get_site(KubeClient& client, const std::string& ns, const std::string& name,
              nlohmann::json* site, std::string* error);

// REVISION COMMIT CREATED CAUSE, oldest first; the running one marked
// "(live)", a pinned one "(pinned)". Revisions the operator would not trust
// are left out and counted on a last line.
RolloutResult kube_rollout_history(KubeClient& client, const std::string& ns,
                                   const std::string& name);

// The Site's revisions the operator would trust, newest first (*refused:
// how many others are labelled for it). False and *error when unreadable.
bool list_revisions(KubeClient& client, const nlohmann::json& site, std::vector<SiteRevision>* out,
                    size_t* refused, std::string* error);

// Pins revision `to_revision` (0: the one before the running one), with the
// Site's generation read now, so that a later change of its spec ends it.
RolloutResult kube_rollout_undo(KubeClient& client, const std::string& ns, const std::string& name,
                                int64_t to_revision);

// A new wok.dev/refresh value (`now`, RFC 3339), and the end of any pin.
// `wok db upgrade site NAME --to V --kubeconfig`: spec.database.version
// set to V with the annotation kDatabaseUpgradeAnnotation naming it (the
// admission webhook allows no other change of it: database_version_errors);
// refused here when V is not newer than the version the site runs.
RolloutResult kube_db_upgrade(KubeClient& client, const std::string& ns, const std::string& name,
                              const std::string& to);
RolloutResult kube_refresh(KubeClient& client, const std::string& ns, const std::string& name,
                           const std::string& now);

// `wok backup create --kubeconfig`: a new wok.dev/backup-request (`now`);
// the operator makes the Job it names (kube/site_backups.h). Refused for
// a site the cluster does not back up (no volume, database nor spec.backup).
RolloutResult kube_backup_request(KubeClient& client, const std::string& ns,
                                  const std::string& name, const std::string& now);

// `wok backup restore --kubeconfig`: new wok.dev/restore-request (`now`)
// and wok.dev/restore-backup (`backup`, "" = latest) annotations; the
// operator stops the site's pods and runs the restore Job it names.
RolloutResult kube_restore_request(KubeClient& client, const std::string& ns,
                                   const std::string& name, const std::string& backup,
                                   const std::string& now);
// `wok backup restore --to NEW --host H... --kubeconfig`: the Site NEW, of
// site `name`'s current spec with the hosts `hosts` and spec.cloneFrom
// {site: name, backup}: the operator clones it before it first runs.
// A deleted site's backup: its own spec, read by a Job the operator makes
// (kBackupShowRequestAnnotation on another site of the project), `token`
// naming it, within `wait`.
RolloutResult kube_restore_to(KubeClient& client, const std::string& ns, const std::string& name,
                              const std::string& backup, const std::string& to,
                              const std::vector<std::string>& hosts, const std::string& token,
                              std::chrono::milliseconds wait);

// `wok backup delete site NAME --backup ID --kubeconfig`: the request
// (kBackupDeleteRequestAnnotation `token`, "NAME/ID") on the site, or for a
// deleted site on another of the project that keeps data; the admission
// webhook refuses it unless the writer is a project admin. Then, within
// `wait`, the operator's Job's line, or the operator's refusal
// (status.backup.deleteError).
RolloutResult kube_backup_delete(KubeClient& client, const std::string& ns, const std::string& name,
                                 const std::string& backup, const std::string& token,
                                 std::chrono::milliseconds wait);

// `wok backup list --kubeconfig`: a new wok.dev/backup-list-request
// (`token`), then, within `wait`, the log of the Job the operator makes
// for it: its JSON line ({"items": [...]}) in `text`, each item's
// siteDeleted set against the project's Sites now. `name` empty: the
// project's list, asked through its first site that keeps data
// (kProjectBackupListAnnotation), or with no such site the one its last
// sweep printed ("listedAt" then says when).
RolloutResult kube_backup_list(KubeClient& client, const std::string& ns, const std::string& name,
                               const std::string& token, std::chrono::milliseconds wait);

// Loads the kubeconfig (`kubeconfig` empty: $KUBECONFIG, ~/.kube/config)
// and runs `call` with a client; "error: ..." on `err` and 1 when there
// is no namespace or the kubeconfig cannot be used. `call`'s exit code.
int with_cluster(const std::string& kubeconfig, const std::string& context, const std::string& ns,
                 const std::function<int(KubeClient& client)>& call, std::ostream& err);

// A verb with --kubeconfig/--context: loads the kubeconfig (`kubeconfig`
// empty: $KUBECONFIG, ~/.kube/config), runs `call` with a client and the
// time now (RFC 3339: a request's token), prints its text on `out` or
// "error: ..." on `err`. The exit code: 0 or 1.
using ClusterCall = std::function<RolloutResult(KubeClient& client, const std::string& now)>;
int run_on_cluster(const std::string& kubeconfig, const std::string& context, const std::string& ns,
                   const ClusterCall& call, std::ostream& out, std::ostream& err);

// `wok rollout history|undo`, `wok refresh` and `wok backup create` with --kubeconfig/--context:
// loads the kubeconfig (`kubeconfig` empty: $KUBECONFIG, ~/.kube/config),
// runs the verb on site `name` of namespace `ns`, prints the table or the
// confirmation on `out`, an "error: ..." on `err`. The exit code: 0 or 1.
enum class SiteVerb { kHistory, kUndo, kRefresh, kBackup };
int run_site_verb(SiteVerb verb, const std::string& kubeconfig, const std::string& context,
                  const std::string& ns, const std::string& name, int64_t to_revision,
                  std::ostream& out, std::ostream& err);

}  // namespace wok::kube
