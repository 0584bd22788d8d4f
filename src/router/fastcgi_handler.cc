#include "router/fastcgi_handler.h"

#include "router/fastcgi_script.h"
#include "router/fastcgi_session.h"
#include "router/static_handler.h"

namespace wok::router {

void FastCgiHandler::serve(const Route& route, http::Exchange exchange) const {
  PhpDispatch dispatch = resolve_php_request(route, exchange.request());
  switch (dispatch.kind) {
    case PhpDispatch::Kind::kScript: {
      auto session =
          std::make_shared<FastCgiSession>(route, std::move(dispatch.script), std::move(exchange));
      session->start();  // the session keeps itself alive through its socket's callbacks
      return;
    }
    case PhpDispatch::Kind::kBadRequest: {
      http::Response response;
      response.status = 400;
      response.body = "bad request: dot-segments are not allowed in this site's paths\n";
      response.set_header("Content-Type", "text/plain; charset=utf-8");
      exchange.respond(std::move(response));
      return;
    }
    case PhpDispatch::Kind::kStatic:
      break;
  }
  // The route lives in the table, which may be swapped before the body is
  // read: the static side keeps its own copy.
  exchange.read_body([route = route](http::Exchange& ex) {
    http::Response response;
    StaticHandler().serve(route, ex.request(), response);
    ex.respond(std::move(response));
  });
}

}  // namespace wok::router
