#include "controllers/backups.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <set>

#include "api/validation.h"
#include "base/sealed_box.h"
#include "base/unique_fd.h"
#include "controllers/database_jobs.h"
#include "controllers/workloads.h"
#include "render/plan.h"
#include "runtime/database.h"
#include "runtime/fd_tree.h"
#include "runtime/subprocess.h"
#include "runtime/volume.h"
#include "store/store.h"

namespace wok::controllers {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr auto kResticTimeout = std::chrono::minutes(60);
// A storage volume whose image holds at most this is backed up from a
// frozen copy (runtime::snapshot_volume: its writers wait for the copy,
// 0.4 s for 1 GiB in the page cache, 3.1 s from disk on the 2-core test
// machine); a fuller one is read while the site runs.
constexpr uint64_t kFrozenCopyMaxBytes = 1ull << 30;

std::string tail(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
  return text;
}

std::string failed(const std::string& what, const runtime::CommandResult& r) {
  std::string err = tail(r.err.empty() ? r.out : r.err);
  return what + " failed" +
         (err.empty() ? " (exit " + std::to_string(r.exit_code) + ")" : ": " + err);
}

// "2026-12-03T19:46:15Z" (restic runs with TZ=UTC) -> seconds since the
// epoch; nullopt when unreadable.
std::optional<int64_t> epoch_of(const std::string& time) {
  std::tm tm{};
  const char* end = ::strptime(time.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || *end != 'Z') return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm));
}

base::UniqueFd open_dir(int at, const std::string& name) {
  return base::UniqueFd(
      ::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// Entry `name` of directory `dir` and all it holds; a link is removed,
// never followed.
void remove_entry(int dir, const std::string& name) {
  if (base::UniqueFd sub = open_dir(dir, name); sub.valid()) {
    runtime::empty_tree(sub.get());
    ::unlinkat(dir, name.c_str(), AT_REMOVEDIR);
  } else {
    ::unlinkat(dir, name.c_str(), 0);
  }
}

// Moves every entry of `from` but `skip` into the directory `to` (by name,
// within one file system: nothing is followed). "" or why not.
std::string move_entries(int from, int to, const std::set<std::string>& skip) {
  for (const auto& n : runtime::entry_names(from)) {
    if (skip.count(n)) continue;
    if (::renameat(from, n.c_str(), to, n.c_str()) != 0)
      return "cannot move " + n + ": " + std::strerror(errno);
  }
  return "";
}

}  // namespace

json BackupInfo::to_json() const {
  return {{"id", id},
          {"time", time},
          {"project", project},
          {"site", site},
          {"siteUid", site_uid},
          {"revision", revision},
          {"reason", reason},
          {"retainDays", retain_days}};
}

std::vector<BackupInfo> parse_snapshots(const std::string& ns, const std::string& text) {
  std::vector<BackupInfo> out;
  json list = json::parse(text, nullptr, false);
  if (!list.is_array()) return out;
  for (const auto& s : list) {
    if (!s.is_object()) continue;
    BackupInfo b;
    b.project = ns;
    b.id = s.value("short_id", "");
    if (const json& o = s.value("original", json());
        o.is_string() && o.get<std::string>().size() >= 8)
      b.original = o.get<std::string>().substr(0, 8);
    std::string time = s.value("time", "");
    b.time = time.size() >= 19 ? time.substr(0, 19) + "Z" : time;
    bool ours = false;
    for (const auto& t : s.value("tags", json::array())) {
      if (!t.is_string()) continue;
      std::string tag = t;
      std::string key = tag.substr(0, tag.find('=')), value;
      if (tag.find('=') != std::string::npos) value = tag.substr(tag.find('=') + 1);
      if (tag == "wok") ours = true;
      if (key == "site") b.site = value;
      if (key == "uid") b.site_uid = value;
      if (key == "reason") b.reason = value;
      if (key == "revision" && !value.empty() && value.size() < 12 &&
          value.find_first_not_of("0123456789") == std::string::npos)
        b.revision = std::stoll(value);
      if (key == "retain" && !value.empty() && value.size() < 6 &&
          value.find_first_not_of("0123456789") == std::string::npos)
        b.retain_days = std::stoi(value);
    }
    if (ours && !b.id.empty() && !b.site.empty()) out.push_back(std::move(b));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const BackupInfo& a, const BackupInfo& b) { return a.time > b.time; });
  return out;
}

std::optional<BackupInfo> find_backup(const std::vector<BackupInfo>& all_backups,
                                      const std::string& ns, const std::string& site,
                                      const std::string& id, const std::string& own_uid,
                                      BackupError* error) {
  const auto* all = &all_backups;
  bool others = false;
  for (const auto& b : *all) {
    // "latest" is the newest backup made to be restored: not the one a
    // restore took of what it replaced (named by its id when wanted).
    if (id == "latest" && b.reason == "pre-restore") continue;
    if (id == "latest" && !own_uid.empty() && b.site_uid != own_uid) {
      others = true;
      continue;
    }
    auto names = [&id](const std::string& short_id) {
      return !short_id.empty() &&
             (short_id == id || (id.size() > short_id.size() && id.starts_with(short_id) &&
                                 id.find_first_not_of("0123456789abcdef") == std::string::npos));
    };
    if (id == "latest" || names(b.id) || names(b.original)) return b;
  }
  if (others) {
    *error = {404, "site \"" + site + "\" of project \"" + ns +
                       "\" has no backup of its own yet; those listed are of an earlier site of "
                       "that name: name one with --backup ID (wok backup list site " +
                       site + ")"};
    return std::nullopt;
  }
  *error = {404, all->empty() ? "site \"" + site + "\" of project \"" + ns + "\" has no backup"
                              : "site \"" + site + "\" of project \"" + ns + "\" has no backup \"" +
                                    id + "\" (wok backup list site " + site + ")"};
  return std::nullopt;
}

std::string put_back_files(const fs::path& unpacked, const fs::path& volume_dir, unsigned uid,
                           const std::string& path, const std::string& backup_id) {
  std::error_code ec;
  fs::remove_all(unpacked / "lost+found", ec);  // the volume has its own
  base::UniqueFd from(::open(unpacked.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!from.valid()) return "backup " + backup_id + " holds no " + path;
  // The volume by descriptor from here on: a name in it is never followed.
  base::UniqueFd volume(
      ::open(volume_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!volume.valid()) return "cannot open " + volume_dir.string() + ": " + std::strerror(errno);
  const std::string aside = ".wok-before-restore-" + base::random_token(6);
  if (::mkdirat(volume.get(), aside.c_str(), 0700) != 0)
    return "cannot make " + aside + " in " + volume_dir.string() + ": " + std::strerror(errno);
  base::UniqueFd old = open_dir(volume.get(), aside);
  if (!old.valid()) return "cannot open " + aside + ": " + std::strerror(errno);
  // What an earlier restore cut short set aside stays where it is.
  std::set<std::string> keep = {aside, "lost+found"};
  for (const auto& n : runtime::entry_names(volume.get()))
    if (n.starts_with(".wok-before-restore-")) keep.insert(n);
  struct statvfs fs_info {};
  const uint64_t capacity = ::fstatvfs(volume.get(), &fs_info) == 0
                                ? static_cast<uint64_t>(fs_info.f_blocks) * fs_info.f_frsize
                                : UINT64_MAX;
  std::string err = move_entries(volume.get(), old.get(), keep);
  if (err.empty()) err = runtime::copy_tree(from.get(), volume.get(), uid, capacity);
  if (!err.empty()) {
    // Put back as it was: what was copied goes, the old entries return.
    for (const auto& n : runtime::entry_names(volume.get()))
      if (!keep.count(n)) remove_entry(volume.get(), n);
    std::string back = move_entries(old.get(), volume.get(), {});
    if (back.empty()) ::unlinkat(volume.get(), aside.c_str(), AT_REMOVEDIR);
    return "restoring " + path + " failed, the files are as they were: " + err +
           (back.empty() ? ""
                         : " (and putting them back: " + back + "; they are in " + aside + ")");
  }
  runtime::empty_tree(old.get());
  ::unlinkat(volume.get(), aside.c_str(), AT_REMOVEDIR);
  return "";
}

void remove_restore_leftovers(const fs::path& volume_dir) {
  base::UniqueFd volume(
      ::open(volume_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!volume.valid()) return;
  for (const auto& n : runtime::entry_names(volume.get()))
    if (n.starts_with(".wok-before-restore-")) remove_entry(volume.get(), n);
}

Backups::Backups(store::Store& store, runtime::Runtime& runtime, SecretReader read_secret,
                 std::string data_dir, BackupSettings settings)
    : store_(store),
      runtime_(runtime),
      read_secret_(std::move(read_secret)),
      data_dir_(std::move(data_dir)),
      settings_(std::move(settings)) {
  // What a backup or restore killed mid-way left: its views of the volumes, its files.
  std::error_code ec;
  const fs::path tmp = settings_.dir / "tmp";
  if (fs::exists(tmp, ec)) {
    runtime::release_volumes_under(tmp);
    for (const auto& entry : fs::directory_iterator(tmp, ec)) fs::remove_all(entry.path(), ec);
  }
  for (const char* sub : {"keys", "repos", "cache", "tmp"})
    fs::create_directories(settings_.dir / sub, ec);
  fs::permissions(settings_.dir, fs::perms::owner_all, ec);
}

Backups::~Backups() { cancel(); }

void Backups::cancel() { cancelled_ = true; }

Backups::Hold::~Hold() {
  if (!owner_) return;
  {
    std::lock_guard lock(owner_->mu_);
    owner_->busy_.erase(key_);
  }
  owner_->idle_.notify_all();
}

bool Backups::wait_for_backup(std::unique_lock<std::mutex>& lock, const std::string& key) {
  // A backup takes seconds to minutes: waited for (a restore, a backup
  // asked meanwhile); a restore is not.
  return idle_.wait_for(lock, kResticTimeout, [&] {
    auto it = busy_.find(key);
    return it == busy_.end() || it->second != "backup";
  });
}

std::optional<Backups::Hold> Backups::hold(const std::string& key, const char* what,
                                           BackupError* error) {
  std::unique_lock lock(mu_);
  wait_for_backup(lock, key);
  if (auto it = busy_.find(key); it != busy_.end()) {
    *error = {409, "a " + it->second + " of site " + key + " is running; try again when it is over",
              false, true};
    return std::nullopt;
  }
  busy_[key] = what;
  return Hold(this, key);
}

std::optional<Backups::Hold> Backups::hold_for_restore(const std::string& ns,
                                                       const std::string& name,
                                                       BackupError* error) {
  return hold(ns + "/" + name, "restore", error);
}

bool Backups::held(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = busy_.find(ns + "/" + name);
  return it != busy_.end() && it->second == "restore";
}

std::shared_mutex& Backups::repo_lock(const std::string& repo) {
  std::lock_guard lock(mu_);
  auto& m = locks_[repo];
  if (!m) m = std::make_unique<std::shared_mutex>();
  return *m;
}

std::optional<std::string> Backups::repo_of(const std::string& ns) {
  auto project = store_.get("Project", "", ns);
  if (!project) return std::nullopt;
  const std::string uid = (*project)["metadata"].value("uid", "");
  if (uid.empty()) return std::nullopt;
  return ns + "." + uid;
}

std::vector<std::string> Backups::restic(const std::string& repo,
                                         const std::vector<std::string>& args,
                                         const fs::path& cwd) const {
  // The key never on a command line; restic's cache beside the
  // repositories; its times in UTC.
  std::string location = (settings_.dir / "repos" / repo).string();
  if (!settings_.repository.empty()) {
    location = settings_.repository;
    for (size_t at; (at = location.find("{project}")) != std::string::npos;)
      location.replace(at, 9, repo);
  }
  std::vector<std::string> argv = {"env"};
  if (!cwd.empty()) argv.insert(argv.end(), {"-C", cwd.string()});
  argv.insert(argv.end(), {"TZ=UTC", "RESTIC_REPOSITORY=" + location,
                           "RESTIC_PASSWORD_FILE=" + (settings_.dir / "keys" / repo).string(),
                           "RESTIC_CACHE_DIR=" + (settings_.dir / "cache").string(), "restic"});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

runtime::CommandResult Backups::run(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout, int stdout_fd) {
  if (cancelled_) {
    runtime::CommandResult r;
    r.err = "wok is stopping";
    return r;
  }
  return runtime::run_command(argv, timeout, stdout_fd, -1, -1, &cancelled_);
}

bool Backups::has_repository(const std::string& repo) const {
  std::error_code ec;
  if (!fs::exists(settings_.dir / "keys" / repo, ec)) return false;
  if (settings_.repository.empty())
    return fs::exists(settings_.dir / "repos" / repo / "config", ec);
  return true;
}

std::string Backups::ensure_repository(const std::string& repo) {
  std::lock_guard lock(init_mu_);
  const fs::path key = settings_.dir / "keys" / repo;
  std::error_code ec;
  if (!fs::exists(key, ec)) {
    // Written whole under another name, then linked: never a half key.
    const fs::path part = key.string() + ".part-" + base::random_token(6);
    base::UniqueFd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid() || !base::write_all(fd.get(), base::random_token(32) + "\n") ||
        ::fsync(fd.get()) != 0)
      return "cannot write the backup key of " + repo + ": " + std::strerror(errno);
    if (::link(part.c_str(), key.c_str()) != 0 && errno != EEXIST)
      return "cannot keep the backup key of " + repo + ": " + std::strerror(errno);
    ::unlink(part.c_str());
  }
  if (settings_.repository.empty() && fs::exists(settings_.dir / "repos" / repo / "config", ec))
    return "";
  if (!settings_.repository.empty() &&
      run(restic(repo, {"cat", "config"}), std::chrono::minutes(2)).ok())
    return "";
  runtime::CommandResult r = run(restic(repo, {"init"}), std::chrono::minutes(5));
  if (!r.ok()) return failed("restic init of repository " + repo, r);
  return "";
}

std::optional<BackupInfo> Backups::create(const std::string& ns, const std::string& name,
                                          const std::string& reason, BackupError* error) {
  auto fail = [&](int status, std::string message) -> std::optional<BackupInfo> {
    *error = {status, std::move(message)};
    return std::nullopt;
  };
  auto site = store_.get("Site", ns, name);
  if (!site) return fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  auto repo = repo_of(ns);
  if (!repo) return fail(404, "project \"" + ns + "\" not found");
  const std::string uid = (*site)["metadata"].value("uid", "");
  auto live = store_.live_revision(uid);
  if (!live) {
    *error = {409, "site " + ns + "/" + name + " has no deployed revision yet: nothing to back up",
              true};
    return std::nullopt;
  }
  json spec = json::parse(live->spec, nullptr, false);
  if (!spec.is_object()) return fail(500, "the live revision's spec does not parse");
  // One backup or restore of a site at a time; its staging directory is
  // the same each time, so restic finds the last snapshot and reads only
  // what changed.
  const std::string key = ns + "/" + name;
  auto busy = hold(key, "backup", error);
  if (!busy) return std::nullopt;
  if (std::string err = ensure_repository(*repo); !err.empty()) return fail(500, err);
  std::shared_lock repo_hold(repo_lock(*repo));

  const fs::path staging = settings_.dir / "tmp" / ("backup-" + ns + "." + name + "." + uid);
  std::error_code ec;
  runtime::release_volumes_under(staging);
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return fail(500, "cannot make " + staging.string() + ": " + ec.message());
  // Copies of volumes (runtime::snapshot_volume), beside it: not
  // in the backup themselves, their files are (mounted in staging).
  const fs::path copies = staging.string() + ".copies";
  fs::remove_all(copies, ec);
  fs::create_directories(copies, ec);
  fs::permissions(copies, fs::perms::owner_all, ec);
  struct Cleanup {
    fs::path dir, copies;
    ~Cleanup() {
      runtime::release_volumes_under(dir);
      std::error_code ec;
      fs::remove_all(dir, ec);
      fs::remove_all(copies, ec);
    }
  } cleanup{staging, copies};

  const json planned = {{"metadata", (*site)["metadata"]}, {"spec", spec}};
  const render::SitePlan plan = render::plan_site(planned);
  auto project = store_.get("Project", "", ns);
  const SnapshotOf of{
      ns,           name,
      uid,          live->number,
      live->commit, spec,
      reason,       api::backup_policy(spec, project ? project->value("spec", json()) : json())};
  json manifest = snapshot_manifest(of);
  if (plan.database.enabled()) {
    base::UniqueFd out(
        ::open((staging / "database.sql").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out.valid())
      return fail(500, std::string("cannot write the dump: ") + std::strerror(errno));
    DatabaseJobIo io;
    io.stdout_fd = out.get();
    DatabaseJobResult r =
        run_database_job(store_, runtime_, read_secret_, *site, spec, DatabaseAction::kDump, io);
    if (!r.error.empty())
      return fail(r.not_running ? 503 : 500, "the database's dump failed: " + r.error);
    manifest["database"] = {{"engine", plan.database.engine}, {"version", plan.database.version}};
  }
  const fs::path storage = fs::path(data_dir_) / "sites" / ns / name / uid / "storage";
  for (const auto& v : plan.volumes) {
    if (!runtime::is_volume_mounted(storage, v.name)) continue;
    // Its files at one instant (the volume frozen while its image is
    // copied: its writers wait meanwhile) when its image holds little
    // enough to copy in a moment (its blocks: what the files hold, and
    // what deleted ones left); a larger one is read while the site runs.
    struct stat image {};
    const uint64_t held = ::lstat((storage / (v.name + ".img")).c_str(), &image) == 0
                              ? static_cast<uint64_t>(image.st_blocks) * 512
                              : UINT64_MAX;
    std::string err =
        held <= kFrozenCopyMaxBytes
            ? runtime::snapshot_volume(storage, v.name, copies / ("storage-" + v.name + ".img"),
                                       staging / "storage" / v.name)
            : runtime::bind_read_only_no_symlinks(storage / v.name, staging / "storage" / v.name);
    if (!err.empty()) return fail(500, "storage " + v.name + ": " + err);
    manifest["storage"].push_back(v.name);
    if (held <= kFrozenCopyMaxBytes) manifest["frozen"].push_back("storage/" + v.name);
  }
  for (const auto& s : plan.services) {
    const fs::path dir = service_dir(storage.string(), s.name);
    if (!runtime::is_volume_mounted(dir, "data")) continue;
    // A running Redis makes a snapshot (one point in time, as a replica's
    // first sync gets it), as on a cluster; a server that is not running,
    // and RabbitMQ, have a snapshot of their volume taken.
    if (!render::service_snapshot_command(s.engine, "-").empty()) {
      std::error_code mk;
      fs::create_directories(staging / "services" / s.name, mk);
      const fs::path file = staging / "services" / s.name / render::kRedisSnapshot;
      base::UniqueFd out(::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!out.valid())
        return fail(500, "cannot write " + file.string() + ": " + std::strerror(errno));
      DatabaseJobIo io;
      io.stdout_fd = out.get();
      DatabaseJobResult r =
          run_service_snapshot(store_, runtime_, read_secret_, *site, spec, s.name, io);
      if (r.error.empty()) r.error = runtime::trim_redis_snapshot(out.get());
      if (r.error.empty()) {
        manifest["services"].push_back(
            {{"name", s.name}, {"engine", s.engine}, {"snapshot", render::kRedisSnapshot}});
        continue;
      }
      if (!r.not_running)
        return fail(500, "the snapshot of service " + s.name + " failed: " + r.error);
      out.reset();
      fs::remove_all(staging / "services" / s.name, mk);
    }
    // Its files at one point in time (what a crash at that point would
    // leave, which its server recovers from), not read while they change.
    if (std::string err = runtime::snapshot_volume(dir, "data", copies / (s.name + ".img"),
                                                   staging / "services" / s.name);
        !err.empty())
      return fail(500, "service " + s.name + ": " + err);
    manifest["services"].push_back({{"name", s.name}, {"engine", s.engine}});
    manifest["frozen"].push_back("services/" + s.name);
  }
  {
    base::UniqueFd out(
        ::open((staging / "backup.json").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out.valid() || !base::write_all(out.get(), manifest.dump(2) + "\n"))
      return fail(500, std::string("cannot write backup.json: ") + std::strerror(errno));
  }
  runtime::CommandResult r = run(restic(*repo, snapshot_backup_args(of), staging), kResticTimeout);
  if (!r.ok()) return fail(500, failed("restic backup", r));
  const std::string id = snapshot_id(r.out);
  if (id.empty()) return fail(500, "restic backup said no snapshot id");
  auto all = list_repo(*repo, ns, name, error);
  if (!all) return std::nullopt;
  std::optional<BackupInfo> made;
  int manual = 0;
  for (const auto& b : *all) {
    if (b.id == id) made = b;
    if (b.site_uid == uid && b.reason == reason) ++manual;
  }
  if (!made) return fail(500, "the backup " + id + " is not listed");
  repo_hold.unlock();
  // Bounded: a member cannot fill the host's disk with backups made by
  // hand, nor with restores (each makes one of what it replaces).
  if (reason != "scheduled" && manual > kManualBackupsKept) {
    if (std::string err = forget(*repo, manual_cap_args(name, uid, reason)); !err.empty())
      spdlog::warn("backups of site {}: {}", key, err);
  }
  return made;
}

std::optional<std::vector<BackupInfo>> Backups::list_repo(const std::string& repo,
                                                          const std::string& ns,
                                                          const std::string& site,
                                                          BackupError* error) {
  if (!has_repository(repo)) return std::vector<BackupInfo>{};
  std::string filter = "wok";
  if (!site.empty()) filter += ",site=" + site;
  runtime::CommandResult r =
      run(restic(repo, {"snapshots", "--json", "--tag", filter}), std::chrono::minutes(5));
  if (!r.ok()) {
    *error = {500, failed("restic snapshots", r)};
    return std::nullopt;
  }
  return parse_snapshots(ns, r.out);
}

std::optional<std::vector<BackupInfo>> Backups::list(const std::string& ns, const std::string& site,
                                                     BackupError* error) {
  auto repo = repo_of(ns);
  if (!repo) {
    *error = {404, "project \"" + ns + "\" not found"};
    return std::nullopt;
  }
  std::shared_lock hold(repo_lock(*repo));
  return list_repo(*repo, ns, site, error);
}

std::optional<BackupInfo> Backups::find(const std::string& ns, const std::string& site,
                                        const std::string& id, BackupError* error,
                                        const std::string& own_uid) {
  auto all = list(ns, site, error);
  if (!all) return std::nullopt;
  return find_backup(*all, ns, site, id, own_uid, error);
}

std::optional<json> Backups::manifest(const std::string& ns, const BackupInfo& backup,
                                      BackupError* error) {
  auto repo = repo_of(ns);
  if (!repo) {
    *error = {404, "project \"" + ns + "\" not found"};
    return std::nullopt;
  }
  std::shared_lock hold(repo_lock(*repo));
  runtime::CommandResult r =
      run(restic(*repo, {"dump", backup.id, "/backup.json"}), std::chrono::minutes(5));
  json m = r.ok() ? json::parse(r.out, nullptr, false) : json();
  if (!m.is_object() || !m.contains("spec") || !m["spec"].is_object()) {
    *error = {500, r.ok() ? "backup " + backup.id + " has no readable backup.json"
                          : failed("restic dump of backup " + backup.id, r)};
    return std::nullopt;
  }
  return m;
}

std::string Backups::restore_volume(const std::string& ns, const BackupInfo& backup,
                                    const std::string& path, const fs::path& volume_dir,
                                    unsigned uid, bool redis_snapshot) {
  auto repo = repo_of(ns);
  if (!repo) return "project \"" + ns + "\" not found";
  // Unpacked in wok's own directory first, where nothing of a tenant reaches.
  const fs::path unpacked = settings_.dir / "tmp" / ("restore-" + base::random_token(9));
  std::error_code ec;
  fs::create_directories(unpacked, ec);
  fs::permissions(unpacked, fs::perms::owner_all, ec);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{unpacked};
  {
    std::shared_lock hold(repo_lock(*repo));
    runtime::CommandResult r = run(restic(*repo, {"restore", backup.id, "--target",
                                                  unpacked.string(), "--include", "/" + path}),
                                   kResticTimeout);
    if (!r.ok()) return failed("restic restore of " + path + " from backup " + backup.id, r);
  }
  if (redis_snapshot)
    if (std::string err = runtime::redis_aof_from_snapshot((unpacked / path).string());
        !err.empty())
      return "backup " + backup.id + ", " + path + ": " + err;
  return put_back_files(unpacked / path, volume_dir, uid, path, backup.id);
}

std::string Backups::check_restore_size(const std::string& ns, const BackupInfo& backup,
                                        const json& spec) {
  auto repo = repo_of(ns);
  if (!repo) return "project \"" + ns + "\" not found";
  const render::SitePlan plan = render::plan_site({{"metadata", json::object()}, {"spec", spec}});
  uint64_t room = 64u << 20;
  auto bytes = [](const std::string& q) {
    return static_cast<uint64_t>(std::max<long long>(0, api::parse_memory_bytes(q)));
  };
  for (const auto& v : plan.volumes) room += bytes(v.size);
  for (const auto& v : plan.services) room += bytes(v.size);
  if (plan.database.enabled()) room += 2 * bytes(plan.database.size);
  std::shared_lock hold(repo_lock(*repo));
  runtime::CommandResult r =
      run(restic(*repo, {"stats", backup.id, "--mode", "restore-size", "--json"}),
          std::chrono::minutes(10));
  json stats = r.ok() ? json::parse(r.out, nullptr, false) : json();
  if (!stats.is_object() || !stats.contains("total_size"))
    return r.ok() ? "restic stats said no size" : failed("restic stats of backup " + backup.id, r);
  const uint64_t size = stats.value("total_size", uint64_t{0});
  if (size > room)
    return "backup " + backup.id + " unpacks to " + std::to_string(size >> 20) +
           " MiB, more than the site's volumes and database hold (" + std::to_string(room >> 20) +
           " MiB): not restored";
  return "";
}

std::string Backups::restore_database(const std::string& ns, const BackupInfo& backup,
                                      const json& site, const json& spec) {
  auto repo = repo_of(ns);
  if (!repo) return "project \"" + ns + "\" not found";
  const fs::path tmp = settings_.dir / "tmp";
  base::UniqueFd dump(::open(tmp.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!dump.valid()) return std::string("cannot make a temporary file: ") + std::strerror(errno);
  {
    std::shared_lock hold(repo_lock(*repo));
    runtime::CommandResult r =
        run(restic(*repo, {"dump", backup.id, "/database.sql"}), kResticTimeout, dump.get());
    if (!r.ok()) return failed("restic dump of the database of backup " + backup.id, r);
  }
  if (::lseek(dump.get(), 0, SEEK_SET) != 0) return std::string("lseek: ") + std::strerror(errno);
  base::UniqueFd out(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  DatabaseJobIo io;
  io.stdin_fd = dump.get();
  io.stdout_fd = out.get();
  DatabaseJobResult job =
      run_database_job(store_, runtime_, read_secret_, site, spec, DatabaseAction::kRestore, io);
  if (!job.error.empty()) return "the database's import failed: " + job.error;
  return "";
}

std::optional<BackupInfo> Backups::remove(const std::string& ns, const std::string& site,
                                          const std::string& id, BackupError* error) {
  if (id.empty() || id == "latest") {
    *error = {400, "name the backup to delete by its id (wok backup list site " + site +
                       "), not \"latest\""};
    return std::nullopt;
  }
  auto backup = find(ns, site, id, error);
  if (!backup) return std::nullopt;
  const std::string key = ns + "/" + site;
  // Nothing else of the site runs meanwhile (a backup is waited for).
  auto busy = hold(key, "deletion", error);
  if (!busy) return std::nullopt;
  auto repo = repo_of(ns);
  if (!repo) {
    *error = {404, "project \"" + ns + "\" not found"};
    return std::nullopt;
  }
  if (std::string err = forget(*repo, {backup->id}); !err.empty()) {
    *error = {500, err};
    return std::nullopt;
  }
  spdlog::info("backups of site {}: {} deleted", key, backup->id);
  return backup;
}

std::string Backups::forget(const std::string& repo, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"forget"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--prune");
  std::unique_lock hold(repo_lock(repo));  // a prune: nothing else reads the repository meanwhile
  runtime::CommandResult r = run(restic(repo, argv), kResticTimeout);
  return r.ok() ? "" : failed("restic forget", r);
}

std::string Backups::apply_retention(const std::string& ns, const std::string& name,
                                     const std::string& uid, const BackupKeep& keep) {
  auto repo = repo_of(ns);
  if (!repo) return "project \"" + ns + "\" not found";
  const std::vector<std::string> args = retention_args(name, uid, keep);
  if (args.empty()) return "";  // nothing said: everything kept
  return forget(*repo, args);
}

std::vector<std::string> expired_of_deleted_sites(const std::vector<BackupInfo>& all,
                                                  const std::map<std::string, std::string>& live,
                                                  int64_t now) {
  std::vector<std::string> ids;
  for (const auto& b : all) {
    auto it = live.find(b.site);
    if (it != live.end() && it->second == b.site_uid) continue;
    auto when = epoch_of(b.time);  // unreadable: kept
    if (when && now - *when > int64_t{b.retain_days} * 86400) ids.push_back(b.id);
  }
  return ids;
}

void Backups::sweep_deleted() {
  std::error_code ec;
  std::vector<std::string> repos;
  for (const auto& entry : fs::directory_iterator(settings_.dir / "keys", ec)) {
    std::string name = entry.path().filename();
    if (name.find(".part-") == std::string::npos && has_repository(name)) repos.push_back(name);
  }
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  for (const auto& repo : repos) {
    const std::string ns = repo.substr(0, repo.find('.'));
    // The sites of the project this repository is of (none when it is gone).
    std::map<std::string, std::string> live;
    if (repo_of(ns) == repo)
      for (const auto& site : store_.list("Site", ns))
        live[site["metadata"].value("name", "")] = site["metadata"].value("uid", "");
    BackupError error;
    std::optional<std::vector<BackupInfo>> all;
    {
      std::shared_lock hold(repo_lock(repo));
      all = list_repo(repo, ns, "", &error);
    }
    if (!all) {
      spdlog::warn("backups of {}: {}", repo, error.message);
      continue;
    }
    std::vector<std::string> ids = expired_of_deleted_sites(*all, live, now);
    if (ids.empty()) continue;
    if (std::string err = forget(repo, ids); !err.empty())
      spdlog::warn("backups of {}: {}", repo, err);
    else
      spdlog::info("backups of {}: {} of deleted sites forgotten (their retention is over)", repo,
                   ids.size());
  }
}

}  // namespace wok::controllers
