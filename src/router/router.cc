#include "router/router.h"

#include "router/static_handler.h"

namespace wok::router {

Router::Router() : table_(std::make_shared<const RouteTable>()) {}

void Router::set_table(std::shared_ptr<const RouteTable> table) {
  if (!table) table = std::make_shared<const RouteTable>();
  table_.store(std::move(table));
}

std::shared_ptr<const RouteTable> Router::table() const { return table_.load(); }

void Router::handle(const http::Request& request, http::Response& response) const {
  // Holding the table keeps it (and its routes) alive for this request even
  // if a new one is swapped in meanwhile.
  std::shared_ptr<const RouteTable> table = table_.load();
  const Route* route = table->find(request.header("Host"));
  if (route == nullptr) {
    response.status = 404;
    response.body = "no site is served at this host\n";
    response.set_header("Content-Type", "text/plain; charset=utf-8");
    return;
  }
  StaticHandler().serve(*route, request, response);
}

}  // namespace wok::router
