#pragma once
// spec.database and spec.services on wok up: the engine's server from the
// host's Debian package (mariadb-server, postgresql; redis-server,
// rabbitmq-server), run on the base image in a sandbox
// like any instance: the project's uid, a read-only root, cgroup limits,
// restarted when it dies, its log in the instance's stderr. Its data lives on
// a volume of the declared size mounted at kDatabaseMount; the first start
// makes the data directory (mariadb-install-db, initdb) under a temporary
// name renamed once complete, so a kill -9 mid-way starts over cleanly.
// Every start makes sure the site's database and user exist and gives the
// user the password its secret holds (a changed secret applies at the next
// start). Nobody else has an account: the engine's superuser is reachable
// only from inside that sandbox (a unix socket in its private /tmp).
//
// The server listens on its port in the instance's own network namespace,
// joined to the site's network (site_network.h) as the service "db" and
// "SITE-db": the site's instances reach it, nothing else can.
#include <cstdint>
#include <string>

#include "runtime/instance.h"

namespace wok::runtime {

inline constexpr char kDatabaseMount[] = "/var/lib/wok-db";

struct DatabaseServer {
  std::string engine;          // "mariadb", "postgresql", "redis" or "rabbitmq"
  uint16_t port = 0;           // 3306, 5432
  std::string database, user;  // database: none for redis, rabbitmq; user: none for redis
  std::string password;        // render::check_database_password holds
  int64_t memory_bytes = 512ll << 20;
};

// Sets spec->command, spec->port (probed: ready once it listens) and
// spec->files (the start script, the SQL it runs); false with `error`.
bool configure_database(const DatabaseServer& db, InstanceSpec* spec, std::string* error);

}  // namespace wok::runtime
