#pragma once
// The commands the wok image runs inside a site's pod on Kubernetes (see
// src/render): `wok fetch` (init container: source into the workspace) and
// `wok serve` (the site's web front). The same code as `wok up` underneath:
// git::fetch/checkout and the router.
#include <string>
#include <vector>

#include "cli/router_flags.h"
#include "git/fetch_limits.h"

namespace wok::platform {

struct FetchOptions {
  std::string url;
  std::string ref = "main";
  std::string into;  // created; the checkout of the commit
  git::FetchLimits limits;  // --allow-private-sources lifts the network refusal
};

struct ServeOptions {
  std::string root;
  std::string listen = "0.0.0.0:8080";
  std::string fastcgi;           // "unix:PATH" (php mode)
  std::string front_controller;  // "index.php"
  bool serve_dot_files = false;  // spec.serveDotFiles: .env, .git/... served
  std::string php_timeout = "60s";  // spec.php.timeout: php-fpm silent this long is a 504
  cli::RouterLimitFlags limits;
};

int run_fetch(const FetchOptions& options);
int run_serve(const ServeOptions& options);

// Handles `wok fetch ...` and `wok serve ...`; returns -1 if argv is neither.
int run_pod_command(int argc, char** argv);

}  // namespace wok::platform
