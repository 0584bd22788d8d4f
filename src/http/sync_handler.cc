#include "http/sync_handler.h"

#include <unistd.h>

#include "http/response_head.h"

namespace wok::http {

void answer_sync(const Handler& handler, Exchange& exchange) {
  Response response;
  bool failed = false;
  try {
    handler(exchange.request(), response);
  } catch (...) {
    // Handlers do not throw by convention; if one does anyway (bad_alloc),
    // it costs this connection, not the process.
    failed = true;
  }
  if (failed) {
    if (response.file_fd >= 0) close(response.file_fd);
    response = make_error_response(500);
  }
  exchange.respond(std::move(response));
}

AsyncHandler adapt_sync_handler(Handler handler) {
  return [handler = std::move(handler)](Exchange exchange) {
    exchange.read_body([&handler](Exchange& ex) { answer_sync(handler, ex); });
  };
}

}  // namespace wok::http
