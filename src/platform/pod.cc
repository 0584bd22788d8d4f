#include "platform/pod.h"

#include <signal.h>

#include <filesystem>
#include <iostream>

#include "api/validation.h"
#include "git/fetch_limits.h"
#include "git/repository.h"
#include "http/server.h"
#include "router/router.h"

namespace wok::platform {

namespace fs = std::filesystem;

int run_fetch(const cmd::FetchOptions& options) {
  // The mirror sits beside the checkout, in the same writable volume.
  std::string mirror = fs::path(options.into).lexically_normal().string() + ".mirror.git";
  git::FetchLimits limits;
  limits.allow_private_networks = options.allow_private_sources;
  git::FetchResult fetched = git::fetch(options.url, options.ref, mirror, limits);
  if (!fetched.ok) {
    std::cerr << "error: " << fetched.error << "\n";
    return 1;
  }
  if (std::string err = git::checkout(mirror, fetched.commit, options.into); !err.empty()) {
    std::cerr << "error: checkout of " << fetched.commit << " failed: " << err << "\n";
    return 1;
  }
  std::error_code ec;
  fs::remove_all(mirror, ec);
  std::cout << "fetched " << options.url << " " << options.ref << " at " << fetched.commit
            << " into " << options.into << "\n";
  return 0;
}

int run_serve(const cmd::ServeOptions& options) {
  if (!options.fastcgi.empty() && !options.fastcgi.starts_with("unix:")) {
    std::cerr << "error: --fastcgi \"" << options.fastcgi
              << "\" is not unix:PATH (php-fpm's socket)\n";
    return 2;
  }
  if (!options.front_controller.empty() && !options.front_controller.ends_with(".php")) {
    std::cerr << "error: --front-controller " << options.front_controller
              << " does not end in .php\n";
    return 2;
  }
  long long php_timeout_ms = api::parse_duration_ms(options.php_timeout);
  if (php_timeout_ms < api::kMinPhpTimeoutMs || php_timeout_ms > api::kMaxPhpTimeoutMs) {
    std::cerr << "error: --php-timeout \"" << options.php_timeout
              << "\" is not a duration from 1s to 1h\n";
    return 2;
  }
  if (!fs::is_directory(options.root)) {
    std::cerr << "error: --root " << options.root << " is not a directory\n";
    return 1;
  }
  size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "error: --listen \"" << options.listen << "\" is not HOST:PORT\n";
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  router::Router router;
  auto table = std::make_shared<router::RouteTable>();
  auto route = std::make_shared<router::Route>();
  // The router refuses symlinks on the way to a root: hand it the real path.
  std::string given = fs::absolute(options.root).lexically_normal().string();
  route->root = fs::canonical(options.root).string();
  if (!options.fastcgi.empty()) {
    // php-fpm runs in the same pod and sees the document root where we do.
    route->fastcgi = std::make_shared<const router::FastCgiTarget>(router::FastCgiTarget{
        options.fastcgi.substr(5), given, options.front_controller, {}, {}, 0, php_timeout_ms});
  }
  route->serve_dot_files = options.serve_dot_files;
  table->set_default(std::move(route));
  router.set_table(std::move(table));
  http::ServerOptions server_options;
  std::string limits_error;
  if (!cmd::apply_router_limits(options.limits, &server_options, &limits_error)) {
    std::cerr << "error: " << limits_error << "\n";
    return 2;
  }
  server_options.host = options.listen.substr(0, colon);
  server_options.port = static_cast<uint16_t>(std::stoi(options.listen.substr(colon + 1)));
  http::Server server(server_options,
                      [&router](http::Exchange ex) { router.serve(std::move(ex)); });
  std::string error;
  if (!server.start(&error)) {
    std::cerr << "error: cannot listen on " << options.listen << ": " << error << "\n";
    return 1;
  }
  std::cout << "serving " << options.root << " on " << server_options.host << ":" << server.port()
            << " ready\n"
            << std::flush;
  int sig = 0;
  sigwait(&signals, &sig);
  server.stop();
  return 0;
}

}  // namespace wok::platform
