#include "router/proxy/proxy_handler.h"

#include "router/proxy/proxy_session.h"

namespace wok::router {

void ProxyHandler::serve(const Route& route, http::Exchange exchange) const {
  auto session =
      std::make_shared<ProxySession>(route.upstream, route.max_body_bytes, std::move(exchange));
  session->start();  // the session keeps itself alive through its socket's callbacks
}

}  // namespace wok::router
