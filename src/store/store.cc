#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "store/host_claims.h"
#include "store/sqlite.h"

namespace wok::store {

using nlohmann::json;

namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES('rv', 0);
CREATE TABLE IF NOT EXISTS objects(
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY(kind, namespace, name));
CREATE TABLE IF NOT EXISTS host_claims(
  host TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  rv INTEGER PRIMARY KEY, type TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL,
  name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions(
  site_uid TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, number INTEGER NOT NULL,
  generation INTEGER NOT NULL, commit_id TEXT NOT NULL, spec TEXT NOT NULL,
  created_at TEXT NOT NULL, outcome TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
  log TEXT NOT NULL DEFAULT '', root TEXT NOT NULL DEFAULT '', live INTEGER NOT NULL DEFAULT 0,
  cause TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(site_uid, number));
CREATE TABLE IF NOT EXISTS project_uids(
  uid INTEGER PRIMARY KEY, project TEXT UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens(
  hash TEXT PRIMARY KEY, user TEXT NOT NULL, platform_admin INTEGER NOT NULL,
  created_at TEXT NOT NULL);
)sql";

constexpr int kEventsKept = 20000;

std::string new_uid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  char buf[40];
  snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
           static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
           static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
           static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

Result fail(Code code, std::string message) {
  Result r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

Result ok(json object) {
  Result r;
  r.object = std::make_shared<json>(std::move(object));
  return r;
}

std::string ns_of(const json& o) {
  const json& md = o["metadata"];
  return md.contains("namespace") && md["namespace"].is_string()
             ? md["namespace"].get<std::string>()
             : "";
}

std::vector<std::string> hosts_of(const json& o) {
  std::vector<std::string> hosts;
  if (o.contains("spec") && o["spec"].contains("hosts") && o["spec"]["hosts"].is_array()) {
    for (const auto& h : o["spec"]["hosts"]) hosts.push_back(h.get<std::string>());
  }
  return hosts;
}

// RFC 7386 JSON merge patch.
void merge_patch(json& target, const json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null())
      target.erase(it.key());
    else
      merge_patch(target[it.key()], it.value());
  }
}

}  // namespace

uint32_t hashed_uid(const std::string& project) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : project) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return kFirstSandboxUid + static_cast<uint32_t>(h % kSandboxUids);
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Store::Impl {
  sqlite3* db = nullptr;
  std::mutex mu;
  std::condition_variable changed;
  uint64_t wake_generation = 0;

  ~Impl() {
    if (db) sqlite3_close(db);
  }

  int64_t next_rv() {
    Statement s(db, "UPDATE counters SET value = value + 1 WHERE name = 'rv' RETURNING value");
    s.step();
    return s.integer(0);
  }

  int64_t current_rv() {
    Statement s(db, "SELECT value FROM counters WHERE name = 'rv'");
    s.step();
    return s.integer(0);
  }

  void record_event(int64_t rv, const char* type, const std::string& kind, const std::string& ns,
                    const std::string& name, const std::string& body = "") {
    Statement(db,
              "INSERT INTO events(rv, type, kind, namespace, name, body) VALUES(?, ?, ?, ?, ?, ?)")
        .bind(1, rv)
        .bind(2, type)
        .bind(3, kind)
        .bind(4, ns)
        .bind(5, name)
        .bind(6, body)
        .run();
    if (rv % 1000 == 0) {
      Statement(db, "DELETE FROM events WHERE rv <= ?").bind(1, rv - kEventsKept).run();
    }
  }

  std::optional<json> load(const std::string& kind, const std::string& ns,
                           const std::string& name) {
    Statement s(db, "SELECT body FROM objects WHERE kind = ? AND namespace = ? AND name = ?");
    s.bind(1, kind).bind(2, ns).bind(3, name);
    if (!s.step()) return std::nullopt;
    return json::parse(s.text(0));
  }

  void save(const std::string& kind, const std::string& ns, const std::string& name,
            const json& o) {
    Statement(db, "INSERT OR REPLACE INTO objects VALUES(?, ?, ?, ?)")
        .bind(1, kind)
        .bind(2, ns)
        .bind(3, name)
        .bind(4, o.dump())
        .run();
  }

  // Claims the Site's hosts for (ns, name), releasing the ones it no longer lists.
  Result claim_hosts(const std::string& ns, const std::string& name,
                     const std::vector<std::string>& hosts) {
    for (const auto& h : hosts) {
      Statement s(db, "SELECT namespace, name FROM host_claims WHERE host = ?");
      s.bind(1, h);
      if (s.step() && (s.text(0) != ns || s.text(1) != name)) {
        Result r = fail(Code::kConflict, "host \"" + h + "\" is already served by another site");
        r.owner_namespace = s.text(0);
        r.message = "host \"" + h + "\" is already served by site \"" + s.text(1) + "\"";
        return r;
      }
    }
    Statement(db, "DELETE FROM host_claims WHERE namespace = ? AND name = ?")
        .bind(1, ns)
        .bind(2, name)
        .run();
    for (const auto& h : hosts) {
      Statement(db, "INSERT INTO host_claims VALUES(?, ?, ?)")
          .bind(1, h)
          .bind(2, ns)
          .bind(3, name)
          .run();
    }
    return Result{};
  }

  // Hosts the project's patterns no longer allow stop being its sites'.
  void release_refused_hosts(const json& project) {
    const std::string ns = project["metadata"]["name"];
    std::vector<json> sites;
    {
      Statement s(db, "SELECT body FROM objects WHERE kind = 'Site' AND namespace = ?");
      s.bind(1, ns);
      while (s.step()) sites.push_back(json::parse(s.text(0)));
    }
    for (const auto& site : sites) {
      for (const auto& r : refused_hosts(site["spec"], project)) {
        Statement(db, "DELETE FROM host_claims WHERE host = ? AND namespace = ? AND name = ?")
            .bind(1, r.host)
            .bind(2, ns)
            .bind(3, site["metadata"]["name"].get<std::string>())
            .run();
      }
    }
  }

  // The project's uid, allocated if it has none. 0 when every uid is taken.
  uint32_t uid_of(const std::string& project) {
    Statement s(db, "SELECT uid FROM project_uids WHERE project = ?");
    s.bind(1, project);
    if (s.step()) return static_cast<uint32_t>(s.integer(0));
    return allocate_uid(project);
  }

  // Retired rows keep their uid with project NULL: never handed out again.
  uint32_t allocate_uid(const std::string& project) {
    Statement(db, "UPDATE project_uids SET project = NULL WHERE project = ?")
        .bind(1, project)
        .run();
    const int64_t first = kFirstSandboxUid, end = first + kSandboxUids;
    int64_t wanted = hashed_uid(project);
    // The first free uid at or above `wanted`, then from the start of the range.
    for (int64_t from : {wanted, first}) {
      int64_t candidate = from;
      {
        Statement taken(db, "SELECT uid FROM project_uids WHERE uid >= ? ORDER BY uid");
        taken.bind(1, from);
        while (taken.step() && taken.integer(0) <= candidate) candidate = taken.integer(0) + 1;
      }
      if (candidate < end) {
        Statement(db, "INSERT INTO project_uids VALUES(?, ?, ?)")
            .bind(1, candidate)
            .bind(2, project)
            .bind(3, now_rfc3339())
            .run();
        return static_cast<uint32_t>(candidate);
      }
    }
    return 0;
  }

  void notify() { changed.notify_all(); }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

namespace {

// The store holds token hashes and every project's objects: only its owner
// may read it. SQLite would create the file 0644 (its -wal and -shm files
// take the database file's mode), so it is created 0600 here first, by
// open(2) itself: never readable by others, not even for an instant. Files
// left wider by an older wok are narrowed.
bool create_private_database(const std::string& path, std::string* error) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) return true;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && ((st.st_mode & 077) == 0 || ::fchmod(fd, 0600) == 0);
  int saved = errno;
  ::close(fd);
  if (!ok) {
    *error = "cannot make " + path + " private: " + std::strerror(saved);
    return false;
  }
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    std::string side = path + suffix;
    if (::lstat(side.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
      ::chmod(side.c_str(), 0600);
    }
  }
  return true;
}

// Databases of a wok before revisions had a cause: the column is added and
// filled in for the revisions already there (oldest first, each compared with
// the one before it; a rollback then reads as the spec change it also was).
// Databases of a wok before tokens had names and a last use: each gets
// USER-HASHPREFIX.
void add_token_names(sqlite3* db) {
  bool has_name = false;
  for (Statement s(db, "PRAGMA table_info(tokens)"); s.step();) has_name |= s.text(1) == "name";
  if (has_name) return;
  exec(db, "ALTER TABLE tokens ADD COLUMN name TEXT NOT NULL DEFAULT ''");
  exec(db, "ALTER TABLE tokens ADD COLUMN last_used TEXT NOT NULL DEFAULT ''");
  exec(db, "UPDATE tokens SET name = user || '-' || substr(hash, 1, 8)");
}

// A DELETED event keeps the object's last state (a watch sends it).
void add_event_bodies(sqlite3* db) {
  bool has_body = false;
  for (Statement s(db, "PRAGMA table_info(events)"); s.step();) has_body |= s.text(1) == "body";
  if (!has_body) exec(db, "ALTER TABLE events ADD COLUMN body TEXT NOT NULL DEFAULT ''");
}

void add_revision_authors(sqlite3* db) {
  bool has_author = false;
  for (Statement s(db, "PRAGMA table_info(revisions)"); s.step();)
    has_author |= s.text(1) == "author";
  if (!has_author) exec(db, "ALTER TABLE revisions ADD COLUMN author TEXT NOT NULL DEFAULT ''");
}

void add_revision_causes(sqlite3* db) {
  bool has_cause = false;
  for (Statement s(db, "PRAGMA table_info(revisions)"); s.step();)
    has_cause |= s.text(1) == "cause";
  if (has_cause) return;
  exec(db, "ALTER TABLE revisions ADD COLUMN cause TEXT NOT NULL DEFAULT ''");
  std::string site;
  std::vector<Revision> earlier;  // newest first
  Statement s(
      db,
      "SELECT site_uid, number, generation, commit_id, spec, outcome, message FROM revisions "
      "ORDER BY site_uid, number");
  while (s.step()) {
    if (s.text(0) != site) earlier.clear();
    site = s.text(0);
    Revision r;
    r.number = s.integer(1);
    r.generation = s.integer(2);
    r.commit = s.text(3);
    r.spec = s.text(4);
    r.outcome = s.text(5);
    r.message = s.text(6);
    Statement(db, "UPDATE revisions SET cause = ? WHERE site_uid = ? AND number = ?")
        .bind(1, change_cause(earlier, r.generation, r.commit, r.spec, 0))
        .bind(2, site)
        .bind(3, r.number)
        .run();
    earlier.insert(earlier.begin(), std::move(r));
  }
}

}  // namespace

std::string change_cause(const std::vector<Revision>& earlier, int64_t generation,
                         const std::string& commit, const std::string& spec,
                         int64_t pinned_revision) {
  const std::string gen = "(generation " + std::to_string(generation) + ")";
  if (earlier.empty()) return "created " + gen;
  if (pinned_revision > 0) {
    for (const auto& r : earlier) {
      if (r.number == pinned_revision && r.spec == spec)
        return "rollout undo to " + std::to_string(pinned_revision);
    }
  }
  const Revision& last = earlier.front();
  std::string short_commit = commit.substr(0, 7);
  if (last.spec != spec) {
    return "apply: spec changed " + gen + (last.commit != commit ? ", commit " + short_commit : "");
  }
  if (last.commit != commit)
    return "fetch: commit " + short_commit + " (was " + last.commit.substr(0, 7) + ")";
  std::string n = std::to_string(last.number);
  if (last.message.starts_with("interrupted")) return "retry: revision " + n + " was interrupted";
  if (last.outcome == "Failed") return "refresh: retry after revision " + n + " failed";
  return "redeploy: same spec and commit as revision " +
         n;  // rollout restart, or a lost revision directory
}

std::unique_ptr<Store> Store::open(const std::string& path, std::string* error) {
  if (!create_private_database(path, error)) return nullptr;
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(path.c_str(), &impl->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    *error = "cannot open " + path + ": " + (impl->db ? sqlite3_errmsg(impl->db) : "out of memory");
    return nullptr;
  }
  try {
    sqlite3_busy_timeout(impl->db, 5000);
    exec(impl->db, "PRAGMA journal_mode=WAL");
    // NORMAL in WAL mode survives a crash of the process (kill -9); only a
    // power loss may lose the last transactions, never corrupt the file.
    exec(impl->db, "PRAGMA synchronous=NORMAL");
    Transaction tx(impl->db);
    exec(impl->db, kSchema);
    add_revision_causes(impl->db);
    add_token_names(impl->db);
    add_event_bodies(impl->db);
    add_revision_authors(impl->db);
    tx.commit();
  } catch (const SqliteError& e) {
    *error = path + ": " + e.what();
    return nullptr;
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Result Store::create(const std::string& kind, const json& object, const json* status_patch) {
  std::lock_guard lock(impl_->mu);
  try {
    json o = object;
    std::string ns = ns_of(o);
    std::string name = o["metadata"]["name"].get<std::string>();
    Transaction tx(impl_->db);
    if (impl_->load(kind, ns, name)) {
      return fail(Code::kAlreadyExists, kind + " \"" + name + "\" already exists");
    }
    if (kind == "Site") {
      Result claim = impl_->claim_hosts(ns, name, hosts_of(o));
      if (!claim.ok()) return claim;
    }
    // A new project never inherits a uid, not even from a deleted namesake.
    if (kind == "Project" && impl_->allocate_uid(name) == 0) {
      return fail(Code::kInternal, "no sandbox uid is left for project \"" + name + "\"");
    }
    int64_t rv = impl_->next_rv();
    json& md = o["metadata"];
    md["uid"] = new_uid();
    md["resourceVersion"] = std::to_string(rv);
    md["generation"] = 1;
    md["creationTimestamp"] = now_rfc3339();
    o["status"] = json::object();
    if (status_patch) merge_patch(o["status"], *status_patch);
    impl_->save(kind, ns, name, o);
    impl_->record_event(rv, "ADDED", kind, ns, name);
    tx.commit();
    impl_->notify();
    return ok(std::move(o));
  } catch (const std::exception& e) {
    return fail(Code::kInternal, e.what());
  }
}

Result Store::update(const std::string& kind, const json& object, const json* status_patch) {
  std::lock_guard lock(impl_->mu);
  try {
    std::string ns = ns_of(object);
    std::string name = object["metadata"]["name"].get<std::string>();
    Transaction tx(impl_->db);
    auto current = impl_->load(kind, ns, name);
    if (!current) return fail(Code::kNotFound, kind + " \"" + name + "\" not found");
    json& cur_md = (*current)["metadata"];
    const json& md = object["metadata"];
    if (md.contains("resourceVersion") && md["resourceVersion"].is_string() &&
        md["resourceVersion"] != cur_md["resourceVersion"]) {
      return fail(Code::kConflict, "the object has been modified (resourceVersion " +
                                       md["resourceVersion"].get<std::string>() + ", now " +
                                       cur_md["resourceVersion"].get<std::string>() +
                                       "); read it again and retry");
    }
    if (kind == "Site") {
      Result claim = impl_->claim_hosts(ns, name, hosts_of(object));
      if (!claim.ok()) return claim;
    }
    if (kind == "Project") impl_->release_refused_hosts(object);
    json next = *current;
    bool spec_changed = next["spec"] != object["spec"];
    next["spec"] = object["spec"];
    for (const char* k : {"labels", "annotations"}) {
      if (md.contains(k))
        next["metadata"][k] = md[k];
      else
        next["metadata"].erase(k);
    }
    if (status_patch) merge_patch(next["status"], *status_patch);
    if (next == *current) {
      return ok(std::move(next));  // nothing changed: no new version, no event
    }
    if (spec_changed) next["metadata"]["generation"] = cur_md["generation"].get<int64_t>() + 1;
    int64_t rv = impl_->next_rv();
    next["metadata"]["resourceVersion"] = std::to_string(rv);
    impl_->save(kind, ns, name, next);
    impl_->record_event(rv, "MODIFIED", kind, ns, name);
    tx.commit();
    impl_->notify();
    return ok(std::move(next));
  } catch (const std::exception& e) {
    return fail(Code::kInternal, e.what());
  }
}

Result Store::upsert(const std::string& kind, const json& object) {
  std::lock_guard lock(impl_->mu);
  try {
    json o = object;
    std::string ns = ns_of(o);
    std::string name = o["metadata"]["name"].get<std::string>();
    Transaction tx(impl_->db);
    auto current = impl_->load(kind, ns, name);
    json& md = o["metadata"];
    if (current) {
      md["uid"] = (*current)["metadata"]["uid"];
      md["creationTimestamp"] = (*current)["metadata"]["creationTimestamp"];
    } else {
      md["uid"] = new_uid();
      md["creationTimestamp"] = now_rfc3339();
    }
    int64_t rv = impl_->next_rv();
    md["resourceVersion"] = std::to_string(rv);
    impl_->save(kind, ns, name, o);
    impl_->record_event(rv, current ? "MODIFIED" : "ADDED", kind, ns, name);
    tx.commit();
    impl_->notify();
    return ok(std::move(o));
  } catch (const std::exception& e) {
    return fail(Code::kInternal, e.what());
  }
}

Result Store::patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                           const json& patch) {
  std::lock_guard lock(impl_->mu);
  try {
    Transaction tx(impl_->db);
    auto current = impl_->load(kind, ns, name);
    if (!current) return fail(Code::kNotFound, kind + " \"" + name + "\" not found");
    json next = *current;
    merge_patch(next["status"], patch);
    if (next == *current) return ok(std::move(next));
    int64_t rv = impl_->next_rv();
    next["metadata"]["resourceVersion"] = std::to_string(rv);
    impl_->save(kind, ns, name, next);
    impl_->record_event(rv, "MODIFIED", kind, ns, name);
    tx.commit();
    impl_->notify();
    return ok(std::move(next));
  } catch (const std::exception& e) {
    return fail(Code::kInternal, e.what());
  }
}

Result Store::remove(const std::string& kind, const std::string& ns, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  try {
    Transaction tx(impl_->db);
    auto current = impl_->load(kind, ns, name);
    if (!current) return fail(Code::kNotFound, kind + " \"" + name + "\" not found");
    Statement(impl_->db, "DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?")
        .bind(1, kind)
        .bind(2, ns)
        .bind(3, name)
        .run();
    if (kind == "Site") {
      Statement(impl_->db, "DELETE FROM host_claims WHERE namespace = ? AND name = ?")
          .bind(1, ns)
          .bind(2, name)
          .run();
      Statement(impl_->db, "DELETE FROM revisions WHERE site_uid = ?")
          .bind(1, (*current)["metadata"]["uid"].get<std::string>())
          .run();
    }
    if (kind == "Project") {
      Statement(impl_->db, "UPDATE project_uids SET project = NULL WHERE project = ?")
          .bind(1, name)
          .run();
    }
    int64_t rv = impl_->next_rv();
    // Its last state, at the deletion's version, for watchers (not a
    // Secret's: what is deleted is gone).
    (*current)["metadata"]["resourceVersion"] = std::to_string(rv);
    impl_->record_event(rv, "DELETED", kind, ns, name, kind == "Secret" ? "" : current->dump());
    tx.commit();
    impl_->notify();
    return ok(std::move(*current));
  } catch (const std::exception& e) {
    return fail(Code::kInternal, e.what());
  }
}

std::optional<json> Store::get(const std::string& kind, const std::string& ns,
                               const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return impl_->load(kind, ns, name);
}

std::vector<json> Store::list(const std::string& kind, const std::string& ns) {
  std::lock_guard lock(impl_->mu);
  std::vector<json> out;
  Statement s(impl_->db,
              ns.empty()
                  ? "SELECT body FROM objects WHERE kind = ? ORDER BY namespace, name"
                  : "SELECT body FROM objects WHERE kind = ? AND namespace = ? ORDER BY name");
  s.bind(1, kind);
  if (!ns.empty()) s.bind(2, ns);
  while (s.step()) out.push_back(json::parse(s.text(0)));
  return out;
}

int64_t Store::count(const std::string& kind, const std::string& ns) {
  std::lock_guard lock(impl_->mu);
  Statement s(impl_->db, "SELECT count(*) FROM objects WHERE kind = ? AND namespace = ?");
  s.bind(1, kind).bind(2, ns);
  s.step();
  return s.integer(0);
}

std::vector<Event> Store::events_since(int64_t after, std::chrono::milliseconds wait, int limit) {
  std::unique_lock lock(impl_->mu);
  uint64_t woke = impl_->wake_generation;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (impl_->current_rv() <= after && impl_->wake_generation == woke) {
    if (impl_->changed.wait_until(lock, deadline) == std::cv_status::timeout) break;
  }
  std::vector<Event> out;
  Statement s(
      impl_->db,
      "SELECT rv, type, kind, namespace, name, body FROM events WHERE rv > ? ORDER BY rv LIMIT ?");
  s.bind(1, after).bind(2, static_cast<int64_t>(limit));
  while (s.step())
    out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5)});
  return out;
}

int64_t Store::oldest_event_rv() {
  std::lock_guard lock(impl_->mu);
  Statement s(impl_->db, "SELECT min(rv) FROM events");
  if (s.step() && !s.is_null(0)) return s.integer(0);
  return impl_->current_rv() + 1;
}

int64_t Store::resource_version() {
  std::lock_guard lock(impl_->mu);
  return impl_->current_rv();
}

void Store::wake_watchers() {
  std::lock_guard lock(impl_->mu);
  ++impl_->wake_generation;
  impl_->changed.notify_all();
}

namespace {
Revision read_revision(Statement& s) {
  Revision r;
  r.number = s.integer(0);
  r.generation = s.integer(1);
  r.commit = s.text(2);
  r.spec = s.text(3);
  r.created_at = s.text(4);
  r.outcome = s.text(5);
  r.message = s.text(6);
  r.log = s.text(7);
  r.root = s.text(8);
  r.live = s.integer(9) != 0;
  r.cause = s.text(10);
  r.author = s.text(11);
  return r;
}
constexpr const char* kRevisionColumns =
    "SELECT number, generation, commit_id, spec, created_at, outcome, message, log, root, live, "
    "cause, author "
    "FROM revisions ";
}  // namespace

int64_t Store::add_revision(const std::string& uid, const std::string& ns, const std::string& name,
                            const Revision& r) {
  std::lock_guard lock(impl_->mu);
  Transaction tx(impl_->db);
  Statement s(impl_->db, "SELECT coalesce(max(number), 0) + 1 FROM revisions WHERE site_uid = ?");
  s.bind(1, uid);
  s.step();
  int64_t number = s.integer(0);
  Statement(impl_->db,
            "INSERT INTO revisions(site_uid, namespace, name, number, generation, commit_id, spec, "
            "created_at, "
            "outcome, message, log, root, live, cause, author) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)")
      .bind(1, uid)
      .bind(2, ns)
      .bind(3, name)
      .bind(4, number)
      .bind(5, r.generation)
      .bind(6, r.commit)
      .bind(7, r.spec)
      .bind(8, now_rfc3339())
      .bind(9, r.outcome)
      .bind(10, r.message)
      .bind(11, r.log)
      .bind(12, r.root)
      .bind(13, r.cause)
      .bind(14, r.author)
      .run();
  tx.commit();
  return number;
}

void Store::finish_revision(const std::string& uid, int64_t number, const std::string& outcome,
                            const std::string& message, const std::string& log, bool make_live,
                            const std::string& root) {
  std::lock_guard lock(impl_->mu);
  Transaction tx(impl_->db);
  if (make_live) {
    Statement(impl_->db, "UPDATE revisions SET live = 0 WHERE site_uid = ?").bind(1, uid).run();
  }
  Statement(impl_->db,
            "UPDATE revisions SET outcome = ?, message = ?, log = ?, live = ?, "
            "root = CASE WHEN ? = '' THEN root ELSE ? END WHERE site_uid = ? AND number = ?")
      .bind(1, outcome)
      .bind(2, message)
      .bind(3, log)
      .bind(4, static_cast<int64_t>(make_live))
      .bind(5, root)
      .bind(6, root)
      .bind(7, uid)
      .bind(8, number)
      .run();
  tx.commit();
}

std::vector<Revision> Store::revisions(const std::string& uid) {
  std::lock_guard lock(impl_->mu);
  Statement s(impl_->db, std::string(kRevisionColumns) + "WHERE site_uid = ? ORDER BY number DESC");
  s.bind(1, uid);
  std::vector<Revision> out;
  while (s.step()) out.push_back(read_revision(s));
  return out;
}

std::optional<Revision> Store::live_revision(const std::string& uid) {
  std::lock_guard lock(impl_->mu);
  Statement s(impl_->db, std::string(kRevisionColumns) + "WHERE site_uid = ? AND live = 1");
  s.bind(1, uid);
  if (!s.step()) return std::nullopt;
  return read_revision(s);
}

std::optional<Revision> Store::revision(const std::string& uid, int64_t number) {
  std::lock_guard lock(impl_->mu);
  Statement s(impl_->db, std::string(kRevisionColumns) + "WHERE site_uid = ? AND number = ?");
  s.bind(1, uid).bind(2, number);
  if (!s.step()) return std::nullopt;
  return read_revision(s);
}

int Store::fail_pending_revisions() {
  std::lock_guard lock(impl_->mu);
  Statement(
      impl_->db,
      "UPDATE revisions SET outcome = 'Failed', message = 'interrupted: wok stopped during the "
      "rollout' WHERE outcome = 'Pending'")
      .run();
  return sqlite3_changes(impl_->db);
}

void Store::add_token(const std::string& user, const std::string& hash, bool platform_admin,
                      const std::string& name) {
  std::lock_guard lock(impl_->mu);
  Statement(
      impl_->db,
      "INSERT INTO tokens(hash, user, platform_admin, created_at, name) VALUES(?, ?, ?, ?, ?)")
      .bind(1, hash)
      .bind(2, user)
      .bind(3, static_cast<int64_t>(platform_admin))
      .bind(4, now_rfc3339())
      .bind(5, name.empty() ? user + "-" + hash.substr(0, 8) : name)
      .run();
}

std::optional<Store::TokenOwner> Store::find_token(const std::string& hash) {
  std::lock_guard lock(impl_->mu);
  Statement s(impl_->db, "SELECT user, platform_admin, last_used FROM tokens WHERE hash = ?");
  s.bind(1, hash);
  if (!s.step()) return std::nullopt;
  TokenOwner owner{s.text(0), s.integer(1) != 0};
  std::string now = now_rfc3339();
  if (s.text(2).substr(0, 16) != now.substr(0, 16)) {  // once a minute is enough
    Statement(impl_->db, "UPDATE tokens SET last_used = ? WHERE hash = ?")
        .bind(1, now)
        .bind(2, hash)
        .run();
  }
  return owner;
}

std::vector<Store::TokenInfo> Store::tokens() {
  std::lock_guard lock(impl_->mu);
  std::vector<TokenInfo> out;
  Statement s(impl_->db,
              "SELECT name, user, created_at, last_used, platform_admin FROM tokens ORDER BY name");
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.integer(4) != 0});
  return out;
}

bool Store::token_name_taken(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  Statement s(impl_->db, "SELECT 1 FROM tokens WHERE name = ?");
  s.bind(1, name);
  return s.step();
}

bool Store::revoke_token(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  Statement(impl_->db, "DELETE FROM tokens WHERE name = ? AND platform_admin = 0")
      .bind(1, name)
      .run();
  return sqlite3_changes(impl_->db) > 0;
}

uint32_t Store::project_uid(const std::string& project) {
  std::lock_guard lock(impl_->mu);
  try {
    {
      Statement s(impl_->db, "SELECT uid FROM project_uids WHERE project = ?");
      s.bind(1, project);
      if (s.step()) return static_cast<uint32_t>(s.integer(0));  // the usual case: no write
    }
    Transaction tx(impl_->db);
    uint32_t uid = impl_->uid_of(project);
    tx.commit();
    return uid;
  } catch (const std::exception&) {
    return 0;
  }
}

std::vector<std::string> Store::routable_hosts(const std::string& ns, const std::string& name,
                                               std::vector<std::string>* refused) {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  try {
    Transaction tx(impl_->db);
    auto site = impl_->load("Site", ns, name);
    auto project = impl_->load("Project", "", ns);
    if (!site) return out;
    json none = {{"spec", {{"hosts", json::array()}}}};
    const json& p = project ? *project : none;
    std::set<std::string> not_allowed;
    for (const auto& r : refused_hosts((*site)["spec"], p)) {
      not_allowed.insert(r.host);
      if (refused) {
        refused->push_back("host " + r.host + " is no longer allowed by project " + ns +
                           "'s hosts (" + host_patterns(p) + ")");
      }
    }
    for (const auto& h : hosts_of(*site)) {
      if (not_allowed.count(h)) continue;
      std::optional<std::pair<std::string, std::string>> holder;
      {
        Statement s(impl_->db, "SELECT namespace, name FROM host_claims WHERE host = ?");
        s.bind(1, h);
        if (s.step()) holder = {s.text(0), s.text(1)};
      }
      if (!holder) {
        Statement(impl_->db, "INSERT INTO host_claims VALUES(?, ?, ?)")
            .bind(1, h)
            .bind(2, ns)
            .bind(3, name)
            .run();
      } else if (*holder != std::pair(ns, name)) {
        if (refused) refused->push_back("host " + h + " is now served by another site");
        continue;
      }
      out.push_back(h);
    }
    tx.commit();
  } catch (const std::exception&) {
    return {};
  }
  return out;
}

bool Store::has_admin_token() {
  std::lock_guard lock(impl_->mu);
  Statement s(impl_->db, "SELECT 1 FROM tokens WHERE platform_admin = 1 LIMIT 1");
  return s.step();
}

}  // namespace wok::store
