#include "render/database_client.h"

namespace wok::render {

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

std::vector<std::string> service_snapshot_command(const std::string& engine,
                                                  const std::string& file) {
  if (engine != "redis") return {};
  return {"/bin/sh", "-c",
          "exec redis-cli -h \"$SVC_HOST\" -p \"$SVC_PORT\" --no-auth-warning --rdb " + file};
}

}  // namespace wok::render
