#include "controllers/database_jobs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
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

namespace {

// One run of a client (`command`, with `env`) in a sandbox of the site,
// joined to its network, once `server` (an instance of the site) is Ready;
// what it writes on stdout goes to io.stdout_fd, up to `cap` bytes.
struct ClientRun {
  std::string server;  // the instance id it talks to
  std::string what;    // "the database", "service cache": in errors
  std::string secret_name;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;  // and PASSWORD_ENV -> the secret's password
  std::vector<std::string> password_env;
  uint64_t cap = 64u << 20;
  std::string over_cap;  // why past the cap stops it
};

DatabaseJobResult run_client(store::Store& store, runtime::Runtime& runtime,
                             const SecretReader& read_secret, const json& site,
                             const json& live_spec, ClientRun run, const DatabaseJobIo& io) {
  DatabaseJobResult result;
  const std::string ns = site["metadata"].value("namespace", ""),
                    name = site["metadata"].value("name", ""),
                    uid = site["metadata"].value("uid", "");
  auto st = runtime.status(run.server);
  if (!st || st->phase != runtime::Phase::Ready) {
    result.error = run.what + " of site " + ns + "/" + name + " is not running" +
                   (st ? std::string(" (") + runtime::phase_name(st->phase) + ")" : "");
    result.not_running = true;
    return result;
  }
  std::string error;
  auto secret = read_secret ? read_secret(ns, run.secret_name, &error) : std::nullopt;
  if (!secret || !secret->count("password")) {
    result.error = secret ? "secret \"" + run.secret_name + "\" has no key \"password\"" : error;
    return result;
  }
  for (const auto& e : run.password_env) run.env[e] = secret->at("password");
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
  job.command = std::move(run.command);
  job.env = std::move(run.env);
  job.env["HOME"] = "/tmp";
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
  const uint64_t cap = run.cap;
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
    result.error = over ? "the output is over " + std::to_string(cap >> 20) + " MiB (" +
                              run.over_cap + "): stopped"
                        : std::string("cannot keep the output: ") + std::strerror(write_errno);
    return result;
  }
  if (!r.ok()) {
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.size() > 4000) err = "..." + err.substr(err.size() - 4000);
    result.error = err.empty() ? "the client exited with " + std::to_string(r.exit_code) : err;
  }
  return result;
}

uint64_t bytes_of(const std::string& quantity) {
  return static_cast<uint64_t>(std::max(0LL, api::parse_memory_bytes(quantity)));
}

}  // namespace

DatabaseJobResult run_database_job(store::Store& store, runtime::Runtime& runtime,
                                   const SecretReader& read_secret, const json& site,
                                   const json& live_spec, DatabaseAction action,
                                   const DatabaseJobIo& io) {
  const std::string ns = site["metadata"].value("namespace", ""),
                    name = site["metadata"].value("name", "");
  const json planned = {{"metadata", site["metadata"]}, {"spec", live_spec}};
  const render::SitePlan plan = render::plan_site(planned);
  const render::DatabasePlan& db = plan.database;
  if (!db.enabled()) {
    DatabaseJobResult result;
    result.error = "site " + ns + "/" + name + " has no database (spec.database)";
    result.no_database = true;
    return result;
  }
  ClientRun run;
  run.server = instance_id(ns, name, "db", 0, 0);
  run.what = "the database";
  run.secret_name = db.secret_name;
  run.command = database_client_command(db.engine, action);
  run.env = {{"DB_HOST", db.host},
             {"DB_PORT", std::to_string(db.port)},
             {"DB_USER", db.user},
             {"DB_NAME", db.database}};
  run.password_env = {"MYSQL_PWD", "PGPASSWORD"};
  const bool dump = action == DatabaseAction::kDump;
  run.cap = dump ? 2 * bytes_of(db.size) + (64u << 20) : 64u << 20;
  run.over_cap =
      dump ? "twice the database's size and 64 MiB for a dump" : "64 MiB for a statement's output";
  return run_client(store, runtime, read_secret, site, live_spec, std::move(run), io);
}

DatabaseJobResult run_service_snapshot(store::Store& store, runtime::Runtime& runtime,
                                       const SecretReader& read_secret, const json& site,
                                       const json& live_spec, const std::string& service,
                                       const DatabaseJobIo& io) {
  const std::string ns = site["metadata"].value("namespace", ""),
                    name = site["metadata"].value("name", "");
  const render::SitePlan plan =
      render::plan_site({{"metadata", site["metadata"]}, {"spec", live_spec}});
  const render::ServicePlan* svc = nullptr;
  for (const auto& s : plan.services)
    if (s.name == service) svc = &s;
  DatabaseJobResult result;
  if (!svc) {
    result.error = "site " + ns + "/" + name + " has no service \"" + service + "\"";
    result.no_database = true;
    return result;
  }
  ClientRun run;
  run.command = render::service_snapshot_command(svc->engine, "-");
  if (run.command.empty()) {
    result.error = "a " + svc->engine + " service has no snapshot";
    return result;
  }
  run.server = instance_id(ns, name, svc->name, 0, 0);
  run.what = "service " + svc->name;
  run.secret_name = svc->secret_name;
  run.env = {{"SVC_HOST", svc->host}, {"SVC_PORT", std::to_string(svc->port)}};
  run.password_env = {"REDISCLI_AUTH"};
  // A snapshot is at most what the server holds in memory (its maxmemory
  // is below its memory limit), or its volume.
  run.cap = 2 * std::max(bytes_of(svc->size), bytes_of(svc->memory)) + (64u << 20);
  run.over_cap = "twice the service's size or memory and 64 MiB";
  return run_client(store, runtime, read_secret, site, live_spec, std::move(run), io);
}

}  // namespace wok::controllers
