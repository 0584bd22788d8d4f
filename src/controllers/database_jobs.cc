#include "controllers/database_jobs.h"

#include <atomic>
#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "controllers/workloads.h"
#include "render/plan.h"
#include "runtime/runtime.h"
#include "runtime/subprocess.h"
#include "store/store.h"

namespace wok::controllers {

namespace fs = std::filesystem;
using nlohmann::json;

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
    return {"/bin/sh", "-c",
            "exec mariadb " + connect + " --default-character-set=utf8mb4 --table \"$DB_NAME\""};
  }
  const std::string connect = "--host=\"$DB_HOST\" --port=\"$DB_PORT\" --username=\"$DB_USER\"";
  if (action == DatabaseAction::kDump)
    return {"/bin/sh", "-c",
            "exec pg_dump " + connect + " --no-owner --no-privileges --dbname=\"$DB_NAME\""};
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
  job.id = "db." + ns + "." + name + "." + std::to_string(::getpid()) + "-" +
           std::to_string(serial.fetch_add(1));
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
  job.resources.memory_bytes = 512ll << 20;
  job.grace = std::chrono::seconds(2);
  job.labels["wok.dev/site-uid"] = uid;
  std::vector<std::string> argv = runtime.prepare_job(job, &error);
  if (argv.empty()) {
    result.error = error;
    return result;
  }
  runtime::CommandResult r = runtime::run_command(argv, io.timeout, io.stdout_fd, -1, io.stdin_fd);
  runtime.end_job(job.id);
  result.exit_code = r.exit_code;
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
