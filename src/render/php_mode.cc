// Site `php`: php-fpm and the wok router in one pod, FastCGI over a unix
// socket in a shared emptyDir; `storage` on PVCs mounted inside the code.
#include "api/validation.h"
#include "render/parts.h"

namespace wok::render::detail {
namespace {

constexpr char kSocketDir[] = "/run/wok";
constexpr char kSocket[] = "/run/wok/php-fpm.sock";

// php-fpm in the foreground, logging to stderr, no pid file: it runs as a
// non-root user on a read-only root file system.
std::string fpm_config(const PhpPlan& php, const std::string& limit) {
  std::string c =
      "[global]\n"
      "error_log = /proc/self/fd/2\n"
      "daemonize = no\n"
      "\n"
      "[www]\n"
      "listen = " +
      std::string(kSocket) +
      "\n"
      "listen.mode = 0666\n"
      "pm = dynamic\n"
      "pm.max_children = 8\n"
      "pm.start_servers = 2\n"
      "pm.min_spare_servers = 1\n"
      "pm.max_spare_servers = 3\n"
      "clear_env = no\n"
      "catch_workers_output = yes\n"
      "decorate_workers_output = no\n"
      // spec.php.timeout, as under wok up: php-fpm frees the worker, wok
      // serve (--php-timeout) has answered 504 at the same limit.
      "request_terminate_timeout = " +
      limit + "\n";
  // The same values as under wok up (render::php_admin_values), which the
  // app cannot change with ini_set.
  for (const auto& [key, value] : php_admin_values(php))
    c += "php_admin_value[" + key + "] = \"" + value + "\"\n";
  return c;
}

}  // namespace

std::vector<json> render_php(const SiteNames& names, const json& site,
                             const PlatformSettings& settings) {
  const SitePlan plan = plan_site(site);
  const PhpPlan& php = plan.php;
  std::string docroot = site_dir(site);
  if (!php.docroot.empty() && php.docroot != ".") docroot += "/" + php.docroot;

  json config =
      object_head("v1", "ConfigMap", names.name + "-php", names.ns, site_labels(names, "web"));
  const std::string limit = std::to_string(php.timeout_ms / 1000) + "s";
  config["data"] = {{"php-fpm.conf", fpm_config(php, limit)}};

  json code_mounts = json::array({{{"name", "workspace"}, {"mountPath", kWorkspace}},
                                  {{"name", "socket"}, {"mountPath", kSocketDir}}});
  static const ComponentPlan none;
  const ComponentPlan* php_plan = find_component(plan, "php");
  add_storage_mounts(site, plan, php_plan ? *php_plan : none, code_mounts);
  json fpm_mounts = code_mounts;
  fpm_mounts.push_back({{"name", "php-config"}, {"mountPath", "/etc/wok"}, {"readOnly", true}});
  fpm_mounts.push_back({{"name", "tmp"}, {"mountPath", "/tmp"}});

  json fpm = {{"name", "php"},
              {"image", settings.php_image},
              {"command", {"php-fpm", "--nodaemonize", "--fpm-config", "/etc/wok/php-fpm.conf"}},
              {"workingDir", docroot},
              {"securityContext", container_security()},
              {"volumeMounts", fpm_mounts}};
  json web = {{"name", "web"},
              {"image", settings.image},
              {"args",
               {"serve", "--root", docroot, "--listen", "0.0.0.0:8080", "--fastcgi",
                std::string("unix:") + kSocket, "--front-controller", php.front_controller,
                "--php-timeout", limit}},
              {"ports", {{{"name", "http"}, {"containerPort", kHttpPort}}}},
              {"readinessProbe", http_probe("/")},
              {"securityContext", container_security()},
              {"volumeMounts", code_mounts}};
  for (const std::string& a : serve_args(site, settings)) web["args"].push_back(a);
  if (json r = container_resources(site); !r.is_null()) fpm["resources"] = r;
  if (php_plan) {  // spec.database: DB_* and DATABASE_URL, as on wok up
    json env = plan_env(*php_plan, json::object());
    if (!env.empty()) fpm["env"] = env;
  }

  json volumes =
      json::array({{{"name", "workspace"}, {"emptyDir", json::object()}},
                   {{"name", "socket"}, {"emptyDir", json::object()}},
                   {{"name", "tmp"}, {"emptyDir", json::object()}},
                   {{"name", "php-config"}, {"configMap", {{"name", names.name + "-php"}}}}});
  add_storage_volumes(names, site, volumes);
  json pod = {{"securityContext", pod_security(settings)},
              {"automountServiceAccountToken", false},
              {"initContainers", init_containers(site, settings)},
              {"containers", {fpm, web}},
              {"volumes", volumes}};

  std::vector<json> claims = storage_claims(names, site);
  std::vector<json> out = {config};
  out.insert(out.end(), claims.begin(), claims.end());
  out.push_back(deployment(names, "web", names.name, 1, !claims.empty(), pod));
  out.push_back(service(names, "web", names.name));
  for (json& e : exposure(names, site, names.name, settings)) out.push_back(std::move(e));
  return out;
}

}  // namespace wok::render::detail
