#pragma once
// A clone from another project on a cluster (spec.cloneFrom.project, docs/
// data.md): the writer's right in the source project, checked by the
// admission webhook, which alone sees who writes. wok up lets developers
// and admins of the source project clone from it; here: whoever may create
// Sites there (a SubjectAccessReview of the request's userInfo: the
// developer and admin roles, and the platform admin). Allowed, the webhook
// records a grant, a ConfigMap in the operator's namespace (no member
// writes there), for the Site's uid and source; the operator copies data
// across projects only for a Site with a grant that matches its spec, so a
// Site stored while the webhook was off or ignored (failurePolicy Ignore)
// never reads another project's backups.
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "kube/client.h"

namespace wok::kube {

// The Kubernetes API as the webhook calls it (the operator's client; a
// script in tests).
using ApiCall = std::function<Reply(const std::string& method, const std::string& path,
                                    const std::string& body)>;

// The other project a Site clones from, "" when none (or its own).
std::string clone_source_project(const nlohmann::json& site);

std::string clone_grant_name(const std::string& site_uid);

// Asks whether `user_info` (an AdmissionReview's request.userInfo) may
// create Sites in `source_ns`, and records the grant for `site` (its
// namespace, name, uid, spec.cloneFrom) in `grant_ns`. "" when granted;
// `*refused` true with the words for the writer when the user may not,
// false with the error when the API did not answer.
std::string grant_clone(const ApiCall& api, const std::string& grant_ns,
                        const nlohmann::json& user_info, const nlohmann::json& site, bool* refused);

// Whether the grant the webhook recorded for `site` (GET from `grant_ns`)
// matches its spec.cloneFrom: "" when it does, else why not (for status).
std::string check_clone_grant(KubeClient& client, const std::string& grant_ns,
                              const nlohmann::json& site);

// `wok backup delete --kubeconfig` (docs/data.md): only a project admin
// deletes a backup. The request is an annotation on a Site (members may
// patch Sites), so the webhook asks whether its writer may delete the
// virtual subresource sites/backups in the project (the chart grants it to
// wok-admin, as the platform admin has it) and records a grant for that
// request (its token and SITE/ID) in `grant_ns`; the operator runs the
// deletion's Job only for a request with a matching grant. "" when
// granted; `*refused` with the words for the writer, else the API's error.
std::string backup_delete_grant_name(const std::string& site_uid);
std::string grant_backup_delete(const ApiCall& api, const std::string& grant_ns,
                                const nlohmann::json& user_info, const nlohmann::json& site,
                                const std::string& token, const std::string& target, bool* refused);
// "" when the grant of `site` names this request (`token`, `target`), else why not.
std::string check_backup_delete_grant(KubeClient& client, const std::string& grant_ns,
                                      const nlohmann::json& site, const std::string& token,
                                      const std::string& target);
void drop_backup_delete_grant(KubeClient& client, const std::string& grant_ns,
                              const nlohmann::json& site);

// Deletes it (the clone is over); a grant already gone is fine.
void drop_clone_grant(KubeClient& client, const std::string& grant_ns, const nlohmann::json& site);

// Deletes the grants (clones' and backup deletions') of `grant_ns` older
// than `grace_seconds` whose Site
// is not among `live_uids`: those of Sites deleted while no operator ran,
// and those the webhook recorded for a Site whose creation a later
// admission step (a quota) refused, which would otherwise pile up. How
// many went, or -1 when they could not be listed.
int sweep_clone_grants(KubeClient& client, const std::string& grant_ns,
                       const std::set<std::string>& live_uids, long grace_seconds);

}  // namespace wok::kube
