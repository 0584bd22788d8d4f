#include "controllers/database_jobs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/validation.h"
#include "base/unique_fd.h"
#include "controllers/workloads.h"
#include "render/plan.h"
#include "runtime/runtime.h"
#include "runtime/subprocess.h"
#include "store/store.h"

namespace wok::controllers {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::mutex running_mu;
std::set<std::string> running_jobs;  // ids

}  // namespace

void end_database_jobs(runtime::Runtime& runtime) {
  std::set<std::string> ids;
  {
    std::lock_guard lock(running_mu);
    ids = running_jobs;
  }
  for (const auto& id : ids) runtime.end_job(id);
}

std::vector<std::string> database_client_command(const std::string& engine, DatabaseAction action) {
  // sh -c with "$VAR": the values stay out of the command line (ps).
  if (engine == "mariadb") {
    const std::string connect =
        "--host=\"$DB_HOST\" --port=\"$DB_PORT\" --user=\"$DB_USER\" --protocol=tcp";
    if (action == DatabaseAction::kDump)
      return {"/bin/sh", "-c",
              "exec mariadb-dump " + connect +
                  " --single-transaction --routines --triggers --events --no-tablespaces "
                  "--default-character-set=utf8mb4 \"$DB_NAME\""};
    if (action == DatabaseAction::kRestore) {
      // Every table, view, routine and event of the database dropped, then
      // the dump, whose DEFINER clauses (another site's user, for a clone)
      // are left out (not in rows: INSERT lines are kept as they are).
      const std::string q =
          "CONCAT(CHAR(96), REPLACE(%, CHAR(96), CONCAT(CHAR(96), CHAR(96))), CHAR(96))";
      auto quoted = [&](const std::string& what) {
        std::string out = q;
        out.replace(out.find('%'), 1, what);
        return out;
      };
      const std::string list =
          "SELECT CONCAT(\"DROP \", IF(table_type = \"VIEW\", \"VIEW\", \"TABLE\"), \" IF EXISTS "
          "\", " +
          quoted("table_name") +
          ", \";\") FROM information_schema.tables WHERE table_schema = DATABASE() "
          "UNION ALL SELECT CONCAT(\"DROP \", routine_type, \" IF EXISTS \", " +
          quoted("routine_name") +
          ", \";\") FROM information_schema.routines WHERE routine_schema = DATABASE() "
          "UNION ALL SELECT CONCAT(\"DROP EVENT IF EXISTS \", " +
          quoted("event_name") +
          ", \";\") FROM information_schema.events WHERE event_schema = DATABASE()";
      return {"/bin/sh", "-c",
              "drops=$(mariadb " + connect + " --batch --raw --skip-column-names -e '" + list +
                  "' \"$DB_NAME\") || exit 1\n"
                  "{ echo 'SET FOREIGN_KEY_CHECKS=0;'; printf '%s\\n' \"$drops\"; "
                  "sed -E '/^INSERT INTO/!s/DEFINER=`[^`]+`@`[^`]+`//'; } | exec mariadb " +
                  connect + " --sandbox --default-character-set=utf8mb4 \"$DB_NAME\""};
    }
    // --sandbox: no \\! (shell), no reading or writing local files.
    return {"/bin/sh", "-c",
            "exec mariadb " + connect +
                " --sandbox --default-character-set=utf8mb4 --table \"$DB_NAME\""};
  }
  const std::string connect = "--host=\"$DB_HOST\" --port=\"$DB_PORT\" --username=\"$DB_USER\"";
  if (action == DatabaseAction::kDump)
    return {"/bin/sh", "-c",
            "exec pg_dump " + connect + " --no-owner --no-privileges --dbname=\"$DB_NAME\""};
  if (action == DatabaseAction::kRestore)  // one transaction: a failed import drops nothing
    return {"/bin/sh", "-c",
            "{ echo 'DROP OWNED BY CURRENT_USER;'; cat; } | exec psql " + connect +
                " --no-psqlrc --set=ON_ERROR_STOP=1 --quiet --single-transaction --file=- "
                "--dbname=\"$DB_NAME\""};
  return {
      "/bin/sh", "-c",
      "exec psql " + connect + " --no-psqlrc --set=ON_ERROR_STOP=1 --quiet --dbname=\"$DB_NAME\""};
}

DatabaseJobResult run_database_job(store::Store& store, runtime::Runtime& runtime,
                                   const SecretReader& read_secret, const json& site,
                                   const json& live_spec, DatabaseAction action,
                                   const DatabaseJobIo& io) {
  DatabaseJobResult result;
  const std::string ns = site["metadata"].value("namespace", ""),
                    name = site["metadata"].value("name", ""),
                    uid = site["metadata"].value("uid", "");
  const json planned = {{"metadata", site["metadata"]}, {"spec", live_spec}};
  const render::SitePlan plan = render::plan_site(planned);
  const render::DatabasePlan& db = plan.database;
  if (!db.enabled()) {
    result.error = "site " + ns + "/" + name + " has no database (spec.database)";
    result.no_database = true;
    return result;
  }
  const std::string server = instance_id(ns, name, "db", 0, 0);
  auto st = runtime.status(server);
  if (!st || st->phase != runtime::Phase::Ready) {
    result.error = "the database of site " + ns + "/" + name + " is not running" +
                   (st ? std::string(" (") + runtime::phase_name(st->phase) + ")" : "");
    result.not_running = true;
    return result;
  }
  std::string error;
  auto secret = read_secret ? read_secret(ns, db.secret_name, &error) : std::nullopt;
  if (!secret || !secret->count("password")) {
    result.error = secret ? "secret \"" + db.secret_name + "\" has no key \"password\"" : error;
    return result;
  }
  auto project = store.get("Project", "", ns);
  runtime::NetworkSpec net = site_network(
      ns, name, live_spec, !project || api::project_egress(project->value("spec", json::object())));
  if (std::string err = runtime.ensure_network(net); !err.empty()) {
    result.error = err;
    return result;
  }
  static std::atomic<uint64_t> serial{0};
  runtime::InstanceSpec job;
  // Short whatever the names' lengths (an id has at most 128 characters).
  job.id = "dbjob." + std::to_string(::getpid()) + "." + std::to_string(serial.fetch_add(1));
  job.project = ns;
  job.uid = store.project_uid(ns);
  if (job.uid == 0) {
    result.error = "no sandbox uid is left for project \"" + ns + "\"";
    return result;
  }
  job.network = net.name;
  job.command = database_client_command(db.engine, action);
  job.env = {{"DB_HOST", db.host},
             {"DB_PORT", std::to_string(db.port)},
             {"DB_USER", db.user},
             {"DB_NAME", db.database},
             {"HOME", "/tmp"},
             {"MYSQL_PWD", secret->at("password")},
             {"PGPASSWORD", secret->at("password")}};
  // Bounded like the site's own instances: its CPU limit (else one core),
  // and a client's memory.
  job.resources.memory_bytes = 256ll << 20;
  job.resources.cpu_millis = 1000;
  if (auto cpu = live_spec.value("resources", json::object()).value("cpu", "");
      !cpu.empty() && api::parse_cpu_millis(cpu) > 0)
    job.resources.cpu_millis = std::min<int64_t>(1000, api::parse_cpu_millis(cpu));
  job.labels["wok.dev/site"] = ns + "/" + name;
  job.grace = std::chrono::seconds(2);
  job.labels["wok.dev/site-uid"] = uid;
  std::vector<std::string> argv = runtime.prepare_job(job, &error);
  if (argv.empty()) {
    result.error = error;
    return result;
  }
  {
    std::lock_guard lock(running_mu);
    running_jobs.insert(job.id);
  }
  struct Forget {
    std::string id;
    ~Forget() {
      std::lock_guard lock(running_mu);
      running_jobs.erase(id);
    }
  } forget{job.id};
  // The output goes through a pipe and is counted: past the cap the pipe
  // closes, the client dies of it, and the host's disk never fills up.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    runtime.end_job(job.id);
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  const uint64_t cap =
      action == DatabaseAction::kDump
          ? 2 * static_cast<uint64_t>(std::max(0LL, api::parse_memory_bytes(db.size))) + (64u << 20)
          : 64u << 20;
  bool over = false;
  int write_errno = 0;  // the copier's (errno is per thread)
  std::thread copier([&] {
    std::vector<char> buffer(1 << 16);
    uint64_t total = 0;
    while (true) {
      ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      total += static_cast<uint64_t>(n);
      if (total > cap) {
        over = true;
        break;
      }
      if (!base::write_all(io.stdout_fd, std::string_view(buffer.data(), static_cast<size_t>(n)))) {
        write_errno = errno ? errno : EIO;
        break;
      }
    }
    ::close(pipe_fds[0]);  // the writer gets EPIPE from now on
  });
  runtime::CommandResult r = runtime::run_command(argv, io.timeout, pipe_fds[1], -1, io.stdin_fd);
  ::close(pipe_fds[1]);
  copier.join();
  runtime.end_job(job.id);
  result.exit_code = r.exit_code;
  if (over || write_errno) {
    result.exit_code = -1;
    result.error = over ? "the output is over " + std::to_string(cap >> 20) +
                              " MiB (twice the database's size for a dump, 64 MiB for a "
                              "statement's output): stopped"
                        : std::string("cannot keep the output: ") + std::strerror(write_errno);
    return result;
  }
  if (!r.ok()) {
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.size() > 4000) err = "..." + err.substr(err.size() - 4000);
    result.error =
        err.empty() ? "the database client exited with " + std::to_string(r.exit_code) : err;
  }
  return result;
}

}  // namespace wok::controllers
