#include "runtime/database.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "api/base64.h"

namespace wok::runtime {

namespace {

// Names and the password are checked by the plan; quoting them here again
// would hide a bug there: refuse anything unexpected instead.
bool plain(const std::string& s, bool password) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           (password && ((c >= 'A' && c <= 'Z') || c == '.' || c == '~' || c == '-'));
  });
}

// The start script's head: $D the volume, then `init` (which makes
// "$D/data.new") on the first start only, renamed "$D/data" once complete:
// a start killed half-way leaves no "$D/data", and the next one begins again.
std::string first_start(const std::string& init, const std::string& vars = "", bool head = true) {
  return (head ? std::string("set -eu\nD=") + kDatabaseMount + "\n" : std::string()) + vars +
         "if [ ! -e \"$D/data\" ]; then\n"
         "  rm -rf \"$D/data.new\"\n" +
         init +
         "  mv \"$D/data.new\" \"$D/data\"\n"
         "fi\n";
}

std::string mariadb_script(const DatabaseServer& db) {
  const int64_t pool_mb = std::max<int64_t>(32, (db.memory_bytes >> 20) / 4);
  return first_start(
             "  mariadb-install-db --no-defaults --datadir=\"$D/data.new\" --skip-test-db \\\n"
             "    --auth-root-authentication-method=socket --skip-name-resolve --tmpdir=/tmp "
             ">&2\n") +
         "mkdir -p \"$D/tmp\"\n"
         "exec mariadbd --no-defaults --datadir=\"$D/data\" --tmpdir=\"$D/tmp\" \\\n"
         "  --socket=/tmp/mysqld.sock --pid-file=/tmp/mysqld.pid --skip-name-resolve \\\n"
         "  --bind-address=0.0.0.0 --port=" +
         std::to_string(db.port) + " --innodb-buffer-pool-size=" + std::to_string(pool_mb) +
         "M \\\n"
         "  --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \\\n"
         "  --init-file=/etc/wok/init.sql\n";
}

std::string mariadb_sql(const DatabaseServer& db) {
  const std::string who = "'" + db.user + "'@'%'";
  return "CREATE DATABASE IF NOT EXISTS `" + db.database +
         "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n"
         "CREATE USER IF NOT EXISTS " +
         who + " IDENTIFIED BY '" + db.password + "';\nALTER USER " + who + " IDENTIFIED BY '" +
         db.password + "';\nGRANT ALL PRIVILEGES ON `" + db.database + "`.* TO " + who + ";\n";
}

// PostgreSQL's data directory is made by initdb the same way each time:
// pg_upgrade needs the old and the new alike (encoding, locale, superuser).
constexpr char kInitdbArgs[] =
    "-U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale";

// Before the first start's check: a complete upgraded copy replaces the
// data (again, if a start was cut short between the two renames), unless
// the spec went back to the old version meanwhile; then the data, if older
// than $V, is upgraded (see database.h).
std::string postgres_upgrade() {
  return std::string(
             "if [ -e \"$D/data.upgraded\" ]; then\n"
             "  if [ \"$(cat \"$D/data.upgraded/PG_VERSION\")\" = \"$V\" ]; then\n"
             "    rm -rf \"$D/data.old\"\n"
             "    if [ -e \"$D/data\" ]; then mv \"$D/data\" \"$D/data.old\"; fi\n"
             "    mv \"$D/data.upgraded\" \"$D/data\"\n"
             "  fi\n"
             "  rm -rf \"$D/data.upgraded\" \"$D/data.old\"\n"
             "fi\n"
             // Newer data (upgraded by a revision that failed afterwards,
             // its predecessor now started again): its own version runs it.
             "if [ -e \"$D/data\" ] && [ \"$(cat \"$D/data/PG_VERSION\")\" -gt \"$V\" ]; then\n"
             "  HAVE=$(cat \"$D/data/PG_VERSION\")\n"
             "  if [ ! -x \"/usr/lib/postgresql/$HAVE/bin/postgres\" ]; then\n"
             "    echo \"error: the data is PostgreSQL $HAVE's, which this platform no longer has, "
             "and a database is never downgraded to $V\" >&2\n"
             "    exit 1\n"
             "  fi\n"
             "  echo \"the data is PostgreSQL $HAVE's: $HAVE runs it (this revision names $V; a "
             "database is never downgraded)\" >&2\n"
             "  V=$HAVE\n"
             "  B=/usr/lib/postgresql/$V/bin\n"
             "fi\n"
             "if [ -e \"$D/data\" ] && [ \"$(cat \"$D/data/PG_VERSION\")\" != \"$V\" ]; then\n"
             "  HAVE=$(cat \"$D/data/PG_VERSION\")\n"
             "  OB=/usr/lib/postgresql/$HAVE/bin\n"
             "  if [ ! -x \"$OB/postgres\" ]; then\n"
             "    echo \"error: the data is PostgreSQL $HAVE's, which this platform no longer has: "
             "upgrading it needs $OB\" >&2\n"
             "    exit 1\n"
             "  fi\n"
             "  NEED=$(du -sk \"$D/data\" | cut -f1)\n"
             "  NEED=$((NEED + NEED / 10 + 8192))\n"
             "  FREE=$(df -Pk \"$D\" | awk 'NR == 2 { print $4 }')\n"
             "  if [ \"$FREE\" -lt \"$NEED\" ]; then\n"
             "    echo \"error: upgrading PostgreSQL $HAVE to $V copies the data: it needs "
             "$((NEED / 1024)) MiB free on the database's volume, which has $((FREE / 1024)) MiB "
             "(raise spec.database.size)\" >&2\n"
             "    exit 1\n"
             "  fi\n"
             "  echo \"upgrading the data of PostgreSQL $HAVE to $V (pg_upgrade)\" >&2\n"
             // pg_upgrade wants the old data shut down cleanly: a server
             // killed before (its grace ran out) is recovered by a
             // single-user run first, which ends with a clean shutdown.
             "  \"$OB/postgres\" --single -D \"$D/data\" postgres < /dev/null >&2\n"
             "  rm -rf \"$D/data.new\" \"$D/upgrade\"\n"
             "  mkdir \"$D/upgrade\"\n"
             "  \"$B/initdb\" -D \"$D/data.new\" ") +
         kInitdbArgs +
         " >&2\n"
         "  (cd \"$D/upgrade\" && \"$B/pg_upgrade\" -b \"$OB\" -B \"$B\" -d \"$D/data\" "
         "-D \"$D/data.new\" -U postgres >&2)\n"
         "  rm -rf \"$D/upgrade\"\n"
         "  mv \"$D/data.new\" \"$D/data.upgraded\"\n"
         "  mv \"$D/data\" \"$D/data.old\"\n"
         "  mv \"$D/data.upgraded\" \"$D/data\"\n"
         "  rm -rf \"$D/data.old\"\n"
         "  echo \"upgraded the data to PostgreSQL $V\" >&2\n"
         "fi\n";
}

std::string postgres_script(const DatabaseServer& db) {
  const int64_t shared_mb = std::max<int64_t>(16, (db.memory_bytes >> 20) / 4);
  // scram-sha-256 for every version (13 stores md5 by default, which
  // pg_hba.conf's scram-sha-256 then refuses).
  const std::string scram = " -c password_encryption=scram-sha-256";
  return "set -eu\nD=" + std::string(kDatabaseMount) + "\nV=" + db.version +
         "\nB=/usr/lib/postgresql/$V/bin\n" + postgres_upgrade() +
         first_start(std::string("  \"$B/initdb\" -D \"$D/data.new\" ") + kInitdbArgs +
                         " >&2\n"
                         "  \"$B/postgres\" --single -D \"$D/data.new\" postgres < "
                         "/etc/wok/create.sql >&2\n",
                     "", false) +
         "\"$B/postgres\" --single -D \"$D/data\"" + scram +
         " postgres < /etc/wok/init.sql >&2\n"
         "exec \"$B/postgres\" -D \"$D/data\" -c listen_addresses='*' -c port=" +
         std::to_string(db.port) + scram +
         " \\\n"
         "  -c unix_socket_directories=/tmp -c hba_file=/etc/wok/pg_hba.conf \\\n"
         // Its log is readable by the project's viewers: no statements, no row values.
         "  -c log_min_error_statement=panic -c log_error_verbosity=terse \\\n"
         "  -c shared_buffers=" +
         std::to_string(shared_mb) + "MB\n";
}

// Its append-only files in DIR/appendonlydir (redis_aof_from_snapshot
// writes that layout). A backup's snapshot (`redis-cli --rdb`) is sent at
// once: no wait for more replicas (it has none).
std::string redis_config(const DatabaseServer& db) {
  const int64_t max_mb = std::max<int64_t>(16, (db.memory_bytes >> 20) * 3 / 4);
  return "bind 0.0.0.0\nport " + std::to_string(db.port) + "\nprotected-mode no\nrequirepass " +
         db.password + "\ndir " + kDatabaseMount +
         "\nappendonly yes\nappenddirname appendonlydir\nappendfilename "
         "appendonly.aof\nappendfsync everysec\nsave \"\"\nrepl-diskless-sync-delay 0\ndaemonize "
         "no\nlogfile \"\"\n"
         "maxmemory " +
         std::to_string(max_mb) + "mb\nmaxmemory-policy noeviction\n";
}

}  // namespace

std::string redis_aof_from_snapshot(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path from = fs::path(dir) / "dump.rdb", aof = fs::path(dir) / "appendonlydir";
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(from, ec)))
    return "the backup's Redis snapshot " + from.filename().string() + " is missing";
  if (fs::exists(fs::symlink_status(aof, ec)))
    return "the backup holds both a Redis snapshot and an append-only directory";
  fs::create_directory(aof, ec);
  if (!ec) fs::rename(from, aof / "appendonly.aof.1.base.rdb", ec);
  if (ec) return "making the Redis snapshot its append-only base: " + ec.message();
  auto write = [&](const char* name, const std::string& text) {
    FILE* f = std::fopen((aof / name).c_str(), "wx");
    if (!f) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
  };
  if (!write("appendonly.aof.1.incr.aof", "") ||
      !write("appendonly.aof.manifest",
             "file appendonly.aof.1.base.rdb seq 1 type b\n"
             "file appendonly.aof.1.incr.aof seq 1 type i\n"))
    return std::string("writing Redis's append-only manifest: ") + std::strerror(errno);
  return "";
}

std::string trim_redis_snapshot(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::string("fstat: ") + std::strerror(errno);
  // An RDB file: "REDIS" and 4 digits of version first, its EOF opcode
  // and 8 bytes of checksum last.
  char head[5] = {};
  if (st.st_size < 9 + 9 || ::pread(fd, head, 5, 0) != 5 || std::string_view(head, 5) != "REDIS")
    return "the server's snapshot is no RDB file";
  constexpr off_t kMark = 40;
  if (st.st_size < 9 + 9 + kMark) return "";
  char tail[kMark + 9];
  if (::pread(fd, tail, sizeof tail, st.st_size - static_cast<off_t>(sizeof tail)) !=
      static_cast<ssize_t>(sizeof tail))
    return std::string("reading the snapshot: ") + std::strerror(errno);
  const bool marked = static_cast<unsigned char>(tail[0]) == 0xFF &&
                      std::all_of(tail + 9, tail + sizeof tail, [](char c) {
                        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                      });
  if (marked && ::ftruncate(fd, st.st_size - kMark) != 0)
    return std::string("cutting the snapshot's end mark: ") + std::strerror(errno);
  return "";
}

namespace {

std::string rabbitmq_script() {
  return std::string(
             "set -eu\n"
             "D=") +
         kDatabaseMount +
         "\n"
         "export HOME=\"$D\" RABBITMQ_MNESIA_BASE=\"$D/mnesia\" RABBITMQ_LOG_BASE=/tmp \\\n"
         "  RABBITMQ_LOGS=- RABBITMQ_NODENAME=rabbit@localhost \\\n"
         "  RABBITMQ_CONFIG_FILE=/etc/wok/rabbitmq.conf \\\n"
         "  RABBITMQ_ENABLED_PLUGINS_FILE=/tmp/enabled_plugins "
         "RABBITMQ_PID_FILE=/tmp/rabbitmq.pid\n"
         "if [ ! -s \"$D/.erlang.cookie\" ]; then\n"
         "  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n' > "
         "\"$D/.erlang.cookie\")\n"
         "fi\n"
         "chmod 400 \"$D/.erlang.cookie\"\n"
         "exec /usr/lib/rabbitmq/bin/rabbitmq-server\n";
}

std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

// The user's password as RabbitMQ keeps it (rabbit_password_hashing_sha256:
// base64 of a 4-byte salt and SHA-256 of salt + password). The salt comes
// from the user and password themselves, so that the same secret renders
// the same file (a new one would restart the server at every pass); the
// file is readable in the server's sandbox only, as its password is.
std::string rabbitmq_password_hash(const std::string& user, const std::string& password) {
  const std::string salt = sha256("wok rabbitmq salt:" + user + ":" + password).substr(0, 4);
  const std::string hashed = salt + sha256(salt + password);
  return api::base64_encode(hashed);
}

// Imported at every start (rabbitmq.conf's load_definitions): the site's
// user, its password the secret's of today (a changed secret applies at
// the next start, as for the databases), administrator of the vhost "/".
// Nothing else: an import adds and updates, never deletes.
std::string rabbitmq_definitions(const DatabaseServer& db) {
  // user and password are plain (checked above): no JSON escaping needed.
  return "{\"users\": [{\"name\": \"" + db.user + "\", \"password_hash\": \"" +
         rabbitmq_password_hash(db.user, db.password) +
         "\", \"hashing_algorithm\": \"rabbit_password_hashing_sha256\", \"tags\": "
         "[\"administrator\"]}],\n"
         " \"vhosts\": [{\"name\": \"/\"}],\n"
         " \"permissions\": [{\"user\": \"" +
         db.user +
         "\", \"vhost\": \"/\", \"configure\": \".*\", \"write\": \".*\", \"read\": "
         "\".*\"}]}\n";
}

std::string rabbitmq_config(const DatabaseServer& db) {
  const int64_t watermark_mb = std::max<int64_t>(64, (db.memory_bytes >> 20) * 2 / 5);
  return "listeners.tcp.1 = 0.0.0.0:" + std::to_string(db.port) + "\ndefault_user = " + db.user +
         "\ndefault_pass = " + db.password + "\nload_definitions = /etc/wok/definitions.json" +
         "\nloopback_users = none\nvm_memory_high_watermark.absolute = " +
         std::to_string(watermark_mb) + "MB\ndisk_free_limit.absolute = 16MB\n";
}

}  // namespace

std::vector<std::string> installed_postgresql_versions(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.size() > 4 ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (::access((entry.path() / "bin" / "postgres").c_str(), X_OK) == 0 &&
        ::access((entry.path() / "bin" / "initdb").c_str(), X_OK) == 0)
      out.push_back(name);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return std::stoi(a) < std::stoi(b); });
  return out;
}

bool configure_database(const DatabaseServer& db, InstanceSpec* spec, std::string* error) {
  const bool needs_database = db.engine == "mariadb" || db.engine == "postgresql";
  const bool needs_user = needs_database || db.engine == "rabbitmq";
  if ((needs_database && !plain(db.database, false)) || (needs_user && !plain(db.user, false)) ||
      !plain(db.password, true)) {
    *error = "database name, user or password has characters it must not have";
    return false;
  }
  if (db.version.size() > 8 || db.version.find_first_not_of("0123456789.") != std::string::npos ||
      (db.engine == "postgresql" && db.version.empty())) {
    *error = "database version \"" + db.version + "\" is not a version";
    return false;
  }
  spec->port = db.port;
  spec->probe_listening = true;  // the server itself, not a client it would have to serve
  spec->command = {"/bin/sh", "/etc/wok/start.sh"};
  if (db.engine == "mariadb") {
    spec->files["start.sh"] = mariadb_script(db);
    spec->files["init.sql"] = mariadb_sql(db);
  } else if (db.engine == "postgresql") {
    spec->files["start.sh"] = postgres_script(db);
    // Single-user mode: one statement per line.
    spec->files["create.sql"] = "CREATE ROLE \"" + db.user + "\" LOGIN;\nCREATE DATABASE \"" +
                                db.database + "\" OWNER \"" + db.user + "\";\n";
    spec->files["init.sql"] =
        "ALTER ROLE \"" + db.user + "\" WITH LOGIN PASSWORD '" + db.password + "';\n";
    // The superuser only through the sandbox's own socket; the site's user
    // from the network, with its password.
    spec->files["pg_hba.conf"] =
        "local all all trust\n"
        "host all all 0.0.0.0/0 scram-sha-256\n";
  } else if (db.engine == "redis") {
    spec->command = {"redis-server", "/etc/wok/redis.conf"};
    spec->files["redis.conf"] = redis_config(db);
  } else if (db.engine == "rabbitmq") {
    // Erlang's threads count against the pids limit.
    spec->resources.pids = std::max<int64_t>(spec->resources.pids, 1024);
    spec->files["start.sh"] = rabbitmq_script();
    spec->files["rabbitmq.conf"] = rabbitmq_config(db);
    spec->files["definitions.json"] = rabbitmq_definitions(db);
  } else {
    *error = "database engine \"" + db.engine + "\" is unknown";
    return false;
  }
  spec->env["HOME"] = "/tmp";
  return true;
}

}  // namespace wok::runtime
