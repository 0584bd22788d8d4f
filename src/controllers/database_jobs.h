#pragma once
// `wok db dump`, `wok db import`, `wok db shell` on the embedded platform
// (and, later, a backup's dump): the engine's own client run once in a
// sandbox of the site (its project's uid, its limits, no capabilities),
// joined to the site's network, connected to SITE-db as the site's user with
// the password of its secret. Nothing runs on the host and nothing new is
// reachable: the job sees what the site's own instances see.
#include <chrono>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "controllers/secret_env.h"
#include "render/database_client.h"

namespace wok::runtime {
class Runtime;
}
namespace wok::store {
class Store;
}

namespace wok::controllers {

// The client's argv (render/database_client.h): the same on a cluster's
// backup Job.
using render::database_client_command;
using render::DatabaseAction;

struct DatabaseJobIo {
  int stdin_fd = -1;   // kExec: the SQL; -1: nothing
  int stdout_fd = -1;  // where the output goes (a file)
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

struct DatabaseJobResult {
  int exit_code = -1;
  std::string error;         // why it failed: the client's last lines, or why it could not run
  bool no_database = false;  // the site has no spec.database
  bool not_running = false;  // its server is not Ready
};

// Runs `action` for `site` (a Site object with its uid) whose live revision
// has `live_spec`. Fails, saying why, when the site has no database or its
// server is not Ready.
DatabaseJobResult run_database_job(store::Store& store, runtime::Runtime& runtime,
                                   const SecretReader& read_secret, const nlohmann::json& site,
                                   const nlohmann::json& live_spec, DatabaseAction action,
                                   const DatabaseJobIo& io);

// A snapshot of service `service` of `site` (render::service_snapshot_command:
// Redis's `redis-cli --rdb -`) written to io.stdout_fd, by its client run
// the same way. not_running when its server is not Ready.
DatabaseJobResult run_service_snapshot(store::Store& store, runtime::Runtime& runtime,
                                       const SecretReader& read_secret, const nlohmann::json& site,
                                       const nlohmann::json& live_spec, const std::string& service,
                                       const DatabaseJobIo& io);

// Ends every database job still running (wok stops: nobody waits for their
// answers, and a dump may otherwise hold the stop for its 30 minutes).
void end_database_jobs(runtime::Runtime& runtime);

}  // namespace wok::controllers
