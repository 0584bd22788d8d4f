#pragma once
// The php mode's handler (nginx's fastcgi module with try_files): existing
// non-PHP files go to the static handler, PHP scripts and front-controller
// fallbacks to the site's php-fpm over FastCGI. See docs/php-sites.md.
#include "http/exchange.h"
#include "router/route_table.h"

namespace wok::router {

class FastCgiHandler {
 public:
  // route.fastcgi must be set.
  void serve(const Route& route, http::Exchange exchange) const;
};

}  // namespace wok::router
