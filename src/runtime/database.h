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
// PostgreSQL runs the version its spec names. A start finding data of an
// older version (wok db upgrade made the spec newer) upgrades it first:
// pg_upgrade into a copy on the same volume (room for it is checked), the
// copy renamed "data.upgraded" once complete and swapped in; a start cut
// short at any point finds either the old data whole or the complete copy.
// Data of a newer version is never started on an older server: its own
// version runs it if the host has it (a revision that upgraded it failed
// afterwards and its predecessor, naming the old version, runs again).
//
// The server listens on its port in the instance's own network namespace,
// joined to the site's network (site_network.h) as the service "db" and
// "SITE-db": the site's instances reach it, nothing else can.
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/instance.h"

namespace wok::runtime {

inline constexpr char kDatabaseMount[] = "/var/lib/wok-db";

struct DatabaseServer {
  std::string engine;          // "mariadb", "postgresql", "redis" or "rabbitmq"
  uint16_t port = 0;           // 3306, 5432
  std::string database, user;  // database: none for redis, rabbitmq; user: none for redis
  std::string password;        // render::check_database_password holds
  int64_t memory_bytes = 512ll << 20;
  std::string version;  // postgresql: the major version to run (the plan's: "15"); required
};

// The versions of PostgreSQL the host has side by side (Debian's layout:
// /usr/lib/postgresql/N/bin/postgres), oldest first.
std::vector<std::string> installed_postgresql_versions(
    const std::string& root = "/usr/lib/postgresql");

// Sets spec->command, spec->port (probed: ready once it listens) and
// spec->files (the start script, the SQL it runs); false with `error`.
bool configure_database(const DatabaseServer& db, InstanceSpec* spec, std::string* error);

// A Redis snapshot (`dump.rdb` in `dir`, wok's own directory: a backup's
// services/NAME unpacked) made into what the server of redis_config loads
// at its start: with appendonly on, Redis 7 reads only its append-only
// directory, whose base file may be an RDB. `dir` then holds
// appendonlydir/ with the snapshot as its base, an empty increment and
// the manifest. "" or why not.
std::string redis_aof_from_snapshot(const std::string& dir);

// A Redis snapshot written on stdout by `redis-cli --rdb -` (open in `fd`)
// made a plain RDB file: the 40 hex digits that end the server's diskless
// transfer cut off after the RDB's own end (its EOF opcode 0xFF and its
// 8-byte checksum; a file without the mark ends with those, and 0xFF is no
// hex digit, so the two never look alike). "" or why it is no snapshot.
std::string trim_redis_snapshot(int fd);

}  // namespace wok::runtime
