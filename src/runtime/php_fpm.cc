#include "runtime/php_fpm.h"

namespace wok::runtime {

namespace {

bool valid_ini_key(const std::string& key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  return true;
}

bool valid_ini_value(const std::string& value) {
  for (char c : value)
    if (c == '\n' || c == '\r' || c == '\0' || c == '"') return false;
  return value.size() <= 4096;
}

}  // namespace

std::string php_fpm_config(const PhpPool& pool, std::string* error) {
  error->clear();
  if (pool.pm != "ondemand" && pool.pm != "dynamic" && pool.pm != "static") {
    *error = "php pm \"" + pool.pm + "\" must be ondemand, dynamic or static";
    return {};
  }
  if (pool.max_children < 1) {
    *error = "php max_children must be at least 1";
    return {};
  }
  if (pool.request_timeout.count() < 1) {
    *error = "php request timeout must be at least 1s";
    return {};
  }
  const std::string limit = std::to_string(pool.request_timeout.count());
  std::string c;
  // The container runs as the sandbox user already: no `user`/`group`, no
  // privileges to drop. Logs go to the instance's stderr file.
  c += "[global]\n";
  c += "error_log = /proc/self/fd/2\n";
  c += "log_limit = 8192\n";
  c += "daemonize = no\n\n";
  c += "[site]\n";
  c += "listen = 127.0.0.1:" + std::to_string(kPhpPort) + "\n";
  c += "listen.allowed_clients = 127.0.0.1\n";
  c += "pm = " + pool.pm + "\n";
  c += "pm.max_children = " + std::to_string(pool.max_children) + "\n";
  if (pool.pm == "dynamic") {
    c += "pm.start_servers = 1\npm.min_spare_servers = 1\n";
    c += "pm.max_spare_servers = " + std::to_string(std::max(1, pool.max_children / 2)) + "\n";
  }
  c += "pm.process_idle_timeout = 30s\n";
  c += "pm.max_requests = 1000\n";
  // spec.php.timeout, wall-clock: the master kills a worker whose request
  // ran longer (checked every third of the limit, so it lands between the
  // limit and 4/3 of it; the router has answered 504 at the limit already)
  // and the worker is free again. max_execution_time below is PHP's own,
  // CPU-time check, with a catchable "Maximum execution time" error.
  c += "request_terminate_timeout = " + limit + "s\n";
  c += "clear_env = no\n";
  c += "catch_workers_output = yes\n";
  c += "decorate_workers_output = no\n";
  if (!pool.docroot.empty()) c += "chdir = " + pool.docroot + "\n";
  // Only /tmp is writable besides the volumes.
  std::map<std::string, std::string> ini = {{"session.save_path", "/tmp"},
                                            {"upload_tmp_dir", "/tmp"},
                                            {"sys_temp_dir", "/tmp"},
                                            {"log_errors", "On"},
                                            {"max_execution_time", limit}};
  for (const auto& [k, v] : pool.ini) {
    if (!valid_ini_key(k)) {
      *error = "php ini key \"" + k + "\" is not a valid ini name";
      return {};
    }
    if (!valid_ini_value(v)) {
      *error = "php ini value of " + k + " must not contain quotes or line breaks";
      return {};
    }
    ini[k] = v;
  }
  for (const auto& [k, v] : ini) c += "php_admin_value[" + k + "] = \"" + v + "\"\n";
  return c;
}

bool configure_php_fpm(const PhpPool& pool, InstanceSpec* spec, std::string* error) {
  std::string conf = php_fpm_config(pool, error);
  if (!error->empty()) return false;
  spec->files["php-fpm.conf"] = conf;
  spec->port = kPhpPort;
  spec->probe_listening = true;
  spec->command = {pool.binary, "--nodaemonize", "--fpm-config", "/etc/wok/php-fpm.conf"};
  return true;
}

}  // namespace wok::runtime
