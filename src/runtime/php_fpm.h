#pragma once
// php mode: one php-fpm master per site instance, in the sandbox, on the base
// image (the host's php8.2-fpm), listening on 127.0.0.1:kPhpPort inside the
// instance's own network namespace. The router reaches it the way it reaches
// app instances (a socket made in that namespace, Runtime::connect_to): no
// path the tenant can write is ever followed by the host (a unix socket in
// the tenant-writable /run/wok could be swapped for a symlink to any socket
// of the host). Readiness is php-fpm accepting connections there. The
// router must send SCRIPT_FILENAME as the path *inside* the sandbox (under
// PhpPool::docroot).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "runtime/instance.h"

namespace wok::runtime {

inline constexpr uint16_t kPhpPort = 9000;

struct PhpPool {
  std::string docroot;                     // inside the sandbox, e.g. /srv/site/public
  std::map<std::string, std::string> ini;  // spec.php.ini -> php_admin_value (not overridable)
  std::string pm = "ondemand";             // or "dynamic", "static"
  int max_children = 5;
  // spec.php.timeout: request_terminate_timeout and max_execution_time (an
  // ini max_execution_time of the site's own still wins for the latter).
  std::chrono::seconds request_timeout{60};
  std::string binary = "php-fpm8.2";
};

// php-fpm.conf: global section + one pool. "" in `error` when fine, else why
// (an ini key or value that would break the file).
std::string php_fpm_config(const PhpPool& pool, std::string* error);

// Sets spec->command, spec->port (kPhpPort: probed for readiness) and
// spec->files["php-fpm.conf"]; false with `error`.
bool configure_php_fpm(const PhpPool& pool, InstanceSpec* spec, std::string* error);

}  // namespace wok::runtime
