#include "controllers/backups.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

#include "base/sealed_box.h"
#include "base/unique_fd.h"
#include "controllers/database_jobs.h"
#include "controllers/workloads.h"
#include "render/plan.h"
#include "runtime/subprocess.h"
#include "runtime/volume.h"
#include "store/store.h"

namespace wok::controllers {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr auto kResticTimeout = std::chrono::minutes(60);

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

// "2026-12-03T19:46:15.731305689Z" -> seconds since the epoch (0: unreadable).
int64_t epoch_of(const std::string& time) {
  std::tm tm{};
  if (!::strptime(time.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(::timegm(&tm));
}

// lchown of every file under `dir` (never following a symlink).
unsigned chown_uid = 0;
int chown_one(const char* path, const struct stat*, int, struct FTW*) {
  ::lchown(path, chown_uid, chown_uid);
  return 0;
}
std::mutex chown_mu;
void chown_tree(const fs::path& dir, unsigned uid) {
  std::lock_guard lock(chown_mu);
  chown_uid = uid;
  ::nftw(dir.c_str(), chown_one, 32, FTW_PHYS | FTW_MOUNT);
}

// A read-only view of `source` at `target` for restic to read.
std::string bind_read_only(const fs::path& source, const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target, ec);
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return "cannot bind " + source.string() + ": " + std::strerror(errno);
  if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
    return "cannot make " + target.string() + " read-only: " + std::strerror(errno);
  return "";
}

}  // namespace

int BackupKeep::retain_days() const {
  int days = std::max({daily, weekly * 7, monthly * 31, hourly > 0 ? 1 : 0});
  return days > 0 ? days : 30;
}

BackupKeep backup_keep(const json& spec) {
  BackupKeep keep;
  const json backup = spec.value("backup", json::object());
  if (!backup.contains("keep")) {
    if (backup.contains("schedule")) keep.daily = 7, keep.weekly = 4;
    return keep;
  }
  const json& k = backup["keep"];
  keep.last = k.value("last", 0);
  keep.hourly = k.value("hourly", 0);
  keep.daily = k.value("daily", 0);
  keep.weekly = k.value("weekly", 0);
  keep.monthly = k.value("monthly", 0);
  return keep;
}

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
    std::string time = s.value("time", "");
    b.time = time.substr(0, 19) + "Z";
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

Backups::Backups(store::Store& store, runtime::Runtime& runtime, SecretReader read_secret,
                 std::string data_dir, BackupSettings settings)
    : store_(store),
      runtime_(runtime),
      read_secret_(std::move(read_secret)),
      data_dir_(std::move(data_dir)),
      settings_(std::move(settings)) {
  // What a backup killed mid-way left: its views of the volumes, its files.
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

std::mutex& Backups::project_lock(const std::string& ns) {
  std::lock_guard lock(mu_);
  auto& m = locks_[ns];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

std::string Backups::repository(const std::string& ns) const {
  if (settings_.repository.empty()) return (settings_.dir / "repos" / ns).string();
  std::string r = settings_.repository;
  for (size_t at; (at = r.find("{project}")) != std::string::npos;) r.replace(at, 9, ns);
  return r;
}

std::vector<std::string> Backups::restic(const std::string& ns,
                                         const std::vector<std::string>& args,
                                         const fs::path& cwd) const {
  // The key never on a command line; restic's cache beside the repositories.
  std::vector<std::string> argv = {"env"};
  if (!cwd.empty()) argv.insert(argv.end(), {"-C", cwd.string()});
  argv.insert(argv.end(), {"RESTIC_REPOSITORY=" + repository(ns),
                           "RESTIC_PASSWORD_FILE=" + (settings_.dir / "keys" / ns).string(),
                           "RESTIC_CACHE_DIR=" + (settings_.dir / "cache").string(), "restic"});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

bool Backups::has_repository(const std::string& ns) const {
  std::error_code ec;
  if (!fs::exists(settings_.dir / "keys" / ns, ec)) return false;
  if (settings_.repository.empty()) return fs::exists(settings_.dir / "repos" / ns / "config", ec);
  return true;
}

std::string Backups::ensure_repository(const std::string& ns) {
  const fs::path key = settings_.dir / "keys" / ns;
  std::error_code ec;
  if (!fs::exists(key, ec)) {
    // Written whole under another name, then linked: never a half key.
    const fs::path part = key.string() + ".part-" + base::random_token(6);
    base::UniqueFd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid() || !base::write_all(fd.get(), base::random_token(32) + "\n") ||
        ::fsync(fd.get()) != 0)
      return "cannot write the backup key of project " + ns + ": " + std::strerror(errno);
    if (::link(part.c_str(), key.c_str()) != 0 && errno != EEXIST)
      return "cannot keep the backup key of project " + ns + ": " + std::strerror(errno);
    ::unlink(part.c_str());
  }
  if (settings_.repository.empty() && fs::exists(settings_.dir / "repos" / ns / "config", ec))
    return "";
  if (!settings_.repository.empty() &&
      runtime::run_command(restic(ns, {"cat", "config"}), std::chrono::minutes(2)).ok())
    return "";
  runtime::CommandResult r = runtime::run_command(restic(ns, {"init"}), std::chrono::minutes(5));
  if (!r.ok()) return failed("restic init of project " + ns + "'s repository", r);
  return "";
}

std::vector<std::string> Backups::projects() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(settings_.dir / "keys", ec)) {
    std::string name = entry.path().filename();
    if (name.find('.') == std::string::npos && has_repository(name)) out.push_back(name);
  }
  return out;
}

std::optional<BackupInfo> Backups::create(const std::string& ns, const std::string& name,
                                          const std::string& reason, BackupError* error) {
  auto fail = [&](int status, std::string message) -> std::optional<BackupInfo> {
    *error = {status, std::move(message)};
    return std::nullopt;
  };
  auto site = store_.get("Site", ns, name);
  if (!site) return fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  const std::string uid = (*site)["metadata"].value("uid", "");
  auto live = store_.live_revision(uid);
  if (!live)
    return fail(409,
                "site " + ns + "/" + name + " has no deployed revision yet: nothing to back up");
  json spec = json::parse(live->spec, nullptr, false);
  if (!spec.is_object()) return fail(500, "the live revision's spec does not parse");
  std::lock_guard lock(project_lock(ns));
  if (std::string err = ensure_repository(ns); !err.empty()) return fail(500, err);

  const fs::path staging = settings_.dir / "tmp" / ("backup-" + base::random_token(9));
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec) return fail(500, "cannot make " + staging.string() + ": " + ec.message());
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      runtime::release_volumes_under(dir);
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{staging};

  const json planned = {{"metadata", (*site)["metadata"]}, {"spec", spec}};
  const render::SitePlan plan = render::plan_site(planned);
  json manifest = {{"apiVersion", "wok.dev/v1alpha1"},
                   {"kind", "SiteBackup"},
                   {"project", ns},
                   {"site", name},
                   {"siteUid", uid},
                   {"revision", live->number},
                   {"commit", live->commit},
                   {"spec", spec},
                   {"storage", json::array()},
                   {"services", json::array()},
                   {"database", nullptr}};
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
    if (std::string err = bind_read_only(storage / v.name, staging / "storage" / v.name);
        !err.empty())
      return fail(500, err);
    manifest["storage"].push_back(v.name);
  }
  for (const auto& s : plan.services) {
    const fs::path dir = service_dir(storage.string(), s.name);
    if (!runtime::is_volume_mounted(dir, "data")) continue;
    if (std::string err = bind_read_only(dir / "data", staging / "services" / s.name); !err.empty())
      return fail(500, err);
    manifest["services"].push_back({{"name", s.name}, {"engine", s.engine}});
  }
  {
    base::UniqueFd out(
        ::open((staging / "backup.json").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out.valid() || !base::write_all(out.get(), manifest.dump(2) + "\n"))
      return fail(500, std::string("cannot write backup.json: ") + std::strerror(errno));
  }
  const BackupKeep keep = backup_keep((*site)["spec"]);
  std::vector<std::string> args = {"backup", "--json",
                                   "--host", "wok",
                                   "--tag",  "wok",
                                   "--tag",  "site=" + name,
                                   "--tag",  "uid=" + uid,
                                   "--tag",  "revision=" + std::to_string(live->number),
                                   "--tag",  "reason=" + reason,
                                   "--tag",  "retain=" + std::to_string(keep.retain_days()),
                                   "."};
  runtime::CommandResult r = runtime::run_command(restic(ns, args, staging), kResticTimeout);
  if (!r.ok()) return fail(500, failed("restic backup", r));
  std::string id;
  for (size_t at = 0; at < r.out.size();) {  // one JSON object per line; the summary last
    size_t end = r.out.find('\n', at);
    json line =
        json::parse(r.out.substr(at, end == std::string::npos ? end : end - at), nullptr, false);
    if (line.is_object() && line.value("message_type", "") == "summary")
      id = line.value("snapshot_id", "");
    at = end == std::string::npos ? r.out.size() : end + 1;
  }
  if (id.empty()) return fail(500, "restic backup said no snapshot id");
  BackupError find_error;
  auto made = find(ns, name, id, &find_error);
  if (!made) return fail(500, "the backup " + id + " is not listed: " + find_error.message);
  return made;
}

std::optional<std::vector<BackupInfo>> Backups::list(const std::string& ns, const std::string& site,
                                                     BackupError* error) {
  if (!has_repository(ns)) return std::vector<BackupInfo>{};
  std::string filter = "wok";
  if (!site.empty()) filter += ",site=" + site;
  runtime::CommandResult r = runtime::run_command(
      restic(ns, {"snapshots", "--json", "--tag", filter}), std::chrono::minutes(5));
  if (!r.ok()) {
    *error = {500, failed("restic snapshots", r)};
    return std::nullopt;
  }
  return parse_snapshots(ns, r.out);
}

std::optional<BackupInfo> Backups::find(const std::string& ns, const std::string& site,
                                        const std::string& id, BackupError* error) {
  auto all = list(ns, site, error);
  if (!all) return std::nullopt;
  for (const auto& b : *all) {
    if (id == "latest" || b.id == id ||
        (id.size() > b.id.size() && id.starts_with(b.id) &&
         id.find_first_not_of("0123456789abcdef") == std::string::npos))
      return b;
  }
  *error = {404, all->empty() ? "site \"" + site + "\" of project \"" + ns + "\" has no backup"
                              : "site \"" + site + "\" of project \"" + ns + "\" has no backup \"" +
                                    id + "\" (wok backup list site " + site + ")"};
  return std::nullopt;
}

std::optional<json> Backups::manifest(const std::string& ns, const BackupInfo& backup,
                                      BackupError* error) {
  runtime::CommandResult r = runtime::run_command(restic(ns, {"dump", backup.id, "/backup.json"}),
                                                  std::chrono::minutes(5));
  json m = r.ok() ? json::parse(r.out, nullptr, false) : json();
  if (!m.is_object() || !m.contains("spec")) {
    *error = {500, r.ok() ? "backup " + backup.id + " has no readable backup.json"
                          : failed("restic dump of backup " + backup.id, r)};
    return std::nullopt;
  }
  return m;
}

std::string Backups::restore_volume(const std::string& ns, const BackupInfo& backup,
                                    const std::string& path, const fs::path& volume_dir,
                                    unsigned uid) {
  // Beside the files, on the volume's own file system: moved in by rename
  // once restic has written it all.
  const fs::path beside = volume_dir / (".wok-restore-" + base::random_token(6));
  if (::mkdir(beside.c_str(), 0700) != 0)
    return "cannot make " + beside.string() + ": " + std::strerror(errno);
  std::error_code ec;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{beside};
  runtime::CommandResult r = runtime::run_command(
      restic(ns, {"restore", backup.id, "--target", beside.string(), "--include", "/" + path}),
      kResticTimeout);
  if (!r.ok()) return failed("restic restore of " + path + " from backup " + backup.id, r);
  const fs::path restored = beside / path;
  if (!fs::is_directory(fs::symlink_status(restored, ec)))
    return "backup " + backup.id + " holds no " + path;
  for (const auto& entry : fs::directory_iterator(volume_dir, ec)) {
    std::string n = entry.path().filename();
    if (entry.path() == beside || n == "lost+found") continue;
    fs::remove_all(entry.path(), ec);  // never follows a symlink
    if (ec) return "cannot clear " + entry.path().string() + ": " + ec.message();
  }
  for (const auto& entry : fs::directory_iterator(restored, ec)) {
    std::string n = entry.path().filename();
    if (n == "lost+found") continue;
    if (::rename(entry.path().c_str(), (volume_dir / n).c_str()) != 0)
      return "cannot move " + n + " into " + volume_dir.string() + ": " + std::strerror(errno);
  }
  if (ec) return "cannot read " + restored.string() + ": " + ec.message();
  // Its own project's uid (a clone from another project's site).
  cleanup.dir.clear();
  fs::remove_all(beside, ec);
  chown_tree(volume_dir, uid);
  return "";
}

std::string Backups::restore_database(const std::string& ns, const BackupInfo& backup,
                                      const json& site, const json& spec) {
  const fs::path tmp = settings_.dir / "tmp";
  base::UniqueFd dump(::open(tmp.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!dump.valid()) return std::string("cannot make a temporary file: ") + std::strerror(errno);
  runtime::CommandResult r = runtime::run_command(restic(ns, {"dump", backup.id, "/database.sql"}),
                                                  kResticTimeout, dump.get());
  if (!r.ok()) return failed("restic dump of the database of backup " + backup.id, r);
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

std::string Backups::apply_retention(const std::string& ns, const std::string& name,
                                     const std::string& uid, const BackupKeep& keep) {
  std::vector<std::string> args = {"forget", "--tag",
                                   "wok,site=" + name + ",uid=" + uid + ",reason=scheduled",
                                   "--group-by", ""};
  auto add = [&](const char* flag, int n) {
    if (n > 0) args.insert(args.end(), {flag, std::to_string(n)});
  };
  add("--keep-last", keep.last);
  add("--keep-hourly", keep.hourly);
  add("--keep-daily", keep.daily);
  add("--keep-weekly", keep.weekly);
  add("--keep-monthly", keep.monthly);
  if (args.size() == 5) return "";  // nothing said: everything kept
  args.push_back("--prune");
  std::lock_guard lock(project_lock(ns));
  runtime::CommandResult r = runtime::run_command(restic(ns, args), kResticTimeout);
  return r.ok() ? "" : failed("restic forget", r);
}

std::string Backups::sweep_deleted(const std::string& ns,
                                   const std::map<std::string, std::string>& live) {
  BackupError error;
  auto all = list(ns, "", &error);
  if (!all) return error.message;
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  std::vector<std::string> args = {"forget"};
  for (const auto& b : *all) {
    auto it = live.find(b.site);
    if (it != live.end() && it->second == b.site_uid) continue;
    if (now - epoch_of(b.time) > int64_t{b.retain_days} * 86400) args.push_back(b.id);
  }
  if (args.size() == 1) return "";
  args.push_back("--prune");
  std::lock_guard lock(project_lock(ns));
  runtime::CommandResult r = runtime::run_command(restic(ns, args), kResticTimeout);
  return r.ok() ? "" : failed("restic forget", r);
}

}  // namespace wok::controllers
