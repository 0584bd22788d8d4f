#include "kube/run.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <random>

#include "api/validation.h"
#include "hooks/push_hook.h"
#include "http/server.h"
#include "kube/admission.h"
#include "kube/credentials.h"
#include "kube/https_server.h"
#include "kube/operator.h"
#include "kube/site_backups.h"
#include "kube/site_hooks.h"
#include "render/render.h"

extern char** environ;

namespace wok::kube {
namespace {

bool connect(const RunOptions& options, Credentials* creds, std::string* error) {
  bool in_cluster = options.kubeconfig.empty() && std::getenv("KUBERNETES_SERVICE_HOST");
  if (in_cluster) {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      auto eq = entry.find('=');
      if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    return load_in_cluster(kServiceAccountDir, env, creds, error);
  }
  return load_kubeconfig(options.kubeconfig, options.context, creds, error);
}

bool split_host_port(const std::string& address, std::string* host, uint16_t* port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  if (host->empty()) *host = "0.0.0.0";
  try {
    int p = std::stoi(address.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::string identity() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::mt19937 rng(std::random_device{}());
  return std::string(host) + "_" + std::to_string(getpid()) + "_" + std::to_string(rng() % 100000);
}

// The admission webhook over TLS, judging against the operator's caches.
// Returns the exit code of a failure, 0 when serving.
int start_admission(const RunOptions& options, const Operator& op, const api::SiteBounds& bounds,
                    KubeClient& client, const std::string& grant_ns,
                    std::unique_ptr<HttpsServer>* server) {
  HttpsOptions https;
  if (!split_host_port(options.admission_listen, &https.host, &https.port)) {
    std::cerr << "error: --admission-listen " << options.admission_listen
              << ": expected HOST:PORT\n";
    return 2;
  }
  if (options.admission_cert.empty() || options.admission_key.empty()) {
    std::cerr << "error: --admission-listen needs --admission-cert and --admission-key (the API "
                 "server calls "
                 "webhooks over TLS only)\n";
    return 2;
  }
  https.cert_file = options.admission_cert;
  https.key_file = options.admission_key;
  AdmissionView view;
  view.synced = [&op] { return op.synced(); };
  view.project = [&op](const std::string& name) { return op.project(name); };
  view.sites_claiming = [&op](const std::vector<std::string>& hosts) {
    std::vector<nlohmann::json> out;
    for (const auto& s : op.sites()) {
      for (const auto& h :
           (*s).value("spec", nlohmann::json::object()).value("hosts", nlohmann::json::array())) {
        if (std::find(hosts.begin(), hosts.end(), h) != hosts.end()) {
          out.push_back(*s);
          break;
        }
      }
    }
    return out;
  };
  view.bounds = bounds;
  view.postgresql_operator = options.postgresql_operator;
  view.api = [&client](const std::string& method, const std::string& path,
                       const std::string& body) { return client.request(method, path, body); };
  view.grant_ns = grant_ns;
  *server = std::make_unique<HttpsServer>(https, admission_handler(std::move(view)));
  std::string error;
  if (!(*server)->start(&error)) {
    std::cerr << "error: --admission-listen " << options.admission_listen << ": " << error << "\n";
    return 1;
  }
  spdlog::info("admission webhook on https://{}:{}/validate/sites", https.host, (*server)->port());
  std::cout << "admission webhook on " << https.host << ":" << (*server)->port() << "\n"
            << std::flush;
  return 0;
}

}  // namespace

int run_operator(const RunOptions& options) {
  // Signals are taken by sigtimedwait() below, never by another thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Credentials creds;
  std::string error;
  if (!connect(options, &creds, &error)) {
    std::cerr << "error: " << error << "\n";
    return 1;
  }
  std::string metrics_host;
  uint16_t metrics_port = 0;
  if (!split_host_port(options.metrics, &metrics_host, &metrics_port)) {
    std::cerr << "error: --metrics " << options.metrics << ": expected HOST:PORT\n";
    return 2;
  }

  OperatorConfig config;
  if (!api::parse_site_bounds(options.max_site_memory, options.max_site_cpu,
                              options.max_site_replicas, options.max_site_storage, &config.bounds,
                              &error)) {
    std::cerr << "error: " << error << "\n";
    return 2;
  }
  config.settings.ingress_class = options.ingress_class;
  config.settings.tls_issuer = options.tls_issuer;
  config.settings.tls_issuer_kind = options.tls_issuer_kind;
  if (!options.oauth2_proxy_image.empty())
    config.settings.oauth2_proxy_image = options.oauth2_proxy_image;
  config.settings.postgresql_operator = options.postgresql_operator;
  config.settings.mariadb_operator = options.mariadb_operator;
  if (!options.mariadb_image.empty()) config.settings.mariadb_image = options.mariadb_image;
  if (std::string err = render::set_postgresql_images(&config.settings, options.postgresql_images,
                                                      options.cnpg_postgresql_images);
      !err.empty()) {
    std::cerr << "error: " << err << "\n";
    return 2;
  }
  // The versions a site may ask for are those this cluster has an image of.
  api::offer_database_versions("postgresql", render::postgresql_versions(config.settings));
  if (!options.redis_image.empty()) config.settings.redis_image = options.redis_image;
  if (!options.rabbitmq_image.empty()) config.settings.rabbitmq_image = options.rabbitmq_image;
  if (!options.backup_claim_size.empty())
    config.settings.backup_claim_size = options.backup_claim_size;
  if (!options.backup_access_mode.empty())
    config.settings.backup_access_mode = options.backup_access_mode;
  config.settings.backup_storage_class = options.backup_storage_class;
  if (std::string err =
          check_backup_store(options.backup_repository, options.backup_credentials_secret);
      !err.empty()) {
    std::cerr << "error: " << err << "\n";
    return 2;
  }
  config.settings.backup_repository = options.backup_repository;
  config.settings.backup_credentials_secret = options.backup_credentials_secret;
  config.settings.openshift_routes = options.openshift;
  config.settings.allow_private_sources = options.allow_private_sources;
  config.settings.serve_args = options.serve_args;
  if (!options.image.empty()) config.settings.image = options.image;
  if (!options.build_image.empty()) config.settings.build_image = options.build_image;
  if (!options.php_image.empty()) config.settings.php_image = options.php_image;
  if (!options.ingress_namespace.empty())
    config.settings.ingress_namespace = options.ingress_namespace;
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  std::string ns = !options.ns.empty()                               ? options.ns
                   : !creds.ns.empty() && options.kubeconfig.empty() ? creds.ns
                                                                     : "wok-system";
  config.settings.operator_namespace = ns;
  config.leader_elect = options.leader_elect;
  config.lease.ns = ns;
  config.own_namespace = ns;
  config.lease.identity = identity();

  std::string id = config.lease.identity;
  KubeClient client(creds, "wok-operator/" + id);
  Operator op(client, config);

  std::string hook_host;
  uint16_t hook_port = 0;
  std::unique_ptr<hooks::PushHookEndpoint> hook_endpoint;
  std::unique_ptr<http::Server> hook_server;
  if (!options.webhook_listen.empty()) {
    if (!split_host_port(options.webhook_listen, &hook_host, &hook_port)) {
      std::cerr << "error: --webhook-listen " << options.webhook_listen << ": expected HOST:PORT\n";
      return 2;
    }
    hook_endpoint = std::make_unique<hooks::PushHookEndpoint>(operator_hook_backend(
        client,
        [&op](const std::string& ns, const std::string& name) { return op.site(ns, name); }));
    http::ServerOptions hook_options;
    hook_options.host = hook_host;
    hook_options.port = hook_port;
    hook_options.threads = 2;
    hook_options.max_body_bytes = hooks::kMaxHookBodyBytes;  // 413 before a larger body is read
    hook_server = std::make_unique<http::Server>(
        hook_options, [&hook_endpoint](const http::Request& request, http::Response& response) {
          if (hooks::PushHookEndpoint::is_hook_path(request.path))
            return hook_endpoint->handle(request, response);
          response.status = 404;
          response.set_header("Content-Type", "text/plain; charset=utf-8");
          response.body = "not found: webhooks are POST /hooks/v1/projects/PROJECT/sites/SITE\n";
        });
  }

  std::unique_ptr<HttpsServer> admission;
  if (!options.admission_listen.empty()) {
    if (int code = start_admission(options, op, config.bounds, client, ns, &admission); code != 0)
      return code;
  }

  http::ServerOptions server_options;
  server_options.host = metrics_host;
  server_options.port = metrics_port;
  server_options.threads = 1;
  http::Server server(server_options, [&op, &hook_endpoint](const http::Request& request,
                                                            http::Response& response) {
    response.set_header("Content-Type", "text/plain; charset=utf-8");
    if (request.path == "/healthz") {
      response.body = "ok\n";
    } else if (request.path == "/readyz") {
      bool ready = op.ready();
      response.status = ready ? 200 : 503;
      response.body = ready ? "ok\n" : "not ready: informers not synced or no lease seen yet\n";
    } else if (request.path == "/metrics") {
      response.set_header("Content-Type", "text/plain; version=0.0.4");
      response.body = op.metrics() + (hook_endpoint ? hook_endpoint->metrics() : "");
    } else {
      response.status = 404;
      response.body = "not found: try /healthz, /readyz or /metrics\n";
    }
  });
  if (!server.start(&error)) {
    std::cerr << "error: --metrics " << options.metrics << ": " << error << "\n";
    return 1;
  }
  spdlog::info("wok operator {} against {}; health and metrics on {}:{}{}", id, creds.server,
               metrics_host, server.port(), options.leader_elect ? "; leader election on" : "");
  std::cout << "metrics on " << metrics_host << ":" << server.port() << "\n" << std::flush;
  if (hook_server) {
    if (!hook_server->start(&error)) {
      std::cerr << "error: --webhook-listen " << options.webhook_listen << ": " << error << "\n";
      return 1;
    }
    std::cout << "webhooks on " << hook_host << ":" << hook_server->port() << "\n" << std::flush;
  }
  op.start();

  int code = 0;
  timespec tick{1, 0};
  while (true) {
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("stopping ({})", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (op.lost_leadership()) {
      code = 1;
      break;
    }
  }
  if (hook_server) hook_server->stop(1000);
  if (admission) admission->stop();
  op.stop();
  server.stop(1000);
  return code;
}

}  // namespace wok::kube
