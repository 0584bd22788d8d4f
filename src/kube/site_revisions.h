#pragma once
// A Site's revisions on a cluster: each (spec, commit) pair the operator
// deployed, kept as an apps/v1 ControllerRevision in the site's namespace
// (the object StatefulSets and DaemonSets keep their history in), and the
// annotations through which `wok rollout undo` and `wok refresh` reach the
// operator. Pure functions: no I/O, so they are tested on their own.
//
// A member must not be able to make the operator deploy a spec that never
// passed its checks by writing a ControllerRevision of their own: only the
// operator's are trusted (its labels, a controller ownerReference to this
// Site's uid, and a hash of the number and the data), and the spec of a
// revision is checked again before it is deployed (by the operator, not
// here).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wok::kube {

// In each Deployment's pod template: the revision its pods run, so that a
// rollback (a new revision number) rolls them even to an older template.
inline constexpr char kRevisionAnnotation[] = "wok.dev/revision";
// On a ControllerRevision: revision_hash() of its number and data.
inline constexpr char kRevisionHashAnnotation[] = "wok.dev/revision-hash";
// On a Site, set by `wok rollout undo`: deploy revision N (its spec and its
// commit) instead of the Site's spec and ref...
inline constexpr char kRollbackToAnnotation[] = "wok.dev/rollback-to";
// ...while the Site's metadata.generation is still this one (its spec was
// not changed since the undo). Without it the pin holds until removed.
inline constexpr char kRollbackGenerationAnnotation[] = "wok.dev/rollback-generation";
// On a Site, set by `wok refresh`: any new value resolves the ref now (as
// Argo CD's argocd.argoproj.io/refresh).
inline constexpr char kRefreshAnnotation[] = "wok.dev/refresh";
// On a Site, set by `wok db upgrade`: the version spec.database.version
// changes to, written with it (the admission webhook refuses any other
// change of that version: kube/site_admission.h).
inline constexpr char kDatabaseUpgradeAnnotation[] = "wok.dev/database-upgrade";

inline constexpr int kDefaultRevisionHistoryLimit = 10;

// One trusted revision, read back from its ControllerRevision.
struct SiteRevision {
  int64_t number = 0;
  std::string name;  // of the ControllerRevision
  nlohmann::json spec;
  std::string commit;  // "" for a site without a git source
  std::string cause;
  int64_t generation = 0;
  std::string created;  // metadata.creationTimestamp
};

// sha256 (hex) of the Site's uid, the number and the data: proves that the
// object is whole and belongs to this Site, not who wrote it (RBAC does).
std::string revision_hash(const std::string& site_uid, int64_t number, const nlohmann::json& data);

// The ControllerRevision recording revision `number` of `site`: named
// SITE-HASH10, labelled, owned by the Site, hashed.
nlohmann::json revision_object(const nlohmann::json& site, int64_t number,
                               const nlohmann::json& spec, const std::string& commit,
                               const std::string& cause, int64_t generation);

// Why `object` is not a revision the operator made for `site` ("" when it is).
std::string distrust(const nlohmann::json& site, const nlohmann::json& object);

// The site's revisions among `objects` (any kinds), newest first. Those
// labelled for the site but not trusted are described in `refused`
// ("controllerrevision www-x: <why>").
std::vector<SiteRevision> site_revisions(const nlohmann::json& site,
                                         const std::vector<nlohmann::json>& objects,
                                         std::vector<std::string>* refused = nullptr);

// What the Site's annotations ask for.
struct PinRequest {
  int64_t revision = 0;  // 0: none
  bool stale = false;    // the spec changed since the undo: not honoured
  std::string error;     // the annotation is not a number
};
PinRequest pin_request(const nlohmann::json& site);

// The value of the refresh annotation ("" when none).
std::string refresh_request(const nlohmann::json& site);

// The ControllerRevisions to delete so that at most `limit` remain, oldest
// first, never the one numbered `keep`.
std::vector<std::string> revisions_over_limit(const std::vector<SiteRevision>& newest_first,
                                              int limit, int64_t keep);

}  // namespace wok::kube
