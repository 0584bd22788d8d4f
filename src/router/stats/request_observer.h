#pragma once
// What the router reports when a response completes, for access logs and
// per-site statistics. Observers run on the loop thread: they must only
// count or enqueue, never block.
#include <chrono>
#include <cstdint>
#include <string_view>

namespace wok::router {

struct RequestRecord {
  std::string_view project;
  std::string_view site;
  std::string_view host;
  std::string_view method;
  std::string_view path;  // as sent (percent-encoded), without the query
  int status = 0;
  uint64_t bytes = 0;                          // response body bytes (0 for HEAD and 304)
  std::chrono::system_clock::time_point time;  // when the request arrived
  std::chrono::microseconds duration{0};
  std::chrono::microseconds upstream{-1};  // time spent waiting for an upstream; -1: none (static)
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_request(const RequestRecord& record) = 0;
};

}  // namespace wok::router
