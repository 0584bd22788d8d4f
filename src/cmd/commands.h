#pragma once
// One function per `wok` command; each returns the process exit code and
// prints errors itself. cli.cc maps the command line onto these.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cmd/resources.h"
#include "cmd/session.h"

namespace CLI {
class App;
}

namespace wok::cmd {

// render.cc: `wok render` and `wok crds` need no server; parsing them sets
// `action`. `project` is the -n flag, read when the command runs.
using LocalAction = std::function<int(Io&)>;
void add_render_commands(CLI::App& app, const std::string& project, LocalAction& action);

// apply.cc
int apply_command(Session& session, const std::vector<std::string>& inputs);

// get.cc; output is "", "wide", "yaml", "json" or "name". watch: then every
// change, until interrupted; watch_only: only the changes (the current
// objects first, as they are).
int get_command(Session& session, Kind kind, const std::string& name, const std::string& output,
                bool watch = false, bool watch_only = false);

// describe.cc
int describe_command(Session& session, Kind kind, const std::string& name);

// edit.cc: `wok edit KIND NAME` in $VISUAL/$EDITOR (vi), replaced on save.
int edit_command(Session& session, Kind kind, const std::string& name);

// site_actions.cc: delete, rollout history/undo, refresh.
int delete_command(Session& session, Kind kind, const std::string& name);
// `wok delete KIND NAME...` or `wok delete -f FILE...` (every object of the
// files, sites first); 2 when neither or both are given.
int delete_command(Session& session, const std::string& kind, const std::vector<std::string>& names,
                   const std::vector<std::string>& files);
int rollout_history_command(Session& session, const std::string& name);
int rollout_undo_command(Session& session, const std::string& name, int to_revision);
int refresh_command(Session& session, const std::string& name);

// workload_commands.cc: `wok logs site NAME` (follow: poll every second;
// previous: the run before the current one), `wok logs site NAME --build
// [REVISION]` (0: the newest revision that ran a build),
// `wok scale site NAME --component C --replicas N`.
int logs_command(Session& session, const std::string& name, const std::string& component, int tail,
                 bool follow, bool previous = false);
int build_logs_command(Session& session, const std::string& name, int64_t revision);
int scale_command(Session& session, const std::string& name, const std::string& component,
                  int replicas);

// job_commands.cc: `wok job run SITE JOB` (a run now), `wok logs site NAME
// --job JOB` (the kept runs of a job, oldest first).
int job_run_command(Session& session, const std::string& site, const std::string& job);
int job_logs_command(Session& session, const std::string& site, const std::string& job, int tail);

// db_commands.cc: `wok db dump site NAME` (the dump on stdout), `wok db
// import site NAME [-f FILE]` (SQL from the file or stdin), `wok db shell
// site NAME` (statements typed, or a script on stdin).
int db_dump_command(Session& session, const std::string& name);
int db_import_command(Session& session, const std::string& name, const std::string& file);
int db_shell_command(Session& session, const std::string& name);
// `wok db upgrade site NAME --to VERSION`: the request (POST .../dbupgrade),
// then wait_for_rollout of the revision it makes.
int db_upgrade_command(Session& session, const std::string& name, const std::string& version,
                       std::chrono::milliseconds timeout);

// backup_commands.cc: `wok backup create site NAME`, `wok backup list [site
// NAME]` (every site's of the project, deleted ones too, without a name),
// `wok backup restore site NAME [--backup ID] [--to NEW --host HOST...]`.
int backup_create_command(Session& session, const std::string& name);
int backup_list_command(Session& session, const std::string& name);
int backup_restore_command(Session& session, const std::string& name, const std::string& backup,
                           const std::string& to, const std::vector<std::string>& hosts);
int backup_delete_command(Session& session, const std::string& name, const std::string& backup);

// stats.cc: `wok stats site NAME`, over the last `minutes` (1..15).
int stats_site_command(Session& session, const std::string& name, int minutes);

// admin.cc: tokens and versions.
int token_create_command(Session& session, const std::string& user, const std::string& name = "");

// tokens.cc: `wok token list` (name, user, created, last used; never the
// tokens themselves, which the server does not keep) and `wok token revoke NAME`.
int token_list_command(Session& session);
int token_revoke_command(Session& session, const std::string& name);
int version_command(Session& session);
// audit.cc: `wok audit [--user U] [-n PROJECT] [--limit N] [-o json|yaml]`,
// the newest entries of the API's audit log (the platform admin's only).
int audit_command(Session& session, const std::string& user, int limit, const std::string& output);
// `wok ca`: the platform's local CA certificate (PEM), for curl --cacert.
int ca_command(Session& session);

// secrets.cc: `wok secret set NAME KEY=VALUE... [--from-file KEY=PATH]...`
// (keys merged into the secret, made if absent), `wok secret get [NAME]
// [-o json|yaml|name] [--show-values]` (NAME empty: the list, as `wok get
// secrets`), `wok secret delete NAME`; all within -n PROJECT.
int secret_set_command(Session& session, const std::string& name,
                       const std::vector<std::string>& pairs,
                       const std::vector<std::string>& files);
int secret_get_command(Session& session, const std::string& name, const std::string& output,
                       bool show_values);
int secret_delete_command(Session& session, const std::string& name);

}  // namespace wok::cmd
