#pragma once
// `wok operator`: connect, start the operator and its health/metrics
// endpoint, run until SIGTERM or SIGINT, stop cleanly (releasing the lease).
#include <string>
#include <vector>

namespace wok::kube {

struct RunOptions {
  std::string kubeconfig;  // empty: in-cluster, else $KUBECONFIG / ~/.kube/config
  std::string context;
  std::string ns;  // where the Lease lives; default: the service account's, else wok-system
  std::string metrics = "0.0.0.0:8081";
  // Push webhooks (docs/webhooks.md) on a listener of their own, so that
  // forges reach /hooks/ and never /metrics; empty: not served.
  std::string webhook_listen;
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
  std::string ingress_namespace;  // empty: the render default
  std::string log_level = "info";
  bool openshift = false;
  bool leader_elect = false;
  bool allow_private_sources = false;   // sites' fetch init containers may reach private networks
  std::vector<std::string> serve_args;  // router limits for sites' `wok serve`
  // The validating admission webhook (kube/admission.h), HTTPS on its own
  // listener with a certificate the files rotate; empty listen: not served.
  std::string admission_listen, admission_cert, admission_key;
  // Upper bounds on every site (--max-site-*), as `wok up` has them.
  std::string max_site_memory = "4Gi", max_site_cpu = "4", max_site_storage = "100Gi";
  int max_site_replicas = 20;
};

// Returns the process exit code.
int run_operator(const RunOptions& options);

}  // namespace wok::kube
