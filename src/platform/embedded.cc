#include "platform/embedded.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "api/validation.h"
#include "base/cidr.h"
#include "base/sealed_box.h"
#include "base/text.h"
#include "certs/acme.h"
#include "certs/certificate.h"
#include "cmd/config.h"
#include "controllers/build_disk.h"
#include "controllers/cron_jobs.h"
#include "controllers/database_jobs.h"
#include "controllers/route_publisher.h"
#include "controllers/site_controller.h"
#include "http/off_loop.h"
#include "http/server.h"
#include "http/sync_handler.h"
#include "http/tls.h"
#include "platform/demo.h"
#include "platform/site_backups.h"
#include "platform/site_database.h"
#include "platform/site_logs.h"
#include "platform/site_stats_json.h"
#include "router/router.h"
#include "router/stats/access_log.h"
#include "router/stats/site_stats.h"
#include "runtime/database.h"
#include "runtime/runtime.h"
#include "server/api_server.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/source_policy.h"
#include "store/secrets.h"
#include "store/store.h"

namespace wok::platform {

namespace fs = std::filesystem;

namespace {

bool split_host_port(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int n = std::stoi(p);
  if (n > 65535) return false;
  *host = text.substr(0, colon);
  *port = static_cast<uint16_t>(n);
  return true;
}

// The admin token exists once per data directory; its plain text is kept
// only in DATA/admin.token (mode 0600 from its creation), the store has its hash.
std::string ensure_admin_token(store::Store& store, const fs::path& data_dir, std::string* error) {
  fs::path file = data_dir / "admin.token";
  if (store.has_admin_token()) {
    std::ifstream in(file);
    std::string token;
    std::getline(in, token);
    if (token.empty())
      *error = file.string() + " is missing: the admin token cannot be shown again";
    // One written by an older wok (0644) is narrowed.
    struct stat st {};
    if (::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
      ::chmod(file.c_str(), 0600);
    }
    return token;
  }
  std::string token = server::new_token();
  if (!cmd::write_secret_file(file.string(), token + "\n", error)) return "";
  store.add_token("admin", server::hash_token(token), true);
  return token;
}

// One `wok up` per data directory: a second one would adopt the first one's
// instances (and stop them when it exits) and take over the client config.
// DATA/wok.lock holds an flock for the life of the process (the kernel drops
// it when the process dies, even by kill -9) and the holder's PID. The
// descriptor is close-on-exec: no child (runc, git, builds) inherits it.
class DataDirLock {
 public:
  // Takes the lock or explains in *error who holds it.
  bool acquire(const fs::path& data_dir, std::string* error) {
    fs::path file = data_dir / "wok.lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) {
      *error = "cannot open " + file.string() + ": " + std::strerror(errno);
      return false;
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int saved = errno;
      if (saved != EWOULDBLOCK) {
        *error = "cannot lock " + file.string() + ": " + std::strerror(saved);
        return false;
      }
      char buf[32] = {};
      ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) pid = "unknown";
      *error = "data directory " + data_dir.string() + " is in use by wok up (pid " + pid +
               "); stop it first or use --data";
      return false;
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      spdlog::warn("cannot write the pid into {}: {}", file.string(), std::strerror(errno));
    }
    return true;
  }
  ~DataDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

}  // namespace

int run_embedded(const EmbeddedOptions& options) {
  std::string public_host, api_host;
  uint16_t public_port = 0, api_port = 0;
  if (!split_host_port(options.listen, &public_host, &public_port)) {
    std::cerr << "error: --listen \"" << options.listen << "\" is not HOST:PORT\n";
    return 2;
  }
  std::string tls_host;
  uint16_t tls_port = 0;
  if (!options.listen_tls.empty() && !split_host_port(options.listen_tls, &tls_host, &tls_port)) {
    std::cerr << "error: --listen-tls \"" << options.listen_tls << "\" is not HOST:PORT\n";
    return 2;
  }
  if (!options.acme_directory.empty() && options.listen_tls.empty()) {
    std::cerr << "error: --acme-directory needs a TLS listener (--listen-tls)\n";
    return 2;
  }
  if (!split_host_port(options.api, &api_host, &api_port)) {
    std::cerr << "error: --api \"" << options.api << "\" is not HOST:PORT\n";
    return 2;
  }
  http::ServerOptions public_opts;
  std::string limits_error;
  if (!cmd::apply_router_limits(options.router, &public_opts, &limits_error)) {
    std::cerr << "error: " << limits_error << "\n";
    return 2;
  }
  api::SiteBounds bounds;
  if (std::string err;
      !api::parse_site_bounds(options.max_site_memory, options.max_site_cpu,
                              options.max_site_replicas, options.max_site_storage, &bounds, &err)) {
    std::cerr << "error: " << err << "\n";
    return 2;
  }
  const int64_t build_disk_bytes = api::parse_memory_bytes(options.max_build_disk);
  if (build_disk_bytes < (16ll << 20)) {
    std::cerr << "error: --max-build-disk \"" << options.max_build_disk
              << "\" is not a quantity of at least 16Mi\n";
    return 2;
  }
  if (bounds.replicas < 0) {
    std::cerr << "error: --max-site-replicas " << bounds.replicas << " is negative\n";
    return 2;
  }
  std::string error;
  // 0700: it holds the admin token, the store and every tenant's files.
  if (!cmd::make_private_directory(options.data_dir, &error)) {
    std::cerr << "error: data directory: " << error << "\n";
    return 1;
  }
  fs::path data_dir = fs::absolute(options.data_dir);
  // Local sources: the admin's directories, absolute (realpath'd at each check).
  std::vector<std::string> local_dirs;
  for (const std::string& dir : options.allowed_local_sources) {
    if (!fs::is_directory(dir)) {
      std::cerr << "error: --allow-local-source " << dir << ": no such directory\n";
      return 1;
    }
    local_dirs.push_back(fs::absolute(dir).lexically_normal().string());
  }
  for (const std::string& cidr : options.egress_allow) {
    if (std::string err = runtime::check_ipv4_cidr(cidr); !err.empty()) {
      std::cerr << "error: --egress-allow: " << err << "\n";
      return 1;
    }
  }
  if (options.demo) {  // the demo's repositories, made by wok itself
    std::error_code ec;
    fs::create_directories(data_dir / "demo", ec);
    local_dirs.push_back((data_dir / "demo").string());
  }
  // Before anything touches the data directory (store, instances, client config).
  DataDirLock lock;
  if (!lock.acquire(data_dir, &error)) {
    std::cerr << "error: " << error << "\n";
    return 1;
  }
  auto store = store::Store::open((data_dir / "wok.db").string(), &error);
  if (!store) {
    std::cerr << "error: " << error << "\n";
    return 1;
  }
  // spec.database postgresql: every version the host has (wok db upgrade).
  if (auto versions = runtime::installed_postgresql_versions(); !versions.empty()) {
    spdlog::info("PostgreSQL versions offered: {}", join(versions));
    api::offer_database_versions("postgresql", std::move(versions));
  }
  // Secret values are sealed under DATA/secrets.key (made 0600 at the first start).
  auto cipher = store::SecretCipher::load_or_create((data_dir / "secrets.key").string(), &error);
  if (!cipher) {
    std::cerr << "error: " << error << "\n";
    return 1;
  }
  store::SecretStore secrets(*store, std::move(cipher));
  std::string admin_token = ensure_admin_token(*store, data_dir, &error);
  if (!error.empty()) spdlog::warn("{}", error);

  // Signals are taken by sigwait() below, never by another thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client or upstream that closes while we write must cost one
  // connection (EPIPE), not the whole process (writev/sendfile raise SIGPIPE).
  signal(SIGPIPE, SIG_IGN);

  router::Router router;
  {
    std::vector<base::Cidr> proxies;
    for (const std::string& text : options.trusted_proxies) {
      if (auto c = base::parse_cidr(text, &error)) {
        proxies.push_back(*c);
      } else {
        std::cerr << "error: --trusted-proxy \"" << text << "\" " << error << "\n";
        return 2;
      }
    }
    router.set_trusted_proxies(std::move(proxies));
  }
  // spec.access.oidc: sessions sealed under DATA/sessions.key (0600), so a
  // restart signs nobody out; the providers' HTTPS trusted as the admin says.
  {
    auto sessions = base::SealedBox::load_or_create((data_dir / "sessions.key").string(), &error);
    if (!sessions) {
      std::cerr << "error: " << error << "\n";
      return 1;
    }
    router.set_session_box(std::move(sessions));
    router.set_oidc_providers(options.oidc_ca_file, options.allow_private_sources);
  }
  // Observers outlive the servers (declared before them): the router
  // reports each completed request to both.
  router::SiteStats site_stats;
  router::AccessLogOptions log_opts;
  log_opts.dir = (data_dir / "logs").string();
  router::AccessLog access_log(log_opts);
  router.add_observer(&site_stats);
  router.add_observer(&access_log);
  public_opts.host = public_host;
  public_opts.port = public_port;
  public_opts.h2c = options.h2c;
  // ACME's HTTP-01 challenges, answered on the plain port (set before it serves).
  certs::HttpChallenges acme_challenges;
  if (!options.acme_directory.empty()) {
    router.set_challenge_responder(
        [&acme_challenges](std::string_view token) { return acme_challenges.get(token); });
  }
  http::Server public_server(
      public_opts, [&router](http::Exchange exchange) { router.serve(std::move(exchange)); });
  if (!public_server.start(&error)) {
    std::cerr << "error: cannot listen on " << options.listen << ": " << error << "\n";
    return 1;
  }
  std::string port_suffix =
      public_server.port() == 80 ? "" : ":" + std::to_string(public_server.port());
  // HTTPS: the same router behind TLS, each handshake's certificate the one
  // the route table holds for the name asked (spec.tls); mode auto's come
  // from wok's local CA in the data directory (`wok ca` prints it).
  std::unique_ptr<certs::LocalCa> local_ca;
  std::unique_ptr<certs::AcmeClient> acme;
  std::unique_ptr<http::Server> tls_server;
  std::optional<std::string> tls_suffix;
  if (!options.listen_tls.empty()) {
    local_ca = certs::LocalCa::open((data_dir / "ca").string(), &error);
    if (!local_ca) {
      std::cerr << "error: local CA: " << error << "\n";
      return 1;
    }
    auto acceptor = http::TlsAcceptor::create(
        [&router](std::string_view name) { return router.certificate_for(name); },
        {"h2", "http/1.1"}, &error);
    if (!acceptor) {
      std::cerr << "error: TLS: " << error << "\n";
      return 1;
    }
    http::ServerOptions tls_opts = public_opts;
    tls_opts.h2c = false;  // HTTP/2 by ALPN there
    tls_opts.host = tls_host;
    tls_opts.port = tls_port;
    tls_opts.tls = std::move(acceptor);
    tls_server = std::make_unique<http::Server>(
        tls_opts, [&router](http::Exchange exchange) { router.serve(std::move(exchange)); });
    if (!tls_server->start(&error)) {
      std::cerr << "error: cannot listen on " << options.listen_tls << ": " << error << "\n";
      return 1;
    }
    router.set_https_port(tls_server->port());
    if (!options.acme_directory.empty()) {
      std::error_code ec;
      fs::create_directories(data_dir / "acme", ec);
      fs::permissions(data_dir / "acme", fs::perms::owner_all, ec);
      certs::AcmeOptions acme_opts;
      acme_opts.directory_url = options.acme_directory;
      acme_opts.email = options.acme_email;
      acme_opts.ca_file = options.acme_ca_file;
      acme_opts.account_key_path = (data_dir / "acme" / "account.key").string();
      acme = std::make_unique<certs::AcmeClient>(acme_opts, acme_challenges);
    }
    tls_suffix = tls_server->port() == 443 ? "" : ":" + std::to_string(tls_server->port());
  }

  controllers::RoutePublisher routes(router);
  // Adopts the instances a previous `wok up` left running (kill -9).
  runtime::RuntimeOptions runtime_opts;
  runtime_opts.data_dir = data_dir / "runtime";
  runtime_opts.egress.allowed = options.egress_allow;
  runtime::Runtime runtime(runtime_opts);
  controllers::PlatformConfig platform;
  platform.data_dir = data_dir.string();
  platform.allow_private_sources = options.allow_private_sources;
  platform.check_local_sources = [local_dirs](const nlohmann::json& site) {
    return server::fetch_time_source_error(site, local_dirs);
  };
  platform.public_url_port = port_suffix;
  platform.public_tls_url_port = tls_suffix;
  platform.local_ca = local_ca.get();
  platform.acme = acme.get();
  if (const char* r = std::getenv("WOK_CERT_RENEW_AFTER_S"))
    platform.certificate_renew_after_s = std::atoll(r);
  platform.runtime = &runtime;
  platform.build_disk_bytes = static_cast<uint64_t>(build_disk_bytes);
  // Builds cut short by a stop of wok: their disks are unmounted, their checkouts go.
  controllers::close_leftover_build_disks(data_dir);
  platform.requests_total = [&site_stats](const std::string& ns, const std::string& site) {
    return site_stats.requests_total(ns, site);
  };
  if (const char* w = std::getenv("WOK_AUTOSCALE_DOWN_WINDOW_MS"))
    platform.autoscale_down_window = std::chrono::milliseconds(std::atol(w));
  if (const char* t = std::getenv("WOK_READY_TIMEOUT_MS"))
    platform.ready_timeout = std::chrono::milliseconds(std::atol(t));
  platform.read_secret = [&secrets](const std::string& ns, const std::string& name,
                                    std::string* err) { return secrets.read(ns, name, err); };
  platform.create_secret = [&secrets](const std::string& ns, const std::string& name,
                                      const std::map<std::string, std::string>& data) {
    // Every pass asks: a read when it exists (no sealing, no write); when
    // not, an atomic create, so a member's own made meanwhile is kept.
    if (secrets.describe(ns, name)) return std::string();
    store::Result r = secrets.create(ns, name, data, {{"wok.dev/generated", "true"}});
    return r.ok() || r.code == store::Code::kAlreadyExists
               ? std::string()
               : "secret \"" + name + "\": " + r.message;
  };
  // wok backup and spec.backup: restic repositories under the data directory.
  if (!options.backup_repository.empty() &&
      options.backup_repository.find("{project}") == std::string::npos) {
    std::cerr << "error: --backup-repository must hold {project} (each project has a repository "
                 "of its own): "
              << options.backup_repository << "\n";
    return 2;
  }
  controllers::BackupSettings backup_settings;
  backup_settings.dir = data_dir / "backups";
  backup_settings.repository = options.backup_repository;
  controllers::Backups backups(*store, runtime, platform.read_secret, data_dir.string(),
                               backup_settings);
  platform.backups = &backups;
  controllers::SiteController sites(*store, routes, platform);
  BackupSchedule backup_schedule(*store, backups);

  server::ApiOptions api_opts;
  api_opts.version = options.version;
  // Every change asked of the API, for the platform admin (wok audit).
  server::AuditLog audit((data_dir / "audit").string());
  if (!audit.error().empty()) {
    std::cerr << "error: audit log: " << audit.error() << "\n";
    return 1;
  }
  api_opts.audit = &audit;
  if (local_ca) api_opts.ca_certificate = local_ca->certificate_pem();
  api_opts.allowed_local_sources = local_dirs;
  api_opts.site_bounds = bounds;
  api_opts.secrets = &secrets;
  api_opts.site_stats = [&site_stats](const std::string& ns, const std::string& name, int minutes) {
    return site_stats_json(site_stats, ns, name, minutes);
  };
  api_opts.site_logs = [&runtime](const std::string& ns, const std::string& name,
                                  const server::LogsQuery& q) {
    return site_logs(runtime, ns, name, q);
  };
  // spec.app.jobs: runs in the sandboxes of the live revisions' components.
  controllers::CronJobsOptions cron_opts;
  cron_opts.data_dir = data_dir;
  controllers::CronJobs cron_jobs(*store,
                                  controllers::CronJobs::sandbox_launcher(
                                      *store, runtime, data_dir, platform.read_secret,
                                      [&backups](const std::string& ns, const std::string& name) {
                                        return backups.held(ns, name);
                                      }),
                                  cron_opts);
  api_opts.extra_metrics = [&sites, &cron_jobs, &routes, &site_stats, &access_log] {
    // The controllers' passes, each family once (the site controller's, cron's).
    std::vector<const reconcile::Controller*> controllers = {&sites.controller()};
    if (const reconcile::Controller* cron = cron_jobs.controller()) controllers.push_back(cron);
    return sites.metrics() + reconcile::metrics_text(controllers) +
           "# HELP wok_router_sites Sites in the route table.\n# TYPE wok_router_sites gauge\n" +
           "wok_router_sites " + std::to_string(routes.sites()) + "\n" + site_stats.prometheus() +
           access_log.prometheus();
  };
  api_opts.job_logs = [&cron_jobs](const std::string& ns, const std::string& name,
                                   const std::string& job,
                                   int tail) { return cron_jobs.logs(ns, name, job, tail); };
  // wok db dump|import|shell: minutes of work, run off the API's loops.
  api_opts.site_database = [&, tmp = data_dir / "tmp"](const std::string& ns,
                                                       const std::string& name, bool dump,
                                                       const std::string& sql, int sql_fd) {
    return site_database(*store, runtime, platform.read_secret, tmp, ns, name, dump, sql, sql_fd);
  };
  api_opts.upload_dir = data_dir / "tmp" / "sql-uploads";
  api_opts.build_output = [&sites](const std::string& ns, const std::string& name) {
    return sites.build_output(ns, name);
  };
  api_opts.site_backups = [&](const server::BackupRequest& q) {
    return site_backups(backups, sites, q);
  };
  server::ApiHandler api(*store, api_opts);
  http::ServerOptions api_server_opts;
  api_server_opts.host = api_host;
  api_server_opts.port = api_port;
  api_server_opts.threads = 2;
  // Database commands of one project run one at a time, two projects' at
  // once; backups and restores (longer) on a pool of their own, so they
  // never hold a dump or a statement.
  http::OffLoopPool api_pool(2, 32, 2, 1);
  http::OffLoopPool backup_pool(2, 32, 2, 1);
  http::AsyncHandler api_handler = http::adapt_sync_handler(
      [&api](const http::Request& q, http::Response& r) { api.handle(q, r); });
  http::Server api_server(api_server_opts, [&](http::Exchange exchange) {
    if (api.watch(exchange)) return;  // a stream, or its refusal
    std::string tenant;
    bool backup = false;
    // Authenticated and authorized on the loop (cheap) before anything is
    // read or queued: strangers cannot fill the pool or its queue.
    if (!server::is_long_running(exchange.request(), &tenant, &backup) ||
        !api.may_run_long(exchange.request()))
      return api_handler(std::move(exchange));
    http::OffLoopPool& pool = backup ? backup_pool : api_pool;
    exchange.read_body([&api, &pool, tenant](http::Exchange& ex) {
      // A copy (the loop may drop ex's) but for the body, moved.
      std::string body = std::move(ex.request().body);
      auto request = std::make_shared<http::Request>(ex.request());
      request->body = std::move(body);
      bool queued = pool.run(
          ex.loop().mailbox(), tenant, [&api, ex, request]() mutable -> std::function<void()> {
            // Its file (a dump) is closed unless sent,
            // even when the loop is gone by then.
            std::shared_ptr<http::Response> response(new http::Response, [](http::Response* r) {
              if (r->file_fd >= 0) ::close(r->file_fd);
              delete r;
            });
            api.handle(*request, *response);
            return [ex, response]() mutable {
              if (!ex.active()) return;
              http::Response out = std::move(*response);
              response->file_fd = -1;  // the server's now
              ex.respond(std::move(out));
            };
          });
      if (!queued) {
        http::Response busy;
        busy.status = 429;
        busy.set_header("Content-Type", "application/json");
        busy.set_header("Retry-After", "5");
        busy.body = server::status_json(429, "TooManyRequests",
                                        "other database or backup commands of project " + tenant +
                                            " are running; try again shortly");
        ex.respond(std::move(busy));
      }
    });
  });
  if (!api_server.start(&error)) {
    std::cerr << "error: cannot listen on " << options.api << " (API): " << error << "\n";
    return 1;
  }
  std::string api_url = "http://" + api_host + ":" + std::to_string(api_server.port());
  if (!admin_token.empty()) {
    cmd::ClientConfig config{api_url, admin_token};
    if (!cmd::write_config(cmd::config_path(), config, &error))
      spdlog::warn("client config: {}", error);
  }

  sites.start();
  cron_jobs.start();
  backup_schedule.start();
  if (options.demo) {
    std::string demo_error = install_demo(*store, data_dir.string(), options.examples_dir);
    if (!demo_error.empty()) spdlog::error("demo: {}", demo_error);
  }

  std::cout << "wok " << options.version << " ready: api " << api_url << ", sites http://"
            << public_host << ":" << public_server.port();
  if (tls_server) std::cout << ", https://" << tls_host << ":" << tls_server->port();
  std::cout << " (data " << data_dir.string() << ")\n";
  if (options.demo) {
    // On HTTPS from the first minute, with the local CA (`wok ca`).
    const std::string scheme = tls_suffix ? "https://" : "http://";
    const std::string suffix = tls_suffix ? *tls_suffix : port_suffix;
    std::cout << "demo site: " << scheme << "www.demo.localhost" << suffix << "/\n";
    std::cout << "demo php and app sites: " << scheme << "php.demo.localhost" << suffix << "/, "
              << scheme << "app.demo.localhost" << suffix << "/\n";
    if (tls_suffix)
      std::cout << "local CA: " << local_ca->certificate_path()
                << " (curl --cacert, or `wok ca` to print it; http:// still answers on port "
                << public_server.port() << ")\n";
  }
  std::cout << "client config: " << cmd::config_path() << " (try: wok get sites)\n" << std::flush;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "stopping (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ")\n" << std::flush;
  public_server.stop();
  if (tls_server) tls_server->stop();
  api.stop_watches();  // they never end by themselves
  api_server.stop();
  controllers::end_database_jobs(runtime);  // a dump would hold the API's pool
  backups.cancel();                         // and restic, for up to an hour
  backup_schedule.stop();
  sites.stop();
  cron_jobs.stop();  // kills the runs (their sandboxes) before the runtime goes
  // Stopping normally stops every workload this process started or adopted.
  runtime.shutdown();
  controllers::close_leftover_build_disks(data_dir);  // of the builds the stop cut short
  return 0;
}

}  // namespace wok::platform
