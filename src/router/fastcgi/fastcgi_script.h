#pragma once
// Decides, for a php site, whether a request is a static file or a PHP
// script, like nginx's "try_files $uri $uri/ /index.php?$args" with
// fastcgi_split_path_info. The kernel checks existence beneath the
// document root (open_beneath), never string tricks.
#include <string>

#include "http/message.h"
#include "router/route_table.h"

namespace wok::router {

struct PhpScript {
  std::string script_name;  // URL path of the script: "/index.php"
  std::string path_info;    // decoded rest after it: "/foo/bar", or ""
};

struct PhpDispatch {
  enum class Kind {
    kStatic,      // the static handler answers (file, index.html, redirect, 404, 400)
    kBadRequest,  // a dot-segment: refused outright (400)
    kScript,      // run `script` on php-fpm
  };
  Kind kind = Kind::kStatic;
  PhpScript script;
};

// Only files whose name ends in ".php" ever run: a ".php" segment that
// names no script answers 404 rather than falling back to the front
// controller, so /uploads/evil.jpg/x.php can never execute evil.jpg.
// A path through a dot-file (/.git/x.php, /.env) never reaches php-fpm
// unless the site serves dot-files (Route::serve_dot_files).
PhpDispatch resolve_php_request(const Route& route, const http::Request& request);

}  // namespace wok::router
