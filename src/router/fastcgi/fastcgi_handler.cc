#include "router/fastcgi/fastcgi_handler.h"

#include "router/fastcgi/fastcgi_script.h"
#include "router/fastcgi/fastcgi_session.h"
#include "router/static/static_handler.h"

namespace wok::router {

namespace {

// The storage volume a request path is in, if any: its URL prefix and host directory.
const std::pair<std::string, std::string>* storage_of(const Route& route, std::string_view path) {
  for (const auto& mount : route.fastcgi->static_mounts) {
    if (path.starts_with(mount.first)) return &mount;
  }
  return nullptr;
}

}  // namespace

void FastCgiHandler::serve(const Route& route, http::Exchange exchange) const {
  // Uploaded files live in storage, outside the revision: served from there
  // as plain files (the static handler refuses dot-segments and escapes).
  if (const auto* mount = storage_of(route, exchange.request().path)) {
    Route storage{route.project, route.site, mount->second};
    storage.serve_dot_files = route.serve_dot_files;
    storage.mutable_files = true;  // an upload deleted is gone, a new one is there at once
    std::string rest = exchange.request().path.substr(mount->first.size() - 1);
    exchange.read_body([storage = std::move(storage), rest = std::move(rest)](http::Exchange& ex) {
      http::Request request = ex.request();
      request.path = rest;
      http::Response response;
      StaticHandler().serve(storage, request, response);
      ex.respond(std::move(response));
    });
    return;
  }
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
