#pragma once
// The embedded object store: SQLite in WAL mode under the data directory.
// Every write is one transaction; every object carries a resourceVersion for
// optimistic concurrency; every change is an event the controllers consume.
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace wok::store {

enum class Code { kOk, kNotFound, kAlreadyExists, kConflict, kInvalid, kInternal };

struct Result {
  Code code = Code::kOk;
  std::string message;
  std::string owner_namespace;  // kConflict on a host: the project of the Site holding it
  std::shared_ptr<nlohmann::json> object;
  bool ok() const { return code == Code::kOk; }
};

struct Event {
  int64_t resource_version = 0;
  std::string type;  // ADDED, MODIFIED, DELETED
  std::string kind;
  std::string ns;
  std::string name;
  std::string body = {};  // DELETED: the object's last state (JSON text); "" otherwise
};

struct Revision {
  int64_t number = 0;
  int64_t generation = 0;
  std::string commit;
  std::string spec;        // JSON text
  std::string created_at;  // RFC 3339
  std::string outcome;     // Pending, Deployed, Failed
  std::string message;
  std::string log;   // build output
  std::string root;  // served directory of this revision
  bool live = false;
  std::string cause = {};  // why it was made: change_cause() ("fetch: commit abc1234")
  // Who made it: the user whose write of the spec it deploys (the site's
  // status.changedBy, or status.pinnedBy for a rollback); "" for a fetch, a
  // retry, or an older wok.
  std::string author = {};
};

// Why a revision is made, for `wok rollout history`: compared with the newest
// earlier revision (`earlier`, newest first) of the same site.
//   "created (generation 1)", "apply: spec changed (generation 3)",
//   "fetch: commit abc1234 (was 0c0ffee)", "rollout undo to 2" (pinned_revision:
//   the site's status.pinnedRevision, 0 if none), "refresh: retry after
//   revision 4 failed", "retry: revision 4 was interrupted", "redeploy: same
//   spec and commit as revision 4".
std::string change_cause(const std::vector<Revision>& earlier, int64_t generation,
                         const std::string& commit, const std::string& spec,
                         int64_t pinned_revision);

class Store {
 public:
  static std::unique_ptr<Store> open(const std::string& path, std::string* error);
  ~Store();

  // Objects. kind is "Project" (ns "") or "Site". create() sets uid,
  // resourceVersion, generation 1 and creationTimestamp; update() keeps
  // status, checks metadata.resourceVersion if given, and bumps generation
  // when spec changed. Sites claim their hosts atomically: a host held by
  // another Site gives kConflict with owner_namespace set.
  // `status_patch` (a merge patch, if given) goes into status in the same
  // transaction: who wrote the spec (status.changedBy) is never a moment behind it.
  Result create(const std::string& kind, const nlohmann::json& object,
                const nlohmann::json* status_patch = nullptr);
  Result update(const std::string& kind, const nlohmann::json& object,
                const nlohmann::json* status_patch = nullptr);
  // The whole object (an Event: no spec, no status), made or replaced; on
  // replace it keeps its uid and creationTimestamp.
  Result upsert(const std::string& kind, const nlohmann::json& object);
  // JSON merge patch (RFC 7386) into status; bumps resourceVersion only.
  Result patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                      const nlohmann::json& patch);
  Result remove(const std::string& kind, const std::string& ns, const std::string& name);
  std::optional<nlohmann::json> get(const std::string& kind, const std::string& ns,
                                    const std::string& name);
  std::vector<nlohmann::json> list(const std::string& kind, const std::string& ns = "");
  int64_t count(const std::string& kind, const std::string& ns);

  // Watch feed: events after resource_version `after`, oldest first. When
  // none is there, waits up to `wait` for one. Fewer than `limit` returned
  // when caught up.
  std::vector<Event> events_since(int64_t after, std::chrono::milliseconds wait, int limit = 500);
  int64_t resource_version();
  // The oldest event kept (older ones are pruned): a watch from a version
  // before oldest_event_rv() - 1 has missed some (410 Gone). The current
  // version + 1 when none is kept.
  int64_t oldest_event_rv();
  void wake_watchers();  // lets events_since() waiters return (at shutdown)

  // Revisions of a Site (by uid).
  int64_t add_revision(const std::string& site_uid, const std::string& ns, const std::string& name,
                       const Revision& revision);  // returns the new number
  // Records the outcome; root (if not empty) is the directory it serves.
  void finish_revision(const std::string& site_uid, int64_t number, const std::string& outcome,
                       const std::string& message, const std::string& log, bool make_live,
                       const std::string& root = "");
  std::vector<Revision> revisions(const std::string& site_uid);  // newest first
  std::optional<Revision> live_revision(const std::string& site_uid);
  std::optional<Revision> revision(const std::string& site_uid, int64_t number);
  // Revisions left Pending by a crash become Failed ("interrupted").
  int fail_pending_revisions();

  // Tokens: only the SHA-256 of a token is kept, with a name (unique; ""
  // gives USER-HASHPREFIX) and when it was last used.
  void add_token(const std::string& user, const std::string& token_hash, bool platform_admin,
                 const std::string& name = "");
  struct TokenOwner {
    std::string user;
    bool platform_admin = false;
  };
  // Also records the use (at most once a minute per token).
  std::optional<TokenOwner> find_token(const std::string& token_hash);
  struct TokenInfo {
    std::string name, user, created_at, last_used;  // last_used "" if never
    bool platform_admin = false;
  };
  std::vector<TokenInfo> tokens();  // by name
  bool token_name_taken(const std::string& name);
  // False if there is no such token; the platform admin's is never revoked.
  bool revoke_token(const std::string& name);
  bool has_admin_token();

  // The sandbox uid (and gid) of a project's processes and files. Handed out
  // once per project, the first time it is asked for (or when the Project is
  // created), unique among every uid ever handed out, and never handed out
  // again: a deleted project's uid stays retired, so files it left behind
  // never belong to a project created later, even one of the same name. The
  // first choice is hashed_uid(project) (projects of an older wok keep the uid
  // their files carry); taken, the next free one above it. 0 when none is
  // left or the store failed.
  uint32_t project_uid(const std::string& project);

  // The hosts Site ns/name may be routed for now: those of its spec that its
  // project's host patterns allow (host_claims.h) and that it holds. When the
  // patterns shrink, update() of the Project releases the hosts they no
  // longer allow; widened again, a host is claimed back here unless another
  // site took it meanwhile. `refused` (if given) gets why each other host of
  // its spec is not served.
  std::vector<std::string> routable_hosts(const std::string& ns, const std::string& name,
                                          std::vector<std::string>* refused = nullptr);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

std::string now_rfc3339();

// Sandbox uids live in [kFirstSandboxUid, kFirstSandboxUid + kSandboxUids).
constexpr uint32_t kFirstSandboxUid = 100000;
constexpr uint32_t kSandboxUids = 900000;
// The uid wok derived from a project's name before the store handed them
// out (FNV-1a, the same as runtime::sandbox_uid): two names may share it.
uint32_t hashed_uid(const std::string& project);

}  // namespace wok::store
