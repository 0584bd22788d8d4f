// The `wok` command: the client commands, `wok up` (the embedded platform)
// and `wok operator` (the Kubernetes operator).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "cmd/cli.h"
#include "kube/run.h"
#include "kube/site_database.h"
#include "kube/site_rollout.h"
#include "platform/backup_job.h"
#include "platform/embedded.h"
#include "platform/pod.h"

#ifndef WOK_EXAMPLES_DIR
#define WOK_EXAMPLES_DIR "examples"
#endif

namespace {

int run_operator(const wok::cmd::OperatorOptions& cli) {
  wok::kube::RunOptions options;
  options.kubeconfig = cli.kubeconfig;
  options.context = cli.context;
  options.ns = cli.ns;
  options.metrics = cli.metrics;
  options.admission_listen = cli.admission_listen;
  options.admission_cert = cli.admission_cert;
  options.admission_key = cli.admission_key;
  options.webhook_listen = cli.webhook_listen;
  options.ingress_class = cli.ingress_class;
  options.tls_issuer = cli.tls_issuer;
  options.tls_issuer_kind = cli.tls_issuer_kind;
  options.oauth2_proxy_image = cli.oauth2_proxy_image;
  options.postgresql_operator = cli.postgresql_operator;
  options.mariadb_operator = cli.mariadb_operator;
  options.mariadb_image = cli.mariadb_image;
  options.postgresql_images = cli.postgresql_images;
  options.cnpg_postgresql_images = cli.cnpg_postgresql_images;
  options.redis_image = cli.redis_image;
  options.rabbitmq_image = cli.rabbitmq_image;
  options.backup_claim_size = cli.backup_claim_size;
  options.backup_access_mode = cli.backup_access_mode;
  options.backup_storage_class = cli.backup_storage_class;
  options.backup_repository = cli.backup_repository;
  options.backup_credentials_secret = cli.backup_credentials_secret;
  options.image = cli.image;
  options.build_image = cli.build_image;
  options.php_image = cli.php_image;
  options.ingress_namespace = cli.ingress_namespace;
  options.log_level = cli.log_level;
  options.openshift = cli.openshift;
  options.leader_elect = cli.leader_elect;
  options.allow_private_sources = cli.allow_private_sources;
  options.serve_args = cli.serve_args;
  options.max_site_memory = cli.max_site_memory;
  options.max_site_cpu = cli.max_site_cpu;
  options.max_site_replicas = cli.max_site_replicas;
  options.max_site_storage = cli.max_site_storage;
  return wok::kube::run_operator(options);
}

// `wok db dump|import|shell --kubeconfig` (kube/site_database.h).
int run_db_on_cluster(const wok::cmd::ClusterSiteCommand& c, std::istream& in, std::ostream& out,
                      std::ostream& err) {
  return wok::kube::with_cluster(
      c.kubeconfig, c.context, c.ns,
      [&](wok::kube::KubeClient& client) {
        return wok::kube::kube_db_command(
            client, c.verb, c.ns, c.name, c.file, in, out, err,
            [](std::istream& shell_in, std::ostream& shell_err, const std::string& name,
               const std::function<int(const std::string&)>& run_sql) {
              return wok::cmd::sql_shell(shell_in, shell_err, name, &std::cin, run_sql);
            });
      },
      err);
}

}  // namespace

int main(int argc, char** argv) {
  // Logs are diagnostics: stderr, so that stdout carries only what a
  // command prints for its caller ("ready: ...", tables, YAML).
  spdlog::set_default_logger(spdlog::stderr_color_mt("wok"));
  wok::cmd::Runners runners;
  runners.serve = wok::platform::run_serve;
  runners.fetch = wok::platform::run_fetch;
  runners.backup_job = [](const wok::cmd::BackupJobOptions& o) {
    return wok::platform::run_backup_job(o);
  };
  runners.op = run_operator;
  runners.cluster = [](const wok::cmd::ClusterSiteCommand& c, std::istream& in, std::ostream& out,
                       std::ostream& err) {
    if (c.verb == "db-upgrade")
      return wok::kube::run_on_cluster(
          c.kubeconfig, c.context, c.ns,
          [&](wok::kube::KubeClient& client, const std::string&) {
            return wok::kube::kube_db_upgrade(client, c.ns, c.name, c.to);
          },
          out, err);
    if (c.verb.rfind("db-", 0) == 0) return run_db_on_cluster(c, in, out, err);
    using wok::kube::SiteVerb;
    SiteVerb verb = c.verb == "history"  ? SiteVerb::kHistory
                    : c.verb == "undo"   ? SiteVerb::kUndo
                    : c.verb == "backup" ? SiteVerb::kBackup
                                         : SiteVerb::kRefresh;
    using wok::kube::KubeClient;
    if (c.verb == "list") {
      std::ostringstream list;
      if (int code = wok::kube::run_on_cluster(
              c.kubeconfig, c.context, c.ns,
              [&](KubeClient& client, const std::string& now) {
                return wok::kube::kube_backup_list(client, c.ns, c.name, now,
                                                   std::chrono::minutes(3));
              },
              list, err))
        return code;
      return wok::cmd::print_cluster_backup_list(list.str(), c.ns, c.name, out, err);
    }
    if (c.verb == "delete-backup")
      return wok::kube::run_on_cluster(
          c.kubeconfig, c.context, c.ns,
          [&](KubeClient& client, const std::string& now) {
            return wok::kube::kube_backup_delete(client, c.ns, c.name, c.backup, now,
                                                 std::chrono::minutes(30));
          },
          out, err);
    if (c.verb == "restore")
      return wok::kube::run_on_cluster(
          c.kubeconfig, c.context, c.ns,
          [&](KubeClient& client, const std::string& now) {
            return c.to.empty()
                       ? wok::kube::kube_restore_request(client, c.ns, c.name, c.backup, now)
                       : wok::kube::kube_restore_to(client, c.ns, c.name, c.backup, c.to, c.hosts,
                                                    now, std::chrono::minutes(3));
          },
          out, err);
    return wok::kube::run_site_verb(verb, c.kubeconfig, c.context, c.ns, c.name, c.to_revision, out,
                                    err);
  };
  runners.up = [](const wok::cmd::UpOptions& up) {
    wok::platform::EmbeddedOptions options;
    options.data_dir = up.data_dir;
    options.listen = up.listen;
    options.listen_tls = up.listen_tls;
    options.acme_directory = up.acme_directory;
    options.acme_email = up.acme_email;
    options.acme_ca_file = up.acme_ca_file;
    options.oidc_ca_file = up.oidc_ca_file;
    options.h2c = up.h2c;
    options.api = up.api;
    options.demo = up.demo;
    options.router = up.router;
    options.allowed_local_sources = up.allow_local_sources;
    options.egress_allow = up.egress_allow;
    options.trusted_proxies = up.trusted_proxies;
    options.allow_private_sources = up.allow_private_sources;
    options.max_site_memory = up.max_site_memory;
    options.max_site_cpu = up.max_site_cpu;
    options.max_site_replicas = up.max_site_replicas;
    options.max_site_storage = up.max_site_storage;
    options.max_build_disk = up.max_build_disk;
    options.backup_repository = up.backup_repository;
    const char* examples = std::getenv("WOK_EXAMPLES_DIR");
    options.examples_dir = examples ? examples : WOK_EXAMPLES_DIR;
    options.version = WOK_VERSION;
    return wok::platform::run_embedded(options);
  };
  return wok::cmd::run(argc, argv, runners);
}
