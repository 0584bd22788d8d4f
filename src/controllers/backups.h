#pragma once
// Backups of sites on wok up (docs/data.md, "Backups"): one restic
// repository per project (deduplicated, encrypted with a key of its own that
// only wok reads), a snapshot per backup holding what brings the site back,
// laid out and tagged as controllers/snapshot.h says (the Kubernetes backup
// Job makes the same). The repository is outside the site's directory: a
// deleted site's backups stay, listed under its name, until their retention
// ends. restic runs on the host as wok (root): it reads the volumes through
// read-only binds that follow no symlink, and restores into wok's own
// directory, copied into the volume by descriptor while nothing of the site
// runs.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "controllers/secret_env.h"
#include "controllers/snapshot.h"
#include "runtime/subprocess.h"

namespace wok::runtime {
class Runtime;
}
namespace wok::store {
class Store;
}

namespace wok::controllers {

struct BackupInfo {
  std::string id;    // restic's short id (8 hex digits)
  std::string time;  // RFC 3339, UTC
  std::string project, site, site_uid;
  int64_t revision = 0;
  std::string reason;  // "manual", "scheduled"
  int retain_days = 30;
  // A copy's (restic copy, a clone from another project on a cluster):
  // the short id of the backup it was copied from, which names it too.
  std::string original;
  nlohmann::json to_json() const;
};

struct BackupSettings {
  // wok's own directory: keys/ (one key per project, 0600), repos/ (the
  // repositories, unless `repository` says otherwise), cache/, tmp/.
  std::filesystem::path dir;
  // The admin's repository for a project ("{project}" replaced by
  // NAME.UID, the project's name and uid: one made again under the same
  // name has a repository of its own): "s3:https://s3.example.org/bucket/{project}",
  // read by restic with the credentials in wok's environment. "":
  // dir/repos/NAME.UID. Without "{project}": refused (all projects in one).
  std::string repository;
};

struct BackupError {
  int status = 500;  // 404: no such site or backup; 409: nothing to back up yet, or busy
  std::string message;
  bool nothing_yet = false;  // the site has no deployed revision to back up
  bool busy = false;         // a backup or restore of the site runs
};

// Of `all` (a site's backups, newest first): backup `id` (a prefix of 8
// hex digits or more of it), or with "latest" the newest made to be
// restored (not a pre-restore one) of the site of uid `own_uid` (any when
// ""); nullopt with a 404 saying why.
std::optional<BackupInfo> find_backup(const std::vector<BackupInfo>& all, const std::string& ns,
                                      const std::string& site, const std::string& id,
                                      const std::string& own_uid, BackupError* error);

// Removes the directories `.wok-before-restore-*` a restore cut short left
// in the volume at `volume_dir` (by descriptor, nothing followed), once
// the restore is finished and its pre-restore backup holds them.
void remove_restore_leftovers(const std::filesystem::path& volume_dir);

// Replaces the files of the volume at `volume_dir` by those `unpacked`
// holds (a volume's directory of a restored snapshot, `path` in the
// backup `backup_id`), by descriptor (nothing in the volume is followed),
// given to `uid`, bounded by the volume's size: the old entries are moved
// aside first and put back if the copy fails. "" or why not, saying what
// is where. On wok up (Backups) and in a cluster's restore Job
// (platform/backup_job.h).
std::string put_back_files(const std::filesystem::path& unpacked,
                           const std::filesystem::path& volume_dir, unsigned uid,
                           const std::string& path, const std::string& backup_id);

class Backups {
 public:
  Backups(store::Store& store, runtime::Runtime& runtime, SecretReader read_secret,
          std::string data_dir, BackupSettings settings);
  ~Backups();
  // wok stops: restic runs are killed, new ones refused.
  void cancel();
  bool cancelled() const { return cancelled_; }

  // A restore of site ns/name runs while it lives: no backup of the site is
  // made and its cron jobs do not start (held()).
  class Hold {
   public:
    Hold(Backups* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Hold(Hold&& other) noexcept : owner_(other.owner_), key_(std::move(other.key_)) {
      other.owner_ = nullptr;
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    Hold& operator=(Hold&&) = delete;
    ~Hold();

   private:
    Backups* owner_;
    std::string key_;
  };
  // nullopt (and why in `error`) when a backup or restore of the site runs.
  std::optional<Hold> hold_for_restore(const std::string& ns, const std::string& name,
                                       BackupError* error);
  bool held(const std::string& ns, const std::string& name);

  // Backs up site ns/name now: its live revision, volumes, database and
  // services. A site's manual backups beyond the newest 20 are forgotten.
  std::optional<BackupInfo> create(const std::string& ns, const std::string& name,
                                   const std::string& reason, BackupError* error);
  // Backups of project ns (of site `site` only, when given), newest first.
  std::optional<std::vector<BackupInfo>> list(const std::string& ns, const std::string& site,
                                              BackupError* error);
  // Backup `id` (a short or long id, or "latest": the newest but those a
  // restore made of what it replaced) of site `site` of project ns. With `own_uid`, "latest" is the
  // newest of that site uid's only (a site made again after a deletion does not restore its
  // predecessor's by default).
  std::optional<BackupInfo> find(const std::string& ns, const std::string& site,
                                 const std::string& id, BackupError* error,
                                 const std::string& own_uid = "");
  // `wok backup delete`: backup `id` (not "latest") of site `site` of
  // project ns (a deleted site's too) forgotten, and its data no other
  // backup holds pruned from the repository: gone for good. Refused (409)
  // while a backup or restore of the site runs. The backup as it was.
  std::optional<BackupInfo> remove(const std::string& ns, const std::string& site,
                                   const std::string& id, BackupError* error);
  // Its /backup.json: {revision, commit, spec, database, storage, services}.
  std::optional<nlohmann::json> manifest(const std::string& ns, const BackupInfo& backup,
                                         BackupError* error);
  // Replaces the files of the mounted volume `volume_dir` with `path` of
  // the backup ("storage/NAME", "services/NAME"), owned by `uid`: unpacked
  // in wok's own directory, the volume's entries moved aside, the backup's
  // copied in by descriptor (no symlink followed), the old ones removed
  // only then (put back on a failure). `redis_snapshot`: `path` holds a
  // Redis snapshot, made into the server's append-only files once unpacked
  // (runtime::redis_aof_from_snapshot).
  std::string restore_volume(const std::string& ns, const BackupInfo& backup,
                             const std::string& path, const std::filesystem::path& volume_dir,
                             unsigned uid, bool redis_snapshot = false);
  // Refuses a backup whose files would unpack larger than what `spec`
  // gives them (its volumes, services, twice its database and 64Mi): a
  // sparse file that backs up to nothing never fills the host's disk.
  std::string check_restore_size(const std::string& ns, const BackupInfo& backup,
                                 const nlohmann::json& spec);
  // Replaces the database of `site` (whose live spec is `spec`, its server
  // Ready) with the backup's dump.
  std::string restore_database(const std::string& ns, const BackupInfo& backup,
                               const nlohmann::json& site, const nlohmann::json& spec);
  // Forgets the scheduled backups of site name/uid that `keep` does not keep.
  std::string apply_retention(const std::string& ns, const std::string& name,
                              const std::string& uid, const BackupKeep& keep);
  // Every repository: forgets the backups of sites that are gone (or made
  // again: another uid), and of projects that are gone, once older than
  // their retention.
  void sweep_deleted();

 private:
  // The repository of project ns: "NS.PROJECT-UID" (a project made again
  // under the same name has another); nullopt when the project is gone.
  std::optional<std::string> repo_of(const std::string& ns);
  // restic's argv for repository `repo`, then `args`.
  std::vector<std::string> restic(const std::string& repo, const std::vector<std::string>& args,
                                  const std::filesystem::path& cwd = {}) const;
  runtime::CommandResult run(const std::vector<std::string>& argv,
                             std::chrono::milliseconds timeout, int stdout_fd = -1);
  std::string ensure_repository(const std::string& repo);
  bool has_repository(const std::string& repo) const;
  std::optional<std::vector<BackupInfo>> list_repo(const std::string& repo, const std::string& ns,
                                                   const std::string& site, BackupError* error);
  std::string forget(const std::string& repo, const std::vector<std::string>& args);
  // restic's own lock refuses a restore while a prune runs: ours makes it wait.
  std::shared_mutex& repo_lock(const std::string& repo);

  store::Store& store_;
  runtime::Runtime& runtime_;
  SecretReader read_secret_;
  std::string data_dir_;
  BackupSettings settings_;
  std::atomic<bool> cancelled_{false};
  // Site `key` ("ns/name") busy with `what` once a backup of it is over;
  // nullopt and a 409 when a restore or deletion of it runs.
  std::optional<Hold> hold(const std::string& key, const char* what, BackupError* error);
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::shared_mutex>> locks_;  // by repository
  std::map<std::string, std::string> busy_;  // "ns/name" -> "backup", "restore", "deletion"
  std::condition_variable idle_;             // a site's backup or restore ended
  bool wait_for_backup(std::unique_lock<std::mutex>& lock, const std::string& key);
  std::mutex init_mu_;
};

// Parses restic's `snapshots --json` output into backups, newest first.
std::vector<BackupInfo> parse_snapshots(const std::string& ns, const std::string& json_text);

// What a sweep forgets, on both platforms (wok up's Backups, a cluster's
// `wok backup-job sweep`): the ids of the backups of sites that are gone
// (their name not in `live`, name -> uid, or now another site's of that
// name) once their retention (their retain= days) is over at `now`
// (seconds since the epoch). A backup whose time cannot be read is kept.
std::vector<std::string> expired_of_deleted_sites(const std::vector<BackupInfo>& all,
                                                  const std::map<std::string, std::string>& live,
                                                  int64_t now);

}  // namespace wok::controllers
