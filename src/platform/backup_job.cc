#include "platform/backup_job.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <tuple>

#include "api/validation.h"
#include "base/text.h"
#include "base/unique_fd.h"
#include "cmd/client.h"
#include "controllers/backups.h"
#include "controllers/snapshot.h"
#include "platform/rabbitmq_backup.h"
#include "platform/restic_receiver.h"
#include "render/database_client.h"
#include "render/plan.h"
#include "runtime/subprocess.h"

namespace wok::platform {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr auto kResticTimeout = std::chrono::minutes(60);

std::string env_or(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string failed(const std::string& what, const runtime::CommandResult& r) {
  std::string text = r.err.empty() ? r.out : r.err;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
  return what + " failed" +
         (text.empty() ? " (exit " + std::to_string(r.exit_code) + ")" : ": " + text);
}

// restic, with the repository, key, cache and time zone of this process's
// environment (make_backup sets them: the wok image has no `env`, nor a
// shell). A store whose certificate a private CA signed: that CA, when
// the file WOK_BACKUP_CACERT names is there (the render mounts the
// project's copy of the admin's ca.crt, a file only when the admin gave
// one), trusted instead of the image's system CAs.
std::vector<std::string> restic(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"restic"};
  if (const std::string ca = env_or("WOK_BACKUP_CACERT"); !ca.empty() && fs::exists(ca)) {
    argv.push_back("--cacert");
    argv.push_back(ca);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// restic run again while another Job of the project holds the repository
// (a backup's prune locks it exclusively; restic 0.14 has no --retry-lock):
// every 10 s, for 10 minutes at most.
runtime::CommandResult run_restic(const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout) {
  runtime::CommandResult r;
  for (int tries = 0;; ++tries) {
    r = runtime::run_command(restic(args), timeout);
    if (r.ok() || tries >= 60 || (r.err + r.out).find("already locked") == std::string::npos)
      return r;
    std::this_thread::sleep_for(std::chrono::seconds(10));
  }
}

// What the Job's pod tells the operator: its container's termination
// message (Kubernetes keeps it in the pod's status), written when
// WOK_TERMINATION_LOG names the file (the render sets it).
void tell_operator(const json& said) {
  if (const std::string log = env_or("WOK_TERMINATION_LOG"); !log.empty())
    std::ofstream(log, std::ios::trunc) << said.dump();
}

std::string utc_now() {
  const time_t now = ::time(nullptr);
  tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

bool is_dir(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The repository, made on first use; two Jobs of a project that make it at
// once: the one that loses finds the other's.
std::string ensure_repository() {
  if (runtime::run_command(restic({"cat", "config"}), std::chrono::minutes(2)).ok()) return "";
  runtime::CommandResult init = runtime::run_command(restic({"init"}), std::chrono::minutes(5));
  if (init.ok() || runtime::run_command(restic({"cat", "config"}), std::chrono::minutes(2)).ok())
    return "";
  return failed("restic init of " + env_or("RESTIC_REPOSITORY"), init);
}

// A service's data in a cluster's backup, in services/NAME/: a Redis
// snapshot (dump.rdb), a RabbitMQ export (platform/rabbitmq_backup.h).
// The manifest names the first file as the service's "snapshot".
std::vector<std::string> service_files(const std::string& engine) {
  if (engine == "redis") return {render::kRedisSnapshot};
  if (engine == "rabbitmq") return {kRabbitMqDefinitions, kRabbitMqMessages};
  return {};
}

// What every action needs: names that are names, the repository and its
// key; then this process's environment for restic (it runs nothing else):
// times in UTC, its cache outside the directory it backs up.
bool is_uid(const std::string& uid) {
  return !uid.empty() && uid.size() <= 64 && uid.find_first_of(",= /") == std::string::npos;
}

std::string prepare(const cmd::BackupJobOptions& o) {
  if (!api::is_dns_label(o.project)) return "--project \"" + o.project + "\" is not a DNS label";
  if (o.action == "sweep") {
    for (const auto& site : o.live) {
      const size_t eq = site.find('=');
      if (eq == std::string::npos || !api::is_dns_label(site.substr(0, eq)) ||
          !is_uid(site.substr(eq + 1)))
        return "--live \"" + site + "\" is not NAME=UID";
    }
  } else if (o.action != "list" || !o.site.empty() || !o.uid.empty()) {
    // A list without --site is the project's: every site's, deleted ones
    // too; a list or a show of a site is of any uid of that name.
    if (!api::is_dns_label(o.site)) return "--site \"" + o.site + "\" is not a DNS label";
    const bool any_uid =
        o.action == "list" || o.action == "show" || o.action == "copy" || o.action == "forget";
    if ((!any_uid || !o.uid.empty()) && !is_uid(o.uid))
      return "--uid \"" + o.uid + "\" is not a uid";
  }
  if (env_or("RESTIC_REPOSITORY").empty())
    return "RESTIC_REPOSITORY is not set (the repository to back up into)";
  if (env_or("RESTIC_PASSWORD_FILE").empty())
    return "RESTIC_PASSWORD_FILE is not set (the file holding the repository's key)";
  ::setenv("TZ", "UTC", 1);
  ::setenv("RESTIC_CACHE_DIR", env_or("RESTIC_CACHE_DIR", "/tmp/restic-cache").c_str(), 1);
  return "";
}

std::string make_backup(const cmd::BackupJobOptions& o, json* made) {
  json revision = json::parse(env_or("WOK_BACKUP_REVISION"), nullptr, false);
  if (!revision.is_object() || !revision.contains("spec") || !revision["spec"].is_object() ||
      !revision.contains("revision") || !revision["revision"].is_number_integer())
    return "WOK_BACKUP_REVISION is not {\"revision\": N, \"commit\": C, \"spec\": {...}}";

  // The schedule's policy, its retention: the one the render gave (the
  // site's own spec.backup, or its project's default), else the spec's.
  const json policy = revision.contains("backup") && revision["backup"].is_object()
                          ? revision["backup"]
                          : api::backup_policy(revision["spec"], json());
  controllers::SnapshotOf of{o.project,
                             o.site,
                             o.uid,
                             revision["revision"].get<int64_t>(),
                             revision.value("commit", ""),
                             revision["spec"],
                             o.reason,
                             policy};
  json manifest = controllers::snapshot_manifest(of);
  const fs::path dir = o.dir;
  if (!is_dir(dir)) return "--dir " + dir.string() + " is not a directory";
  const render::SitePlan plan =
      render::plan_site({{"metadata", {{"name", o.site}, {"namespace", o.project}, {"uid", o.uid}}},
                         {"spec", of.spec}});
  if (plan.database.enabled()) {
    struct stat st {};
    if (::lstat((dir / "database.sql").c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size == 0)
      return "no dump of the database in " + (dir / "database.sql").string() +
             " (its init container did not make one)";
    manifest["database"] = {{"engine", plan.database.engine}, {"version", plan.database.version}};
  }
  for (const auto& v : plan.volumes) {
    if (!is_dir(dir / "storage" / v.name))
      return "the volume " + v.name + " is not mounted at " + (dir / "storage" / v.name).string();
    manifest["storage"].push_back(v.name);
  }
  // Services: what their init containers fetched.
  for (const auto& svc : plan.services) {
    const std::vector<std::string> files = service_files(svc.engine);
    if (files.empty()) continue;
    for (const std::string& name : files) {
      const fs::path file = dir / "services" / svc.name / name;
      struct stat st {};
      if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return "no snapshot of the service " + svc.name + " in " + file.string() +
               " (its init container did not make one)";
    }
    manifest["services"].push_back(
        {{"name", svc.name}, {"engine", svc.engine}, {"snapshot", files.front()}});
  }
  {
    base::UniqueFd f(::open((dir / "backup.json").c_str(),
                            O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    const std::string text = manifest.dump(2) + "\n";
    if (!f.valid() || ::write(f.get(), text.data(), text.size()) != ssize_t(text.size()))
      return "cannot write " + (dir / "backup.json").string() + ": " + std::strerror(errno);
  }
  // Its paths relative to the directory it backs up.
  if (std::string err = ensure_repository(); !err.empty()) return err;
  if (::chdir(dir.c_str()) != 0)
    return "cannot enter " + dir.string() + ": " + std::strerror(errno);
  runtime::CommandResult r = run_restic(controllers::snapshot_backup_args(of), kResticTimeout);
  if (!r.ok()) return failed("restic backup", r);
  const std::string id = controllers::snapshot_id(r.out);
  if (id.empty()) return "restic backup said no snapshot id";
  *made = {{"id", id.substr(0, 8)}, {"project", o.project},    {"site", o.site},
           {"siteUid", o.uid},      {"revision", of.revision}, {"reason", o.reason}};
  // The site's status.backup.last and lastTime, as wok up's.
  tell_operator({{"id", id.substr(0, 8)}, {"time", utc_now()}});
  // What the site's policy no longer keeps, as on wok up: a scheduled
  // backup's retention, a manual one's cap. A repository another Job holds
  // refuses the prune: the next backup does it.
  std::vector<std::string> forget =
      o.reason == "scheduled"
          ? controllers::retention_args(o.site, o.uid, controllers::backup_keep(policy))
          : controllers::manual_cap_args(o.site, o.uid, o.reason);
  if (!forget.empty()) {
    forget.insert(forget.begin(), "forget");
    forget.push_back("--prune");
    runtime::CommandResult f = run_restic(forget, kResticTimeout);
    if (!f.ok()) std::cerr << "warning: " << failed("restic forget", f) << "\n";
  }
  return "";
}

// The site's current spec and volumes (WOK_BACKUP_REVISION, as for a
// backup): the backup's data goes into the volumes the site has now.
// Backup `ref` (an id, or latest: of the site of uid `uid` only when not
// "") of the project's site `site` in the repository; nullopt, with why.
std::optional<controllers::BackupInfo> find_site_backup(const std::string& project,
                                                        const std::string& site,
                                                        const std::string& ref,
                                                        const std::string& uid,
                                                        std::string* error) {
  runtime::CommandResult listed =
      run_restic({"snapshots", "--json", "--tag", "wok,site=" + site}, std::chrono::minutes(5));
  if (!listed.ok()) {
    *error = failed("restic snapshots", listed);
    return std::nullopt;
  }
  controllers::BackupError why;
  auto backup = controllers::find_backup(controllers::parse_snapshots(project, listed.out), project,
                                         site, ref, uid, &why);
  if (!backup) *error = why.message;
  return backup;
}

// A file of the transfer's key (a Secret's item), its trailing newline off.
std::string read_key_file(const fs::path& file) {
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// `copy`: one backup of the project's site --site into the one-time
// repository --to serves (a clone's in another project, receive_repository),
// made with the transfer's password; then tells it the copy is done.
std::string copy_backup(const cmd::BackupJobOptions& o, json* copied) {
  if (!api::is_backup_ref(o.backup))
    return "--backup \"" + o.backup + "\" is not a backup id (8 to 64 hex digits) nor latest";
  if (!o.to.starts_with("http://") || o.to.size() <= 7 || o.to.back() != '/' ||
      o.to.find_first_of("@ ?#") != std::string::npos)
    return "--to \"" + o.to + "\" is not http://HOST:PORT/ (without credentials)";
  const fs::path key = o.transfer_key;
  const std::string token = read_key_file(key / "token");
  if (token.empty() || !fs::exists(key / "password"))
    return "--transfer-key " + key.string() + " holds no token and password";
  std::string error;
  auto backup = find_site_backup(o.project, o.site, o.backup, "", &error);
  if (!backup) return error;
  // restic takes the credentials from the URL (and never prints them).
  const std::string to = "rest:http://wok:" + percent_encode(token) + "@" + o.to.substr(7);
  const std::vector<std::string> dest = {"-r", to, "-p", (key / "password").string()};
  auto with = [&dest](std::vector<std::string> args) {
    args.insert(args.begin(), dest.begin(), dest.end());
    return args;
  };
  runtime::CommandResult r = runtime::run_command(restic(with({"init"})), std::chrono::minutes(5));
  if (!r.ok()) return failed("restic init of the transfer's repository " + o.to, r);
  r = runtime::run_command(
      restic(with({"copy", "--from-repo", env_or("RESTIC_REPOSITORY"), "--from-password-file",
                   env_or("RESTIC_PASSWORD_FILE"), backup->id})),
      kResticTimeout);
  if (!r.ok()) return failed("restic copy of backup " + backup->id + " to " + o.to, r);
  const std::string base = o.to.substr(7, o.to.size() - 8);  // HOST:PORT, no slash
  cmd::ApiClient receiver("http://wok:" + percent_encode(token) + "@" + base, "");
  cmd::HttpResponse done = receiver.request_text("POST", "/done", "", "text/plain", 60);
  if (done.status != 200)
    return "telling " + o.to + " the copy is done failed: " +
           (done.status == 0 ? done.error
                             : "HTTP " + std::to_string(done.status) + " " + done.body);
  *copied = {{"id", backup->id}, {"site", o.site}, {"project", o.project}, {"time", backup->time}};
  return "";
}

std::string restore_backup(const cmd::BackupJobOptions& o, json* done) {
  if (!o.from.empty() && !api::is_dns_label(o.from))
    return "--from \"" + o.from + "\" is not a DNS label";
  // A clone takes another site's backup: any of that name (its uid
  // unknown here), and its database only when the engines match.
  const bool clone = !o.from.empty();
  const std::string source = clone ? o.from : o.site;
  if (!api::is_backup_ref(o.backup))
    return "--backup \"" + o.backup + "\" is not a backup id (8 to 64 hex digits) nor latest";
  json revision = json::parse(env_or("WOK_BACKUP_REVISION"), nullptr, false);
  if (!revision.is_object() || !revision.contains("spec") || !revision["spec"].is_object())
    return "WOK_BACKUP_REVISION is not {\"revision\": N, \"commit\": C, \"spec\": {...}}";
  const fs::path dir = o.dir;
  if (!is_dir(dir)) return "--dir " + dir.string() + " is not a directory";
  std::string error;
  auto backup = find_site_backup(o.project, source, o.backup, clone ? "" : o.uid, &error);
  if (!backup) return error;
  // Unpacked apart (this pod's own space), then put into each volume.
  const fs::path unpacked = "/tmp/wok-restore";
  std::error_code ec;
  fs::remove_all(unpacked, ec);
  runtime::CommandResult r =
      run_restic({"restore", backup->id, "--target", unpacked.string()}, kResticTimeout);
  if (!r.ok()) return failed("restic restore of backup " + backup->id, r);
  json manifest;
  {
    std::ifstream in(unpacked / "backup.json");
    manifest = json::parse(in, nullptr, false);
  }
  if (!manifest.is_object()) return "backup " + backup->id + " has no readable backup.json";
  const render::SitePlan plan =
      render::plan_site({{"metadata", {{"name", o.site}, {"namespace", o.project}, {"uid", o.uid}}},
                         {"spec", revision["spec"]}});
  json db = manifest.value("database", json());
  if (clone && db.is_object() && db.value("engine", "") != plan.database.engine) db = nullptr;
  if (plan.database.enabled() && db.is_object() && db.value("engine", "") != plan.database.engine)
    return "backup " + backup->id + " holds a " + db.value("engine", "") +
           " database and the site's is " + plan.database.engine +
           ": restore it into a new site on wok up";
  json restored = json::array();
  for (const auto& v : plan.volumes) {
    bool held = false;
    for (const auto& n : manifest.value("storage", json::array())) held = held || n == v.name;
    if (!held) continue;
    const fs::path volume = dir / "storage" / v.name;
    if (!is_dir(volume)) return "the volume " + v.name + " is not mounted at " + volume.string();
    if (std::string err = controllers::put_back_files(unpacked / "storage" / v.name, volume,
                                                      ::getuid(), "storage/" + v.name, backup->id);
        !err.empty())
      return err;
    restored.push_back(v.name);
  }
  // Services' snapshots, for their imports that follow (a clone's: a
  // service of the same name and engine). A backup of a service's files
  // (wok up's) has no snapshot to import.
  json services = json::array();
  for (const auto& svc : plan.services) {
    const std::vector<std::string> files = service_files(svc.engine);
    bool held = false;
    for (const auto& m : manifest.value("services", json::array()))
      held =
          held || (!files.empty() && m.is_object() && m.value("name", "") == svc.name &&
                   m.value("engine", "") == svc.engine && m.value("snapshot", "") == files.front());
    if (!held) continue;
    const fs::path to = dir / "services" / svc.name;
    for (const std::string& name : files) {
      const fs::path from = unpacked / "services" / svc.name / name;
      struct stat st {};
      if (::lstat(from.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return "backup " + backup->id + " lists the service " + svc.name + " but holds no " + name +
               " of it";
      fs::create_directories(to, ec);
      if (!ec) fs::copy_file(from, to / name, fs::copy_options::overwrite_existing, ec);
      if (ec) return "cannot put the snapshot at " + (to / name).string() + ": " + ec.message();
    }
    services.push_back(svc.name);
  }
  // The dump, for the import that follows (the database's own client).
  bool dump = false;
  if (plan.database.enabled() && db.is_object()) {
    fs::copy_file(unpacked / "database.sql", dir / "database.sql",
                  fs::copy_options::overwrite_existing, ec);
    if (ec)
      return "cannot put the dump at " + (dir / "database.sql").string() + ": " + ec.message();
    dump = true;
  }
  fs::remove_all(unpacked, ec);
  // The backup's revision, for the operator to pin.
  if (!clone)
    tell_operator({{"revision", backup->revision}, {"commit", manifest.value("commit", "")}});
  *done = {{"id", backup->id},    {"project", o.project},
           {"site", source},      {"revision", backup->revision},
           {"storage", restored}, {"database", dump},
           {"services", services}};
  return "";
}

// One backup of the site (any uid of that name: a deleted one's) with the
// revision it holds (its spec and commit, from its backup.json): what
// `wok backup restore --to NEW --kubeconfig` makes the new site of when
// the site is gone.
std::string show_backup(const cmd::BackupJobOptions& o, json* shown) {
  if (!api::is_backup_ref(o.backup))
    return "--backup \"" + o.backup + "\" is not a backup id (8 to 64 hex digits) nor latest";
  std::string error;
  auto backup = find_site_backup(o.project, o.site, o.backup, "", &error);
  if (!backup) return error;
  runtime::CommandResult dumped =
      run_restic({"dump", backup->id, "/backup.json"}, std::chrono::minutes(5));
  if (!dumped.ok()) return failed("restic dump of backup " + backup->id, dumped);
  const json manifest = json::parse(dumped.out, nullptr, false);
  if (!manifest.is_object() || !manifest.value("spec", json()).is_object())
    return "backup " + backup->id + " has no readable backup.json";
  *shown = backup->to_json();
  (*shown)["spec"] = manifest["spec"];
  (*shown)["commit"] = manifest.value("commit", "");
  return "";
}

// `forget`: one backup of the site (a deleted one's too) deleted, the data
// no other backup holds pruned (as wok up's `wok backup delete`); named by
// its id, never latest (what survives a mistake is not deleted by a guess).
std::string forget_backup(const cmd::BackupJobOptions& o, json* deleted) {
  if (o.backup == "latest" || !api::is_backup_ref(o.backup))
    return "--backup \"" + o.backup + "\" is not a backup id (8 to 64 hex digits)";
  std::string error;
  auto backup = find_site_backup(o.project, o.site, o.backup, "", &error);
  if (!backup) return error;
  runtime::CommandResult forgot = run_restic({"forget", backup->id, "--prune"}, kResticTimeout);
  if (!forgot.ok()) return failed("restic forget " + backup->id, forgot);
  *deleted = backup->to_json();
  return "";
}

// Whether the project's repository is there: "" when it is (*exists) or
// when restic says it has no config file at that location (no backup made
// yet); else why it cannot be read (a wrong key, an unreachable or refused
// store), which is an error, never an empty list.
std::string find_repository(bool* exists) {
  runtime::CommandResult r =
      runtime::run_command(restic({"cat", "config"}), std::chrono::minutes(2));
  *exists = r.ok();
  if (r.ok()) return "";
  const std::string said = r.err + r.out;
  // Only a missing config file: "does not exist" alone is also what a
  // store says of credentials it does not know ("The AWS Access Key Id you
  // provided does not exist in our records"), which is an error.
  const bool absent = said.find("unable to open config file") != std::string::npos &&
                      (said.find("no such file or directory") != std::string::npos ||
                       said.find("The specified key does not exist") != std::string::npos ||
                       said.find("NoSuchKey") != std::string::npos);
  if (absent) return "";
  return failed("reading the repository " + env_or("RESTIC_REPOSITORY"), r);
}

// The site's backups (every uid of that name: a deleted one's too), or
// without --site the project's (every site's), newest first, as the API's
// BackupList items.
std::string list_backups(const cmd::BackupJobOptions& o, json* items) {
  *items = json::array();
  bool exists = false;
  if (std::string err = find_repository(&exists); !err.empty() || !exists)
    return err;  // "": no backup made yet
  runtime::CommandResult r =
      run_restic({"snapshots", "--json", "--tag", o.site.empty() ? "wok" : "wok,site=" + o.site},
                 std::chrono::minutes(5));
  if (!r.ok()) return failed("restic snapshots", r);
  for (const auto& b : controllers::parse_snapshots(o.project, r.out))
    items->push_back(b.to_json());
  return "";
}

// The project's deleted sites' backups whose retention is over, forgotten
// (controllers::expired_of_deleted_sites, as wok up's sweep): their ids;
// and what the repository holds after it (*items, as list_backups): the
// project's list a cluster shows when no site is left to ask through.
std::string sweep_backups(const cmd::BackupJobOptions& o, json* forgotten, json* items) {
  *forgotten = json::array();
  *items = json::array();
  bool exists = false;
  if (std::string err = find_repository(&exists); !err.empty() || !exists)
    return err;  // "": no backup made yet
  runtime::CommandResult r =
      run_restic({"snapshots", "--json", "--tag", "wok"}, std::chrono::minutes(5));
  if (!r.ok()) return failed("restic snapshots", r);
  std::map<std::string, std::string> live;
  for (const auto& site : o.live)
    live[site.substr(0, site.find('='))] = site.substr(site.find('=') + 1);
  const std::vector<controllers::BackupInfo> all = controllers::parse_snapshots(o.project, r.out);
  const std::vector<std::string> ids =
      controllers::expired_of_deleted_sites(all, live, static_cast<int64_t>(::time(nullptr)));
  if (!ids.empty()) {
    std::vector<std::string> args = {"forget"};
    args.insert(args.end(), ids.begin(), ids.end());
    args.push_back("--prune");
    if (runtime::CommandResult f = run_restic(args, kResticTimeout); !f.ok())
      return failed("restic forget", f);
  }
  *forgotten = ids;
  for (const auto& b : all)
    if (std::find(ids.begin(), ids.end(), b.id) == ids.end()) items->push_back(b.to_json());
  return "";
}

}  // namespace

int run_backup_job(const cmd::BackupJobOptions& options, std::ostream& out, std::ostream& err) {
  if (options.action == "rabbitmq-export" || options.action == "rabbitmq-import") {
    const bool export_ = options.action == "rabbitmq-export";
    const RabbitMqServer server{options.url, options.user, env_or("WOK_RABBITMQ_PASSWORD")};
    std::string error;
    if (!options.url.starts_with("http://") && !options.url.starts_with("https://"))
      error = "--url \"" + options.url + "\" is not an http:// or https:// URL";
    else if (server.password.empty())
      error = "WOK_RABBITMQ_PASSWORD is not set (the user's password)";
    else
      error = export_ ? export_rabbitmq(server, options.dir) : import_rabbitmq(server, options.dir);
    if (!error.empty()) {
      err << "error: RabbitMQ " << (export_ ? "export from " : "import into ") << options.url
          << ": " << error << "\n";
      return 1;
    }
    out << json{{export_ ? "exported" : "imported", options.dir}}.dump() << "\n";
    return 0;
  }
  if (options.action == "receive") {
    ReceiveOptions ro;
    ro.dir = options.dir;
    ro.token = read_key_file(fs::path(options.transfer_key) / "token");
    const size_t colon = options.listen.rfind(':');
    ro.host = colon == std::string::npos ? options.listen : options.listen.substr(0, colon);
    const std::string port = colon == std::string::npos ? "" : options.listen.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos ||
        std::stoi(port) > 65535) {
      err << "error: --listen \"" << options.listen << "\" is not HOST:PORT\n";
      return 1;
    }
    ro.port = static_cast<uint16_t>(std::stoi(port));
    ro.timeout = std::chrono::seconds(options.timeout_seconds);
    return receive_repository(ro, out, err);
  }
  if (options.action == "sweep") {
    json forgotten, items;
    std::string error = prepare(options);
    if (error.empty()) error = sweep_backups(options, &forgotten, &items);
    if (!error.empty()) {
      err << "error: sweep of project " << options.project << "'s backups: " << error << "\n";
      return 1;
    }
    out << json{{"forgotten", forgotten}, {"items", items}, {"time", utc_now()}}.dump() << "\n";
    return 0;
  }
  const auto& [what, key, action] =
      options.action == "list"      ? std::tuple{"list", "items", &list_backups}
      : options.action == "restore" ? std::tuple{"restore", "restored", &restore_backup}
      : options.action == "show"    ? std::tuple{"show", "backup", &show_backup}
      : options.action == "copy"    ? std::tuple{"copy", "copied", &copy_backup}
      : options.action == "forget"  ? std::tuple{"deletion", "deleted", &forget_backup}
                                    : std::tuple{"backup", "backup", &make_backup};
  json result;
  std::string error = prepare(options);
  if (error.empty()) error = action(options, &result);
  if (!error.empty()) {
    err << "error: " << what << " of "
        << (options.site.empty() ? "project " + options.project
                                 : "site " + options.project + "/" + options.site)
        << ": " << error << "\n";
    return 1;
  }
  out << json{{key, result}}.dump() << "\n";
  return 0;
}

int run_backup_job(const cmd::BackupJobOptions& options) {
  return run_backup_job(options, std::cout, std::cerr);
}

}  // namespace wok::platform
