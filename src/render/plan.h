#pragma once
// One plan of a site for both platforms: which components run, which one the
// site's hosts reach, and each one's command or image, env, port, health
// and limits. The embedded runtime executes it (controllers/workloads.cc turns
// each component into sandboxed instances); the Kubernetes render turns the
// same plan into containers (render/app_mode.cc, php_mode.cc). A rule about
// what a site runs is written here once, so the same YAML behaves the same
// on `wok up` and on a cluster. Pure: no I/O.
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "api/jobs.h"

namespace wok::render {

// spec.storage[]: a volume of its own size (a PVC on Kubernetes; a file
// system of that size on `wok up`, runtime/volume.h), kept across
// revisions, mounted in every instance of every component of the site.
struct VolumePlan {
  std::string name;
  std::string path;  // relative, normalized, no trailing "/"
  std::string size;  // a quantity, as the spec writes it
};

// An environment variable whose value is a key of one of the project's
// secrets (valueFrom.secretKeyRef on a cluster).
struct SecretEnv {
  std::string name, secret, key;
};

struct ComponentPlan {
  std::string name;  // "web", "worker"...; php mode: "php"
  int replicas = 1;
  std::string image;                 // as the spec names it; "" = `command` on the platform's image
  std::vector<std::string> command;  // empty with an image: its entrypoint
  uint16_t port = 0;                 // $PORT; 0 = nothing reaches it
  bool routed = false;               // the site's hosts reach this one
  std::string balance;               // routed: "round-robin" (default) or "least-connections"
  // What the process gets: the spec's env, then PORT (with a port),
  // WOK_PROJECT, WOK_SITE and WOK_COMPONENT, on every platform.
  std::map<std::string, std::string> env;
  std::vector<std::string> secrets;  // env from these secrets (spec.app.components[].secrets)
  // Single keys of secrets, set before `env` (whose values may name them as
  // $(NAME), which both platforms expand): DB_PASSWORD.
  std::vector<SecretEnv> secret_env;
  // Readiness: an HTTP GET of this path answering 2xx/3xx; "" = something
  // accepts connections on the port. A path is also the liveness check.
  std::string health_path;
  // Limits of each instance as the spec writes them ("" = the platform's
  // default: 256Mi of memory, no CPU limit but a fair share).
  std::string memory, cpu;
  // The names the site's other components reach it by (with a port):
  // "NAME" and "SITE-NAME", the second its Service on Kubernetes.
  std::vector<std::string> service_names;
};

// Where volume `v` appears inside component `c`'s sandbox, under `source_dir`
// (the directory of the site's files in that platform's sandboxes): there
// for a component run from the source or a php site, at "/" + path for an
// image (whose own files are its root).
std::string volume_mount_path(const ComponentPlan& c, const VolumePlan& v,
                              const std::string& source_dir);

// spec.app.autoscale: the replicas of one component follow its load, on
// `wok up` (controllers/autoscaler.h) as with a HorizontalPodAutoscaler.
struct AutoscalePlan {
  std::string component;  // the spec's, else the routed one
  int min_replicas = 1, max_replicas = 1;
  // Targets; either or both (none set: CPU at 80%, as a cluster's HPA).
  int target_cpu_percent = 0;  // average CPU of a replica, percent of its limit (1 CPU without one)
  int target_requests_per_second =
      0;  // per replica, counted by the router (the routed component only)
};

// spec.app.jobs[]: a cron job and what each run is: its component's plan
// (image, env, secrets, limits, volumes) with the job's argv, the same for
// the embedded cron controller (controllers/cron_jobs.h) and a CronJob.
struct JobPlan {
  api::JobSpec job;   // schedule, concurrency policy, history, time limit
  ComponentPlan run;  // the component's plan; command: the job's when it gives one
};

// php mode: what php-fpm and the router in front of it are told, on both
// platforms (the embedded runtime's pool, the render's ConfigMap and `wok
// serve` arguments).
struct PhpPlan {
  std::string docroot;                         // as the spec writes it; "" or "." = the files' top
  std::string front_controller = "index.php";  // for paths without a file
  std::map<std::string, std::string> ini;      // php_value entries, as the spec gives them
  int64_t timeout_ms = 60000;  // spec.php.timeout: php-fpm silent this long is a 504
};

// spec.tls: how the site's hosts get HTTPS (docs/tls.md).
struct TlsPlan {
  std::string mode = "auto";    // "auto", "secret" or "off"
  std::string secret_name;      // mode secret: the secret with tls.crt and tls.key
  bool redirect = false;        // http:// answered with a redirect to https://
  int64_t hsts_max_age_s = -1;  // -1: no Strict-Transport-Security
  bool hsts_include_subdomains = false;
  bool enabled() const { return mode != "off"; }
};

// spec.access.oidc: an OpenID Connect login in front of the site
// (docs/access.md); issuer "" for none.
struct OidcPlan {
  std::string issuer;
  std::string client_id;
  std::string secret_name;  // key client-secret (and cookie-secret on a cluster)
  std::vector<std::string> scopes{"openid", "email", "profile"};
  std::string user_claim = "email";
  std::string groups_claim = "groups";
  std::vector<std::string> allowed_users, allowed_groups;
  int64_t session_s = 8 * 3600;
  bool enabled() const { return !issuer.empty(); }
};

// The Strict-Transport-Security value of `tls` ("max-age=31536000;
// includeSubDomains"); "" when it has none. Sent by wok up's router and
// given to the OpenShift router as is.
std::string hsts_header(const TlsPlan& tls);

// spec.database: a database server of the site's own (docs/data.md),
// reachable from the site's instances only, as `host` on both platforms
// (a name in the site's network on wok up, its Service on a cluster).
// Every component gets DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD
// (from the secret) and DATABASE_URL.
struct DatabasePlan {
  std::string engine;   // "mariadb" or "postgresql"; "" = none
  std::string version;  // the major version ("10.11", "15")
  std::string size;     // its volume, as the spec writes it
  std::string memory;   // its memory limit ("512Mi" by default)
  std::string cpu;      // the site's spec.resources.cpu ("" = none)
  std::string host;     // "SITE-db"
  uint16_t port = 0;
  std::string database, user;  // the site's name, "-" written "_"
  // "SITE-db", key `password`: made by the platform with a random password
  // when missing (a member may set their own: letters, digits, ._~-).
  std::string secret_name;
  bool enabled() const { return !engine.empty(); }
};

// spec.services[]: a server of the site's own beside its database (a message
// queue, a cache), run and reached the same way: `host` "SITE-NAME", the
// password in the secret "SITE-NAME" (key `password`, made by the platform).
// Every component gets PREFIX_HOST, PREFIX_PORT, PREFIX_PASSWORD, PREFIX_URL
// (and PREFIX_USER for rabbitmq), PREFIX being the name in capitals, "-"
// written "_" (queue: QUEUE_URL=amqp://blog:...@blog-queue:5672/%2F).
struct ServicePlan {
  std::string name;    // "queue"
  std::string engine;  // "redis" or "rabbitmq"
  std::string version, size, memory, cpu;
  std::string host;  // "SITE-NAME"
  uint16_t port = 0;
  std::string user;  // rabbitmq: the site's name ("-" as "_"); redis: none
  std::string secret_name;
  std::string env_prefix;  // "QUEUE"
};

// What a database password may be: 12 to 128 letters, digits and "._~-"
// (safe in a URL and in SQL without escaping). "" or why not.
std::string check_database_password(const std::string& password);

// spec.backup and what a cluster makes of it (docs/data.md, "Backups"):
// a CronJob "SITE-backup" for every site that keeps data (volumes, a
// database) or asks for backups; suspended without a schedule, so that
// `wok backup create --kubeconfig` makes its Jobs by hand. wok up backs up
// any site, by hand or by its schedule (platform/site_backups.h).
struct BackupPlan {
  // The site's own spec.backup.schedule (cron, UTC; "" = none of its own):
  // what it follows is api::backup_policy's, its project's default else.
  std::string schedule;
  bool on_cluster = false;
};

struct SitePlan {
  std::string ns, name, mode;  // mode: "static", "php" or "app"
  // The revision the plan belongs to (the Site's status.revision as the
  // platform deploys it: wok up's revision number, the operator's
  // ControllerRevision); 0 when none, as for `wok render` of a new Site.
  // Every instance and pod template carries it (wok.dev/revision).
  int64_t revision = 0;
  std::vector<ComponentPlan> components;  // static: none
  // The routed component's name ("" when none: a static site, or an app
  // of workers only).
  std::string routed;
  bool autoscaled = false;
  AutoscalePlan autoscale;
  std::vector<VolumePlan> volumes;  // php and app
  std::vector<JobPlan> jobs;        // app
  PhpPlan php;                      // php
  uint64_t max_body_bytes = 0;      // spec.maxBodySize; 0: the router's limit
  bool serve_dot_files = false;     // spec.serveDotFiles: .env, .git/... served
  // spec.access: networks (CIDR) whose clients are refused, and, when not
  // empty, the only ones let in (docs/access.md).
  std::vector<std::string> ip_allow, ip_deny;
  // spec.access.basicAuth: the secret with htpasswd lines (key "auth"), the
  // realm, and the paths that need no login (of basicAuth or oidc; ""
  // secret: no login).
  std::string basic_auth_secret;
  std::string basic_auth_realm;
  std::vector<std::string> login_exempt;
  OidcPlan oidc;
  TlsPlan tls;
  DatabasePlan database;              // php and app
  std::vector<ServicePlan> services;  // php and app
  BackupPlan backup;
};

// The secrets the platform makes for the site's database and services when
// they do not exist (a random `password`, and `username` when the server
// has users): on wok up the controller, on a cluster the operator.
struct GeneratedSecret {
  std::string name, username;
};
std::vector<GeneratedSecret> generated_secrets(const SitePlan& plan);

// `site`: a Site object (metadata.name, metadata.namespace, spec), valid
// (api::validate_site); what is missing gets its documented default.
SitePlan plan_site(const nlohmann::json& site);

// What php-fpm's pool gets as php_admin_value entries on both platforms
// (the app cannot change them with ini_set): sessions, uploads and temporary
// files in /tmp (the only writable place besides the volumes), errors
// logged, max_execution_time from the timeout, then the spec's ini over them.
std::map<std::string, std::string> php_admin_values(const PhpPlan& php);

// The plan as JSON, every field named (what the golden tests pin per mode,
// tests/render/golden/plan-*.json).
nlohmann::json plan_json(const SitePlan& plan);

const ComponentPlan* find_component(const SitePlan& plan, const std::string& name);

}  // namespace wok::render
