#pragma once
// Serves a site's files from its document root (modelled on nginx's
// ngx_http_static_module: one handler, one job): GET/HEAD, index.html,
// directory redirects, custom 404, validators, single byte ranges; the body
// goes out with sendfile.
#include "http/message.h"
#include "router/route_table.h"

namespace wok::router {

class StaticHandler {
 public:
  void serve(const Route& route, const http::Request& request, http::Response& response) const;
};

}  // namespace wok::router
