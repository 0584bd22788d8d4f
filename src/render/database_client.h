#pragma once
// The database engines' own clients as a site's jobs run them, on both
// platforms: `wok db dump|import|shell` and a backup's dump on wok up
// (controllers/database_jobs.h), and the dump init container of a cluster's
// backup Job (render_site's CronJob "SITE-backup"). Pure: no I/O.
#include <string>
#include <vector>

namespace wok::render {

enum class DatabaseAction {
  kDump,     // a consistent dump (one transaction) of the site's database on stdout
  kExec,     // SQL from stdin, its output on stdout; the first error fails it
  kRestore,  // a dump from stdin replaces the database: its tables dropped first
};

// Pure: the client's argv for `engine` ("mariadb", "postgresql"); it reads
// DB_HOST, DB_PORT, DB_USER, DB_NAME and its password from the environment
// (MYSQL_PWD, PGPASSWORD), never from its command line.
std::vector<std::string> database_client_command(const std::string& engine, DatabaseAction action);

// The file a Redis service's snapshot is in, in services/NAME/ of a backup
// (both platforms).
inline constexpr char kRedisSnapshot[] = "dump.rdb";

// Pure: the argv that writes a snapshot of service `engine`'s data into
// `file` ("-": stdout), as the server makes it for a replica (one point in
// time, every database): `redis-cli --rdb` for "redis"; empty for an
// engine without one. It reads SVC_HOST, SVC_PORT and REDISCLI_AUTH (the
// password) from the environment. On stdout the snapshot may be followed
// by the 40-byte end mark of the server's diskless transfer (redis-cli
// cuts it off a file only): runtime::trim_redis_snapshot removes it. A
// backup on wok up (controllers/database_jobs.h) and the dump init
// container of a cluster's backup Job run it.
std::vector<std::string> service_snapshot_command(const std::string& engine,
                                                  const std::string& file);

}  // namespace wok::render
