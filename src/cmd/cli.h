#pragma once
// The `wok` command line, one tree for every command: the client commands
// (apply, get, describe, delete, rollout, refresh, token, version...), and the
// parsing of the commands that run a part of the platform (`wok up`, `wok
// operator`, and `wok serve`/`wok fetch` that a site's pod runs), whose work
// the caller supplies (src/main.cc: src/platform and src/kube), so that this
// library stays a client.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "cmd/router_flags.h"

namespace wok::cmd {

struct UpOptions {
  std::string data_dir = "./.wok-data";
  std::string listen = "127.0.0.1:8080";
  std::string listen_tls = "127.0.0.1:8443";
  std::string acme_directory, acme_email, acme_ca_file;
  std::string oidc_ca_file;
  bool h2c = false;
  std::string api = "127.0.0.1:7070";
  bool demo = false;
  RouterLimitFlags router;
  std::vector<std::string> allow_local_sources;  // --allow-local-source DIR (repeatable)
  bool allow_private_sources = false;
  std::vector<std::string> egress_allow;     // --egress-allow CIDR (repeatable)
  std::vector<std::string> trusted_proxies;  // --trusted-proxy CIDR (repeatable)
  // --max-site-memory, --max-site-cpu, --max-site-replicas, --max-site-storage
  std::string max_site_memory = "4Gi";
  std::string max_site_cpu = "4";
  int max_site_replicas = 20;
  std::string max_site_storage = "100Gi";
  std::string max_build_disk = "2Gi";  // --max-build-disk: a site's builds' checkout and cache
  std::string backup_repository;       // --backup-repository: restic repositories ("{project}")
};

using UpCommand = std::function<int(const UpOptions&)>;

// `wok operator`: the Kubernetes operator (src/kube), run by the caller.
struct OperatorOptions {
  std::string kubeconfig;  // empty: in-cluster credentials, else $KUBECONFIG, ~/.kube/config
  std::string context;
  std::string ns;  // where the leader Lease lives
  std::string metrics = "0.0.0.0:8081";
  // The validating admission webhook over HTTPS: HOST:PORT, PEM files.
  std::string admission_listen, admission_cert, admission_key;
  std::string webhook_listen;  // push webhooks' HOST:PORT; empty: not served
  std::string ingress_class = "nginx";
  std::string tls_issuer;
  std::string tls_issuer_kind = "ClusterIssuer";
  std::string image, build_image, php_image;  // empty: the render defaults
  std::string oauth2_proxy_image;             // empty: the render default
  // spec.database: "cloudnative-pg", "mariadb-operator" or "" (a StatefulSet);
  // images empty: the render defaults.
  std::string postgresql_operator, mariadb_operator, mariadb_image;
  // Each "[VERSION=]IMAGE" (render::set_postgresql_image).
  std::vector<std::string> postgresql_images, cnpg_postgresql_images;
  std::string redis_image, rabbitmq_image;  // spec.services; empty: the render defaults
  // Backups: the projects' repository claims (empty: the render defaults).
  std::string backup_claim_size, backup_access_mode, backup_storage_class;
  // Or an S3 store: its URL ({project}) and the credentials Secret's name.
  std::string backup_repository, backup_credentials_secret;
  std::string ingress_namespace;  // allowed by NetworkPolicies; empty: default
  std::string log_level = "info";
  bool openshift = false;
  bool leader_elect = false;
  bool allow_private_sources = false;   // sites' fetches may reach private networks
  RouterLimitFlags serve_limits;        // --serve-max-body etc., as given
  std::vector<std::string> serve_args;  // the same, checked, for sites' `wok serve`
  // --max-site-memory, --max-site-cpu, --max-site-replicas, --max-site-storage
  std::string max_site_memory = "4Gi";
  std::string max_site_cpu = "4";
  int max_site_replicas = 20;
  std::string max_site_storage = "100Gi";
};

using OperatorCommand = std::function<int(const OperatorOptions&)>;

// `wok fetch`: a site's pod's init container fetches its source.
struct FetchOptions {
  std::string url;
  std::string ref = "main";
  std::string into;                    // created; the checkout of the commit
  bool allow_private_sources = false;  // lifts the refusal of private networks
};

// `wok backup-job create`: a site's backup on Kubernetes (the Job its
// CronJob makes, or `wok backup create --kubeconfig`), in a directory that
// holds the site's volumes (storage/NAME, read-only) and the dump of its
// database (database.sql, by an init container), into the restic
// repository of $RESTIC_REPOSITORY with the key in $RESTIC_PASSWORD_FILE;
// the revision in $WOK_BACKUP_REVISION ({"revision", "commit", "spec"}).
struct BackupJobOptions {
  // or "restore", "list", "show", "forget", "sweep", "rabbitmq-export",
  // "rabbitmq-import", "copy", "receive"
  std::string action = "create";
  std::string project, site, uid;
  std::vector<std::string> live;     // sweep: the project's sites, NAME=UID
  std::string reason = "scheduled";  // create: or "manual", "pre-restore"
  std::string backup = "latest";     // restore: an id
  std::string from;                  // restore: another site's backup (a clone)
  std::string dir = "/backup";
  std::string url, user;  // rabbitmq-export|import: the management API, its user
  // copy and receive, a clone from another project on a cluster: the
  // one-time repository's URL (copy), where it listens (receive), the
  // directory of the transfer's Secret (files token and password).
  std::string to, listen = "0.0.0.0:8000", transfer_key = "/transfer-key";
  int timeout_seconds = 3600;  // receive: gives up after
};

// `wok serve`: a site's pod serves one directory (static and php modes).
struct ServeOptions {
  std::string root;
  std::string listen = "0.0.0.0:8080";
  std::string fastcgi;              // "unix:PATH" (php mode)
  std::string front_controller;     // "index.php"
  bool serve_dot_files = false;     // spec.serveDotFiles: .env, .git/... served
  std::string php_timeout = "60s";  // spec.php.timeout: php-fpm silent this long is a 504
  RouterLimitFlags limits;
};

// `wok rollout history|undo` and `wok refresh` on a Kubernetes cluster
// (--kubeconfig, --context): the operator's revisions, not wok up's.
struct ClusterSiteCommand {
  // "history", "undo", "refresh", "backup", "restore", "list", "delete-backup",
  // "db-dump", "db-import", "db-shell"
  std::string verb;
  std::string kubeconfig;  // empty: $KUBECONFIG, ~/.kube/config
  std::string context;     // empty: the current one
  std::string ns, name;
  int64_t to_revision = 0;         // undo: 0 is the one before the live one
  std::string backup;              // restore: an id ("" = latest); delete-backup: an id
  std::string to;                  // restore --to: a new site cloned from the backup
  std::vector<std::string> hosts;  // restore --to: its hosts
  std::string file;                // db-import: -f FILE ("" or "-": stdin)
};

// The work of the commands that run a part of the platform; a command whose
// runner is empty answers that it is not available in this build.
struct Runners {
  UpCommand up;
  OperatorCommand op;
  std::function<int(const ServeOptions&)> serve;
  std::function<int(const FetchOptions&)> fetch;
  std::function<int(const BackupJobOptions&)> backup_job;
  std::function<int(const ClusterSiteCommand&, std::istream& in, std::ostream& out,
                    std::ostream& err)>
      cluster;
};

// A BackupList ({"items": [{id, site, revision, reason, time}]}) as the
// table `wok backup list` prints; "" with `error` set when it is not one.
std::string backup_table(const std::string& list_json, std::string* error);
// `wok backup list --kubeconfig`: the list line kube::kube_backup_list
// returned (of site `name`, or the project's), printed as wok up's list is;
// its "listedAt" (the project's last sweep's list) said on `err`. The exit code.
int print_cluster_backup_list(const std::string& list_json, const std::string& ns,
                              const std::string& name, std::ostream& out, std::ostream& err);

// `wok db shell`'s loop, on wok up and on a cluster: `in` read whole as one
// script when it is not `terminal` or not a terminal, else statement by
// statement (each ended by ";"), prompts on `err`; `run_sql` runs one and
// returns its exit code. The last one's.
int sql_shell(std::istream& in, std::ostream& err, const std::string& name,
              const std::istream* terminal,
              const std::function<int(const std::string& sql)>& run_sql);

// Parses argv, runs the command and returns the exit code: 0 ok, 1 error
// (printed as "error: ..." on stderr), 2 usage error.
int run(int argc, char** argv, const Runners& runners = {});

// The same with explicit streams, for tests. args[0] is the program name.
int run(const std::vector<std::string>& args, const Runners& runners, std::istream& in,
        std::ostream& out, std::ostream& err);

}  // namespace wok::cmd
