#include "cmd/pod_commands.h"

#include <CLI/CLI.hpp>

namespace wok::cmd {

PodCommands add_pod_commands(CLI::App& app, ServeOptions& serve, FetchOptions& fetch,
                             BackupJobOptions& backup) {
  const std::string group = "Inside a site's pod (Kubernetes)";
  auto* f =
      app.add_subcommand("fetch", "Fetch a git source into a directory (a pod's init container)");
  f->group(group);
  f->add_option("--url", fetch.url, "repository URL")->required();
  f->add_option("--ref", fetch.ref, "branch, tag or commit")->capture_default_str();
  f->add_option("--into", fetch.into, "directory to check the commit out into")->required();
  f->add_flag("--allow-private-sources", fetch.allow_private_sources,
              "fetch from loopback, link-local and private addresses too");

  auto* s = app.add_subcommand("serve", "Serve one directory over HTTP (a site's pod)");
  s->group(group);
  s->add_option("--root", serve.root, "the directory to serve")->required();
  s->add_option("--listen", serve.listen, "HOST:PORT")->capture_default_str();
  s->add_option("--fastcgi", serve.fastcgi, "unix:PATH of php-fpm (php mode)");
  s->add_option("--front-controller", serve.front_controller, "script for paths with no file");
  s->add_flag("--serve-dot-files", serve.serve_dot_files,
              "serve .env, .git/ and other dot-files (by default only .well-known/ is)");
  s->add_option("--php-timeout", serve.php_timeout,
                "longest php-fpm may take to answer (spec.php.timeout); 504 beyond it")
      ->capture_default_str();
  add_router_limit_flags(*s, serve.limits);

  auto* b = app.add_subcommand("backup-job",
                               "Back up a site into its project's restic repository "
                               "(a Kubernetes Job; wok up uses `wok backup`)");
  b->group(group);
  auto* create = b->add_subcommand("create", "Back up what DIR holds (storage/NAME, database.sql)");
  create->add_option("--project", backup.project, "the site's project (namespace)")->required();
  create->add_option("--site", backup.site, "the site's name")->required();
  create->add_option("--uid", backup.uid, "the site's metadata.uid")->required();
  create->add_option("--reason", backup.reason, "scheduled, manual or pre-restore")
      ->check(CLI::IsMember({"scheduled", "manual", "pre-restore"}))
      ->capture_default_str();
  create->add_option("--dir", backup.dir, "the directory to back up")->capture_default_str();
  create->callback([&backup] { backup.action = "create"; });
  auto* restore = b->add_subcommand(
      "restore", "Put a backup's volumes into DIR/storage/NAME and its dump at DIR/database.sql");
  restore->add_option("--project", backup.project, "the site's project (namespace)")->required();
  restore->add_option("--site", backup.site, "the site's name")->required();
  restore->add_option("--uid", backup.uid, "the site's metadata.uid")->required();
  restore->add_option("--backup", backup.backup, "the backup's id, or latest (the site's newest)")
      ->capture_default_str();
  restore->add_option("--dir", backup.dir, "the directory holding the site's volumes")
      ->capture_default_str();
  restore->add_option("--from", backup.from,
                      "a backup of this site of the project (spec.cloneFrom: a clone)");
  restore->callback([&backup] { backup.action = "restore"; });
  auto* list = b->add_subcommand(
      "list", "The site's backups in the repository (without --site the project's), as JSON");
  list->add_option("--project", backup.project, "the site's project (namespace)")->required();
  list->add_option("--site", backup.site, "the site's name (its backups, any uid)");
  list->add_option("--uid", backup.uid, "the site's metadata.uid");
  list->callback([&backup] { backup.action = "list"; });
  auto* show = b->add_subcommand(
      "show", "One backup of the site (a deleted one's too) with its revision's spec, as JSON");
  show->add_option("--project", backup.project, "the site's project (namespace)")->required();
  show->add_option("--site", backup.site, "the site's name")->required();
  show->add_option("--backup", backup.backup, "the backup's id, or latest (the site's newest)")
      ->capture_default_str();
  show->callback([&backup] { backup.action = "show"; });
  auto* forget = b->add_subcommand(
      "forget",
      "Delete one backup of the site (a deleted one's too) and prune what no other holds");
  forget->add_option("--project", backup.project, "the site's project (namespace)")->required();
  forget->add_option("--site", backup.site, "the site's name")->required();
  forget->add_option("--backup", backup.backup, "the backup's id (never latest)")->required();
  forget->callback([&backup] { backup.action = "forget"; });
  auto* sweep = b->add_subcommand(
      "sweep",
      "Forget the backups of the project's deleted sites whose retention is over; print what "
      "is left");
  sweep->add_option("--project", backup.project, "the project (namespace)")->required();
  sweep->add_option("--live", backup.live,
                    "a site of the project, NAME=UID (its backups are kept); repeated");
  sweep->callback([&backup] { backup.action = "sweep"; });
  // A RabbitMQ service's data, over its management API (platform/rabbitmq_backup.h).
  for (const auto& [name, help] :
       {std::pair<std::string, std::string>{
            "rabbitmq-export",
            "Write a RabbitMQ server's definitions and ready messages into DIR (a backup's init "
            "container; the user's password in WOK_RABBITMQ_PASSWORD)"},
        {"rabbitmq-import",
         "Make a RabbitMQ server hold what DIR holds (a restore's container; the user's "
         "password in WOK_RABBITMQ_PASSWORD)"}}) {
    auto* rabbit = b->add_subcommand(name, help);
    rabbit->add_option("--url", backup.url, "the server's management API, http://HOST:15672")
        ->required();
    rabbit->add_option("--user", backup.user, "the server's user (an administrator)")->required();
    rabbit->add_option("--dir", backup.dir, "the directory of the export")->required();
    rabbit->callback([&backup, action = name] { backup.action = action; });
  }
  // A clone from another project on a cluster (platform/restic_receiver.h).
  auto* copy = b->add_subcommand(
      "copy",
      "Copy one backup of the site into the one-time repository --to serves (a clone in "
      "another project), with the transfer's password; then tell it the copy is done");
  copy->add_option("--project", backup.project, "the site's project (namespace)")->required();
  copy->add_option("--site", backup.site, "the site's name")->required();
  copy->add_option("--backup", backup.backup, "the backup's id, or latest (the site's newest)")
      ->capture_default_str();
  copy->add_option("--to", backup.to, "the receiving repository, http://HOST:PORT/")->required();
  copy->add_option("--transfer-key", backup.transfer_key,
                   "the directory of the transfer's token and password")
      ->capture_default_str();
  copy->callback([&backup] { backup.action = "copy"; });
  auto* receive = b->add_subcommand(
      "receive",
      "Serve an empty restic repository in DIR over restic's REST protocol until a copy into it "
      "is done (a clone from another project); the token in --transfer-key");
  receive->add_option("--dir", backup.dir, "the repository's directory")->required();
  receive->add_option("--listen", backup.listen, "HOST:PORT")->capture_default_str();
  receive
      ->add_option("--transfer-key", backup.transfer_key, "the directory of the transfer's token")
      ->capture_default_str();
  receive->add_option("--timeout", backup.timeout_seconds, "seconds before giving up")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  receive->callback([&backup] { backup.action = "receive"; });
  b->require_subcommand(1);
  return {s, f, b};
}

}  // namespace wok::cmd
