#pragma once
// The reverse proxy handler: sends a request to one of the route's
// upstreams and streams the answer back (nginx's proxy module: one
// handler, one job). The static handler and, later, a FastCGI handler sit
// beside it behind the same shape: serve(route, exchange). A FastCGI
// upstream reuses UpstreamPool/LoopUpstreams for its sockets and only
// replaces the wire format (ProxySession's head/body encoding and its
// response parser).
#include "http/exchange.h"
#include "router/route_table.h"

namespace wok::router {

class ProxyHandler {
 public:
  // route.upstream must be set. Answers 502/504 itself when upstreams fail.
  void serve(const Route& route, http::Exchange exchange) const;
};

}  // namespace wok::router
