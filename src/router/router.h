#pragma once
// The data plane's request handler: routes by Host to a site and serves it.
// Knows nothing of the store; keeps serving the last table it was given.
#include <atomic>
#include <memory>

#include "http/message.h"
#include "router/route_table.h"

namespace wok::router {

class Router {
 public:
  Router();
  // Atomically replaces the table; in-flight requests finish on the old one.
  void set_table(std::shared_ptr<const RouteTable> table);
  std::shared_ptr<const RouteTable> table() const;
  // The handler to give to http::Server.
  void handle(const http::Request& request, http::Response& response) const;

 private:
  std::atomic<std::shared_ptr<const RouteTable>> table_;
};

}  // namespace wok::router
