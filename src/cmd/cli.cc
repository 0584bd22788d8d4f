#include "cmd/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "base/cidr.h"
#include "cmd/commands.h"
#include "cmd/completion.h"
#include "cmd/config.h"
#include "cmd/help.h"
#include "cmd/pod_commands.h"
#include "cmd/rollout.h"
#include "cmd/watch.h"

namespace wok::cmd {
namespace {

struct Flags {
  ClientConfig config;  // --server, --token
  std::string project;  // -n
  std::string kind;
  std::string name;
  std::string output;
  std::vector<std::string> files;
  int to_revision = 0;
  int minutes = 15;       // wok stats
  std::string component;  // wok logs, wok scale
  int tail = 100;
  bool follow = false;
  bool previous = false;  // wok logs --previous
  std::string build;      // wok logs --build [REVISION]: "" = the newest build
  std::string job;        // wok logs --job JOB, wok job run SITE JOB
  int replicas = -1;
  std::string user;
  std::vector<std::string> names;          // wok delete KIND NAME...
  bool wait = false;                       // wok apply --wait
  bool watch = false, watch_only = false;  // wok get -w, --watch-only
  std::string wait_for;                    // wok wait --for
  std::string events_for;                  // wok get events --for site/NAME
  int limit = 100;                         // wok audit --limit
  std::string timeout = "5m";              // wok apply --wait, wok rollout status
  std::vector<std::string> pairs;          // wok secret set NAME KEY=VALUE...
  bool show_values = false;                // wok secret get --show-values
  std::string kubeconfig, context;         // wok rollout history|undo, wok refresh on a cluster
  std::string file;                        // wok db import -f FILE
  std::string backup, to;                  // wok backup restore --backup ID --to NEW, db upgrade
  std::vector<std::string> hosts;          // wok backup restore --to NEW --host HOST...
};

// --timeout of apply --wait and rollout status.
void add_timeout(CLI::App* command, std::string& timeout) {
  command->add_option("--timeout", timeout, "how long to wait (e.g. 90s, 10m)")
      ->capture_default_str()
      ->check([](const std::string& text) {
        std::chrono::milliseconds ms;
        return parse_timeout(text, &ms) ? std::string() : "not a duration (e.g. 90s, 10m)";
      });
}

std::chrono::milliseconds timeout_of(const std::string& text) {
  std::chrono::milliseconds ms{300000};
  parse_timeout(text, &ms);
  return ms;
}

using Action = std::function<int(Session&)>;

const std::vector<std::string> kKinds = {"project", "projects", "site", "sites"};
const std::vector<std::string> kSiteKinds = {"site", "sites"};
const std::vector<std::string> kGetKinds = {"project", "projects", "site",  "sites",
                                            "secret",  "secrets",  "event", "events"};

Kind kind_of(const Flags& flags) { return *parse_kind(flags.kind); }

// Adds "KIND NAME" positionals; `kinds` lists what KIND may be.
void add_target(CLI::App* command, Flags& flags, const std::vector<std::string>& kinds,
                bool name_required) {
  command->add_option("kind", flags.kind, "the kind: " + CLI::detail::join(kinds, ", "))
      ->required()
      ->check(CLI::IsMember(kinds));
  auto* name = command->add_option("name", flags.name, "the object's name");
  if (name_required) name->required();
}

void add_commands(CLI::App& app, Flags& flags, Action& action, bool& needs_token,
                  LocalAction& local_action, const Runners& runners) {
  auto set = [&](CLI::App* command, Action run, bool token = true) {
    command->callback([&action, &needs_token, run, token] {
      action = run;
      needs_token = token;
    });
  };
  // A verb that also acts on a Kubernetes cluster: with --kubeconfig or
  // --context it reads and annotates the operator's Site there
  // (Runners::cluster) instead of asking wok up's API server.
  auto set_on_cluster = [&](CLI::App* command, const std::string& verb, Action run) {
    command->add_option(
        "--kubeconfig", flags.kubeconfig,
        "on a Kubernetes cluster: this kubeconfig (the operator's revisions, not wok up's)");
    command->add_option(
        "--context", flags.context,
        "on a Kubernetes cluster: this context of the kubeconfig ($KUBECONFIG, ~/.kube/config)");
    command->callback([&, verb, run] {
      if (flags.kubeconfig.empty() && flags.context.empty()) {
        action = run;
        needs_token = true;
        return;
      }
      local_action = [&flags, &runners, verb](Io& io) {
        if (!runners.cluster) {
          io.err << "error: --kubeconfig is not available in this build\n";
          return 1;
        }
        ClusterSiteCommand command{verb,        flags.kubeconfig,  flags.context, flags.project,
                                   flags.name,  flags.to_revision, flags.backup,  flags.to,
                                   flags.hosts, flags.file};
        return runners.cluster(command, io.in, io.out, io.err);
      };
    });
  };

  auto* apply = app.add_subcommand("apply", "Create or update projects and sites from YAML files");
  apply
      ->add_option("-f,--filename", flags.files,
                   "a file, a directory of *.yaml/*.yml/*.json, or - for stdin")
      ->required();
  apply->add_flag("--wait", flags.wait,
                  "wait until every applied site serves its new revision and is Ready");
  add_timeout(apply, flags.timeout);
  set(apply, [&flags](Session& s) {
    return flags.wait ? apply_and_wait(s, flags.files, timeout_of(flags.timeout))
                      : apply_command(s, flags.files);
  });

  auto* get = app.add_subcommand("get", "List projects, sites, secrets or events, or show one");
  add_target(get, flags, kGetKinds, false);
  get->add_option("-o,--output", flags.output,
                  "output format: wide, yaml, json, name or jsonpath=TEMPLATE")
      ->check([](const std::string& o) {
        if (o == "wide" || o == "yaml" || o == "json" || o == "name" ||
            o.rfind("jsonpath=", 0) == 0)
          return std::string();
        return "\"" + o + "\" is not an output format: wide, yaml, json, name, jsonpath=TEMPLATE";
      });
  get->add_flag("-w,--watch", flags.watch,
                "after the list (or the object), print every change until interrupted");
  get->add_flag("--watch-only", flags.watch_only, "print only the changes, not the list first");
  get->add_option("--for", flags.events_for, "events: only those about this site (site/NAME)");
  set(get, [&flags](Session& s) {
    if (flags.kind.rfind("event", 0) == 0) {
      if (!flags.name.empty())
        return s.fail("wok get events takes no name; use --for site/" + flags.name);
      return events_command(s, flags.events_for, flags.output, flags.watch, flags.watch_only);
    }
    if (!flags.events_for.empty()) return s.fail("--for is for wok get events");
    if (flags.kind.rfind("secret", 0) == 0) {
      if (flags.watch || flags.watch_only) return s.fail("secrets cannot be watched");
      return secret_get_command(s, flags.name, flags.output, false);
    }
    return get_command(s, kind_of(flags), flags.name, flags.output, flags.watch, flags.watch_only);
  });

  auto* audit = app.add_subcommand("audit", "Show the API's audit log (platform admin only)");
  audit->add_option("--user", flags.user, "only this user's requests");
  audit->add_option("--limit", flags.limit, "the newest this many entries")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  audit->add_option("-o,--output", flags.output, "output format: json or yaml")
      ->check(CLI::IsMember({"json", "yaml"}));
  audit->footer(
      "Every change asked of the API (not reads): who, from where, the verb and object, the\n"
      "answer's code (refused: 401 or 403), and what changed (the spec's JSON Patch, a secret's\n"
      "keys, never its values). -n PROJECT: only that project's objects.");
  set(audit,
      [&flags](Session& s) { return audit_command(s, flags.user, flags.limit, flags.output); });

  auto* wait = app.add_subcommand("wait", "Wait until a project or site meets a condition");
  add_target(wait, flags, kKinds, true);
  wait->add_option("--for", flags.wait_for,
                   "condition=TYPE[=STATUS] (e.g. condition=Ready), delete, or "
                   "jsonpath={.PATH}=VALUE")
      ->required()
      ->check([](const std::string& text) { return check_wait_for(text); });
  add_timeout(wait, flags.timeout);
  wait->footer(
      "Follows the object through the API's watch (no polling). Exit code 0 when the condition\n"
      "holds (\"site.wok.dev/www condition met\"), 1 on timeout, when the object does not exist\n"
      "(except for --for=delete) or is deleted meanwhile.");
  set(wait, [&flags](Session& s) {
    return wait_command(s, kind_of(flags), flags.name, flags.wait_for, timeout_of(flags.timeout));
  });

  auto* describe = app.add_subcommand("describe", "Show a project or a site in detail");
  add_target(describe, flags, kKinds, true);
  describe->footer(
      "A site shows its source, conditions, components and instances (ready/wanted, restarts, "
      "last\n"
      "exit, OOM), resources, storage use, the serving revision and why it changed, the tail of\n"
      "its last failed build, and its last five revisions.\n\n"
      "Examples:\n"
      "  wok describe site www -n team-a\n"
      "  wok describe project team-a");
  set(describe, [&flags](Session& s) { return describe_command(s, kind_of(flags), flags.name); });

  auto* edit =
      app.add_subcommand("edit", "Edit a project or a site in your editor ($VISUAL, $EDITOR, vi)");
  add_target(edit, flags, kKinds, true);
  edit->footer(
      "The object opens as YAML; saving replaces it (with its resourceVersion: an edit made\n"
      "meanwhile by someone else is refused, not overwritten). A refused edit opens again with\n"
      "the reason at the top; saving it unchanged gives up and keeps your copy.\n\n"
      "Examples:\n"
      "  wok edit site www -n team-a\n"
      "  EDITOR=nano wok edit project team-a");
  set(edit, [&flags](Session& s) { return edit_command(s, kind_of(flags), flags.name); });

  auto* remove = app.add_subcommand("delete", "Delete projects or sites, by name or as in files");
  remove->add_option("kind", flags.kind, "the kind: " + CLI::detail::join(kKinds, ", "))
      ->check(CLI::IsMember(kKinds));
  remove->add_option("names", flags.names, "the objects' names");
  remove->add_option("-f,--filename", flags.files,
                     "delete every object of a file, a directory of *.yaml/*.yml/*.json, or - "
                     "(stdin)");
  set(remove,
      [&flags](Session& s) { return delete_command(s, flags.kind, flags.names, flags.files); });

  auto* rollout =
      app.add_subcommand("rollout", "Revisions of a site: status, history, undo, restart");
  rollout->require_subcommand(1);
  auto* history = rollout->add_subcommand("history", "List the revisions of a site, oldest first");
  add_target(history, flags, kSiteKinds, true);
  history->footer(
      "CAUSE says why each revision was made: created, apply (spec changed), fetch (new commit),\n"
      "rollout undo, refresh or retry (of a failed or interrupted one), redeploy.\n\n"
      "Example:\n"
      "  wok rollout history site www -n team-a");
  set_on_cluster(history, "history",
                 [&flags](Session& s) { return rollout_history_command(s, flags.name); });
  auto* undo = rollout->add_subcommand("undo", "Roll a site back to an earlier revision");
  add_target(undo, flags, kSiteKinds, true);
  undo->add_option("--to-revision", flags.to_revision,
                   "the revision to return to (default: the one before the live one)")
      ->check(CLI::PositiveNumber);
  set_on_cluster(undo, "undo", [&flags](Session& s) {
    return rollout_undo_command(s, flags.name, flags.to_revision);
  });
  auto* status = rollout->add_subcommand(
      "status", "Wait until a site serves a revision of its current spec, showing progress");
  add_target(status, flags, kSiteKinds, true);
  add_timeout(status, flags.timeout);
  status->footer(
      "Exit code 0 when the site is rolled out and Ready, 1 when its new revision failed (the\n"
      "error and the build output's tail on stderr) or on timeout.");
  set(status, [&flags](Session& s) {
    return rollout_status_command(s, flags.name, timeout_of(flags.timeout));
  });
  auto* restart = rollout->add_subcommand(
      "restart", "Roll out a new revision of the same commit and spec (new instances)");
  add_target(restart, flags, kSiteKinds, true);
  set(restart, [&flags](Session& s) { return rollout_restart_command(s, flags.name); });

  auto* refresh = app.add_subcommand("refresh", "Fetch a site's source now");
  add_target(refresh, flags, kSiteKinds, true);
  set_on_cluster(refresh, "refresh",
                 [&flags](Session& s) { return refresh_command(s, flags.name); });

  auto* stats = app.add_subcommand("stats", "Request statistics from the router");
  stats->require_subcommand(1);
  auto* stats_site =
      stats->add_subcommand("site", "Requests, bytes and latency of a site, last minutes");
  stats_site->add_option("name", flags.name, "the site's name")->required();
  stats_site->add_option("--minutes", flags.minutes, "how many minutes back, 1 to 15 (default 15)")
      ->check(CLI::Range(1, 15));
  set(stats_site,
      [&flags](Session& s) { return stats_site_command(s, flags.name, flags.minutes); });

  auto* db = app.add_subcommand("db", "A site's database (spec.database)");
  db->require_subcommand(1);
  auto* db_dump = db->add_subcommand("dump", "A consistent dump of a site's database, on stdout");
  add_target(db_dump, flags, kSiteKinds, true);
  set_on_cluster(db_dump, "db-dump",
                 [&flags](Session& s) { return db_dump_command(s, flags.name); });
  auto* db_import =
      db->add_subcommand("import", "Run SQL (a dump) in a site's database, from stdin or -f FILE");
  add_target(db_import, flags, kSiteKinds, true);
  db_import->add_option("-f,--filename", flags.file, "the SQL file (default: stdin)");
  set_on_cluster(db_import, "db-import",
                 [&flags](Session& s) { return db_import_command(s, flags.name, flags.file); });
  auto* db_shell = db->add_subcommand("shell", "SQL statements in a site's database");
  add_target(db_shell, flags, kSiteKinds, true);
  set_on_cluster(db_shell, "db-shell",
                 [&flags](Session& s) { return db_shell_command(s, flags.name); });
  auto* db_upgrade = db->add_subcommand(
      "upgrade", "Upgrade a site's database server to a newer major version, and wait");
  add_target(db_upgrade, flags, kSiteKinds, true);
  db_upgrade->add_option("--to", flags.to, "the version (e.g. 15)")->required();
  add_timeout(db_upgrade, flags.timeout);
  db_upgrade->footer(
      "A new revision of the site runs the newer server, whose first start upgrades the data\n"
      "(PostgreSQL: pg_upgrade into a copy, swapped in once complete). Never to an older version.\n"
      "Exit code 0 once the site is Ready on it, 1 if its revision failed (the old server's data\n"
      "is untouched until the copy is complete).\n"
      "With --kubeconfig: sets the Site's spec.database.version with the annotation\n"
      "wok.dev/database-upgrade (the admission webhook refuses any other change of the version);\n"
      "CloudNativePG upgrades the data. It does not wait.");
  set_on_cluster(db_upgrade, "db-upgrade", [&flags](Session& s) {
    return db_upgrade_command(s, flags.name, flags.to, timeout_of(flags.timeout));
  });

  auto* backup = app.add_subcommand("backup", "Backups of sites: create, list, restore, delete");
  backup->require_subcommand(1);
  auto* backup_create = backup->add_subcommand(
      "create", "Back a site up now: its revision, volumes, database and services");
  add_target(backup_create, flags, kSiteKinds, true);
  set_on_cluster(backup_create, "backup",
                 [&flags](Session& s) { return backup_create_command(s, flags.name); });
  auto* backup_list = backup->add_subcommand(
      "list",
      "A site's backups, or (without a site) every site's of the project, deleted ones too");
  backup_list->add_option("kind", flags.kind, "site (then its name): that site's only")
      ->check(CLI::IsMember(kSiteKinds));
  backup_list->add_option("name", flags.name, "the site's name (a deleted site's too)");
  set_on_cluster(backup_list, "list",
                 [&flags](Session& s) { return backup_list_command(s, flags.name); });
  auto* backup_restore = backup->add_subcommand(
      "restore", "Put a site back as a backup holds it, in place or into a new site (--to)");
  add_target(backup_restore, flags, kSiteKinds, true);
  backup_restore->add_option("--backup", flags.backup, "the backup's id (default: latest)");
  backup_restore->add_option("--to", flags.to,
                             "a new site to restore into (its data comes by spec.cloneFrom)");
  backup_restore->add_option("--host", flags.hosts,
                             "the new site's hosts (with --to; required while the site still "
                             "holds the backup's)");
  set_on_cluster(backup_restore, "restore", [&flags](Session& s) {
    return backup_restore_command(s, flags.name, flags.backup, flags.to, flags.hosts);
  });

  auto* backup_delete = backup->add_subcommand(
      "delete", "Delete a backup for good (a deleted site's too): project admins only");
  add_target(backup_delete, flags, kSiteKinds, true);
  backup_delete->add_option("--backup", flags.backup, "the backup's id (wok backup list)")
      ->required();
  set_on_cluster(backup_delete, "delete-backup", [&flags](Session& s) {
    return backup_delete_command(s, flags.name, flags.backup);
  });

  auto* logs = app.add_subcommand("logs", "Output of a site's instances, or of its builds");
  add_target(logs, flags, kSiteKinds, true);
  logs->add_option("--component", flags.component, "only this component (app sites)");
  logs->add_option("--tail", flags.tail, "lines per instance and stream to start with")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  auto* follow = logs->add_flag("-f,--follow", flags.follow, "keep printing new output");
  auto* previous = logs->add_flag("-p,--previous", flags.previous,
                                  "the run before the current (or last) one of each instance");
  auto* build = logs->add_option("--build", flags.build,
                                 "the build output of REVISION (default: the newest revision that "
                                 "ran a build)")
                    ->expected(0, 1)
                    ->type_name("[REVISION]")
                    ->check(CLI::PositiveNumber);
  auto* job = logs->add_option("--job", flags.job,
                               "the kept runs of this job of spec.app.jobs (app sites)");
  job->excludes(follow)->excludes(previous)->excludes(build);
  previous->excludes(follow);
  build->excludes(follow)->excludes(previous);
  logs->footer(
      "Instances: the current run of each (of a stopped or crashed one: its last run), with\n"
      "--previous the run before. Builds: --build, newest first.\n\n"
      "Examples:\n"
      "  wok logs site api -n team-a                     # the last 100 lines of each instance\n"
      "  wok logs site api -n team-a --component web -f  # keep printing new output\n"
      "  wok logs site api -n team-a --previous          # the run before: why it crashed\n"
      "  wok logs site www -n team-a --build             # the newest build's output\n"
      "  wok logs site www -n team-a --build 4           # the build of revision 4\n"
      "  wok logs site api -n team-a --job nightly       # the kept runs of a cron job");
  set(logs, [&flags, build](Session& s) {
    if (build->count() > 0)
      return build_logs_command(s, flags.name, flags.build.empty() ? 0 : std::stoll(flags.build));
    if (!flags.job.empty()) return job_logs_command(s, flags.name, flags.job, flags.tail);
    return logs_command(s, flags.name, flags.component, flags.tail, flags.follow, flags.previous);
  });

  auto* job_cmd = app.add_subcommand("job", "The cron jobs of app sites (spec.app.jobs)");
  job_cmd->require_subcommand(1);
  auto* job_run = job_cmd->add_subcommand("run", "Run a site's job now, whatever its schedule");
  job_run->add_option("site", flags.name, "the site's name")->required();
  job_run->add_option("job", flags.job, "the job's name (spec.app.jobs[].name)")->required();
  job_run->footer(
      "Like `kubectl create job --from=cronjob/NAME`: one run, with the job's concurrencyPolicy\n"
      "(Forbid skips it while a run is active). Its status: wok describe site SITE; its output:\n"
      "wok logs site SITE --job JOB.\n\n"
      "Example:\n"
      "  wok job run api nightly -n team-a");
  set(job_run, [&flags](Session& s) { return job_run_command(s, flags.name, flags.job); });

  auto* scale = app.add_subcommand("scale", "Set the replicas of an app site's component");
  add_target(scale, flags, kSiteKinds, true);
  scale->add_option("--component", flags.component, "the component")->required();
  scale->add_option("--replicas", flags.replicas, "how many instances")
      ->required()
      ->check(CLI::Range(0, 20));
  set(scale, [&flags](Session& s) {
    return scale_command(s, flags.name, flags.component, flags.replicas);
  });

  auto* token = app.add_subcommand("token", "API tokens (platform admin)");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "Make a token for a user and print it");
  create->add_option("user", flags.user, "the user name")->required();
  create->add_option("--name", flags.name, "the token's name (default: USER-HASHPREFIX)");
  set(create, [&flags](Session& s) { return token_create_command(s, flags.user, flags.name); });
  auto* list = token->add_subcommand("list", "List tokens: name, user, created, last used");
  set(list, [](Session& s) { return token_list_command(s); });
  auto* revoke = token->add_subcommand("revoke", "Revoke a token by its name");
  revoke->add_option("name", flags.name, "the token's name (wok token list)")->required();
  set(revoke, [&flags](Session& s) { return token_revoke_command(s, flags.name); });

  auto* secret = app.add_subcommand("secret", "A project's secrets: set, get, delete (-n PROJECT)");
  secret->require_subcommand(1);
  auto* secret_set =
      secret->add_subcommand("set", "Set keys of a secret (made if absent; other keys kept)");
  secret_set->add_option("name", flags.name, "the secret's name")->required();
  secret_set->add_option("pairs", flags.pairs, "KEY=VALUE pairs");
  secret_set->add_option("--from-file", flags.files,
                         "KEY=PATH: the file's content as the value (repeatable)");
  secret_set->footer(
      "Values on the command line reach your shell history and `ps`: prefer --from-file for\n"
      "anything that matters. Running instances keep their values: `wok rollout restart site\n"
      "NAME` (or the next revision) gives them the new ones.\n\n"
      "Examples:\n"
      "  wok secret set db PASSWORD=s3cret USER=app -n team-a\n"
      "  wok secret set tls --from-file tls.key=./key.pem -n team-a");
  set(secret_set,
      [&flags](Session& s) { return secret_set_command(s, flags.name, flags.pairs, flags.files); });
  auto* secret_get = secret->add_subcommand("get", "List secrets (names and keys), or show one");
  secret_get->add_option("name", flags.name, "the secret's name");
  secret_get->add_option("-o,--output", flags.output, "json, yaml or name")
      ->check(CLI::IsMember({"json", "yaml", "name"}));
  secret_get->add_flag(
      "--show-values", flags.show_values,
      "show the values (KEY=VALUE lines, or data in -o json|yaml): developers and admins only");
  set(secret_get, [&flags](Session& s) {
    return secret_get_command(s, flags.name, flags.output, flags.show_values);
  });
  auto* secret_delete = secret->add_subcommand("delete", "Delete a secret");
  secret_delete->add_option("name", flags.name, "the secret's name")->required();
  set(secret_delete, [&flags](Session& s) { return secret_delete_command(s, flags.name); });

  auto* ca = app.add_subcommand(
      "ca", "Print the platform's local CA certificate (trust it for the sites' HTTPS)");
  set(
      ca, [](Session& s) { return ca_command(s); }, false);

  auto* version = app.add_subcommand("version", "Print the client and server versions");
  set(
      version, [](Session& s) { return version_command(s); }, false);
}

}  // namespace

int run(const std::vector<std::string>& args, const Runners& runners, std::istream& in,
        std::ostream& out, std::ostream& err) {
  CLI::App app{"wok: host web sites on the wok platform", "wok"};
  app.require_subcommand(1);
  app.fallthrough();  // --server, --token and -n may follow the subcommand

  Flags flags;
  app.add_option(
      "--server", flags.config.server,
      "API URL (default: $WOK_SERVER, the config file, " + std::string(kDefaultServer) + ")");
  app.add_option("--token", flags.config.token, "API token (default: $WOK_TOKEN, the config file)");
  app.add_option("-n,--namespace,--project", flags.project, "the project");

  Action action;
  bool needs_token = true;
  LocalAction local_action;
  add_commands(app, flags, action, needs_token, local_action, runners);
  add_render_commands(app, flags.project, local_action);
  add_completion_command(app, local_action);

  UpOptions up_options;
  auto* up_command = app.add_subcommand("up", "Run the whole platform on this machine");
  up_command->add_option("--data", up_options.data_dir, "data directory")->capture_default_str();
  up_command
      ->add_option("--listen-tls", up_options.listen_tls,
                   "router HTTPS address HOST:PORT (\"\": no HTTPS)")
      ->capture_default_str();
  up_command->add_option("--acme-directory", up_options.acme_directory,
                         "ACME directory URL for sites' certificates (spec.tls mode auto)");
  up_command->add_option("--acme-email", up_options.acme_email, "contact of the ACME account");
  up_command->add_option("--acme-ca-file", up_options.acme_ca_file,
                         "PEM file of CAs to trust for the ACME server's own HTTPS");
  up_command->add_option("--oidc-ca-file", up_options.oidc_ca_file,
                         "PEM file of CAs to trust for sites' OpenID providers (spec.access.oidc)");
  up_command->add_flag("--h2c", up_options.h2c,
                       "the plain port also speaks HTTP/2 to clients with prior knowledge");
  up_command->add_option("--listen", up_options.listen, "router address HOST:PORT")
      ->capture_default_str();
  up_command->add_option("--api", up_options.api, "API address HOST:PORT")->capture_default_str();
  up_command->add_flag("--demo", up_options.demo, "create a demo project and site");
  up_command->add_option("--allow-local-source", up_options.allow_local_sources,
                         "a directory members' sites may take file:// or path git URLs and "
                         "oci:/dir:... images from (repeatable)");
  up_command->add_flag("--allow-private-sources", up_options.allow_private_sources,
                       "git fetches may reach loopback, link-local and private addresses");
  up_command
      ->add_option("--trusted-proxy", up_options.trusted_proxies,
                   "a proxy in front of the router (CIDR or address, repeatable): spec.access "
                   "judges its requests by their X-Forwarded-For (default: none, the peer)")
      ->check([](const std::string& value) {
        std::string error;
        return base::parse_cidr(value, &error) ? std::string() : "\"" + value + "\" " + error;
      });
  up_command->add_option("--egress-allow", up_options.egress_allow,
                         "an IPv4 address or CIDR sites with egress may reach although it is "
                         "private or the host's, e.g. an internal package mirror (repeatable)");
  up_command
      ->add_option("--max-site-memory", up_options.max_site_memory,
                   "most memory (resources.memory) of one instance of a site")
      ->capture_default_str();
  up_command
      ->add_option("--max-site-cpu", up_options.max_site_cpu,
                   "most CPU (resources.cpu) of one instance of a site")
      ->capture_default_str();
  up_command
      ->add_option("--max-site-replicas", up_options.max_site_replicas,
                   "most replicas of one component of an app site (at most 20)")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  up_command
      ->add_option("--max-site-storage", up_options.max_site_storage,
                   "most storage of one site (each volume and their sum)")
      ->capture_default_str();
  up_command
      ->add_option("--max-build-disk", up_options.max_build_disk,
                   "disk of one site's builds: its checkout and build cache together")
      ->capture_default_str();
  up_command->add_option("--backup-repository", up_options.backup_repository,
                         "where backups go: a restic repository per project, {project} replaced "
                         "by its name (/srv/backups/{project}, s3:https://host/bucket/{project}; "
                         "default DATA/backups/repos/PROJECT)");
  add_router_limit_flags(*up_command, up_options.router);

  OperatorOptions op_options;
  auto* op_command = app.add_subcommand("operator", "Run the Kubernetes operator");
  op_command->add_option("--kubeconfig", op_options.kubeconfig,
                         "kubeconfig file (default: in-cluster credentials, else $KUBECONFIG, "
                         "~/.kube/config)");
  op_command->add_option("--context", op_options.context, "kubeconfig context (default: current)");
  op_command->add_option("--namespace,--lease-namespace", op_options.ns,
                         "namespace of the leader Lease (default: the service account's, "
                         "else wok-system)");
  op_command->add_option("--metrics", op_options.metrics, "/healthz, /readyz, /metrics HOST:PORT")
      ->capture_default_str();
  op_command->add_option(
      "--webhook-listen", op_options.webhook_listen,
      "push webhooks (POST /hooks/v1/projects/P/sites/S) on HOST:PORT (default: off)");
  op_command->add_option("--admission-listen", op_options.admission_listen,
                         "the validating admission webhook, HTTPS HOST:PORT (POST /validate/sites, "
                         "/validate/projects)");
  op_command->add_option("--admission-cert", op_options.admission_cert,
                         "its PEM certificate (chain), read again when the file changes");
  op_command->add_option("--admission-key", op_options.admission_key, "its PEM private key");
  op_command
      ->add_option("--max-site-memory", op_options.max_site_memory,
                   "most memory (resources.memory) of one instance of a site")
      ->capture_default_str();
  op_command
      ->add_option("--max-site-cpu", op_options.max_site_cpu,
                   "most CPU (resources.cpu) of one instance of a site")
      ->capture_default_str();
  op_command
      ->add_option("--max-site-replicas", op_options.max_site_replicas,
                   "most replicas of one component of an app site (at most 20)")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  op_command
      ->add_option("--max-site-storage", op_options.max_site_storage,
                   "most storage of one site (each volume and their sum)")
      ->capture_default_str();
  op_command->add_option("--ingress-class", op_options.ingress_class, "IngressClass of Ingresses")
      ->capture_default_str();
  op_command->add_option("--tls-issuer", op_options.tls_issuer,
                         "cert-manager issuer of sites with spec.tls mode auto");
  op_command->add_option("--tls-issuer-kind", op_options.tls_issuer_kind, "ClusterIssuer or Issuer")
      ->check(CLI::IsMember({"ClusterIssuer", "Issuer"}))
      ->capture_default_str();
  op_command->add_option("--oauth2-proxy-image", op_options.oauth2_proxy_image,
                         "oauth2-proxy image of sites with spec.access.oidc");
  op_command
      ->add_option("--postgresql-operator", op_options.postgresql_operator,
                   "runs spec.database postgresql: cloudnative-pg (default: a StatefulSet)")
      ->check(CLI::IsMember({"", "cloudnative-pg"}));
  op_command
      ->add_option("--mariadb-operator", op_options.mariadb_operator,
                   "runs spec.database mariadb: mariadb-operator (default: a StatefulSet)")
      ->check(CLI::IsMember({"", "mariadb-operator"}));
  op_command->add_option("--mariadb-image", op_options.mariadb_image,
                         "image of spec.database mariadb");
  op_command->add_option("--postgresql-image", op_options.postgresql_images,
                         "image of spec.database postgresql (StatefulSet); VERSION=IMAGE adds "
                         "another major version (repeatable)");
  op_command->add_option("--cnpg-postgresql-image", op_options.cnpg_postgresql_images,
                         "image of spec.database postgresql under CloudNativePG; VERSION=IMAGE "
                         "adds another major version (repeatable)");
  op_command->add_option("--redis-image", op_options.redis_image, "image of spec.services redis");
  op_command->add_option("--rabbitmq-image", op_options.rabbitmq_image,
                         "image of spec.services rabbitmq");
  op_command->add_option("--backup-claim-size", op_options.backup_claim_size,
                         "size of each project's backup repository claim (default 10Gi)");
  op_command
      ->add_option("--backup-access-mode", op_options.backup_access_mode,
                   "access mode of the backup repository claims (ReadWriteMany when a project's "
                   "sites run on several nodes)")
      ->check(CLI::IsMember({"", "ReadWriteOnce", "ReadWriteMany"}));
  op_command->add_option("--backup-storage-class", op_options.backup_storage_class,
                         "storage class of the backup repository claims (default: the cluster's)");
  op_command->add_option(
      "--backup-repository", op_options.backup_repository,
      "an S3-compatible store instead of claims: s3:https://HOST/BUCKET/{project} "
      "({project}: the project's name and uid)");
  op_command->add_option(
      "--backup-credentials-secret", op_options.backup_credentials_secret,
      "with --backup-repository: the Secret of the operator's namespace holding "
      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ({project}: one per project)");
  op_command->add_option("--image", op_options.image, "the wok image sites' pods run");
  op_command->add_option("--build-image", op_options.build_image,
                         "image that runs `build` commands");
  op_command->add_option("--php-image", op_options.php_image, "php-fpm image of the php mode");
  op_command->add_option("--ingress-namespace", op_options.ingress_namespace,
                         "the ingress controller's namespace (allowed by NetworkPolicies)");
  op_command->add_option("--log-level", op_options.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  op_command->add_flag("--openshift", op_options.openshift,
                       "OpenShift Routes instead of Ingresses");
  op_command->add_flag("--leader-elect", op_options.leader_elect,
                       "take a Lease so that only one replica acts");
  op_command->add_flag("--allow-private-sources", op_options.allow_private_sources,
                       "sites' git fetches may reach loopback, link-local and private addresses");
  add_router_limit_flags(*op_command, op_options.serve_limits, "serve-",
                         "Router limits of sites' pods (wok serve)");

  ServeOptions serve_options;
  FetchOptions fetch_options;
  BackupJobOptions backup_job_options;
  PodCommands pod = add_pod_commands(app, serve_options, fetch_options, backup_job_options);

  add_help_footers(app);

  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  } catch (const CLI::ParseError& e) {
    if (std::string unknown = unknown_command_message(app); !unknown.empty()) {
      err << unknown;
      return 2;
    }
    int code = app.exit(e, out, err);
    return code == 0 ? 0 : 2;
  }

  if (up_command->parsed()) {
    if (!runners.up) {
      err << "error: `wok up` is not available in this build\n";
      return 1;
    }
    return runners.up(up_options);
  }
  if (pod.serve->parsed() || pod.fetch->parsed()) {
    bool serve = pod.serve->parsed();
    if (serve ? !runners.serve : !runners.fetch) {
      err << "error: `wok " << (serve ? "serve" : "fetch") << "` is not available in this build\n";
      return 1;
    }
    return serve ? runners.serve(serve_options) : runners.fetch(fetch_options);
  }
  if (pod.backup_job->parsed()) {
    if (!runners.backup_job) {
      err << "error: `wok backup-job` is not available in this build\n";
      return 1;
    }
    return runners.backup_job(backup_job_options);
  }
  if (op_command->parsed()) {
    if (!runners.op) {
      err << "error: `wok operator` is not available in this build\n";
      return 1;
    }
    std::string limits_error;  // refused here rather than by every pod
    if (!serve_limit_args(op_options.serve_limits, &op_options.serve_args, &limits_error)) {
      err << "error: " << limits_error << "\n";
      return 2;
    }
    return runners.op(op_options);
  }

  if (local_action) {
    Io io{in, out, err};
    return local_action(io);
  }

  ClientConfig config;
  std::string error;
  if (!resolve_config(flags.config, &config, &error)) {
    err << "error: " << error << "\n";
    return 1;
  }
  Session session{ApiClient(config.server, config.token), flags.project, Io{in, out, err}};
  if (needs_token && config.token.empty()) return session.fail(kNoTokenError);
  return action(session);
}

int run(int argc, char** argv, const Runners& runners) {
  std::vector<std::string> args(argv, argv + argc);
  return run(args, runners, std::cin, std::cout, std::cerr);
}

}  // namespace wok::cmd
