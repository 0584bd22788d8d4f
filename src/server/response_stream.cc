#include "server/response_stream.h"

#include "http/loop.h"

namespace wok::server {

void ResponseStream::open(http::Exchange exchange, const std::string& first) {
  http::Response head;
  head.set_header("Content-Type", "application/json");
  head.set_header("Cache-Control", "no-store");
  exchange.start_response(head, -1);
  if (!first.empty()) exchange.write(first);
  mailbox_ = exchange.loop().mailbox();
  exchange.on_complete([gone = gone_](const http::Completion&) { gone->store(true); });
  exchange_ = std::move(exchange);
}

void ResponseStream::post(std::string text, bool finish) const {
  auto mailbox = mailbox_.lock();
  if (!mailbox) return;
  mailbox->post([ex = exchange_, text = std::move(text), finish]() mutable {
    if (!ex.active()) return;
    // Broken off when the client had not taken what came before: one large
    // piece (a first answer) to a client that reads is written whole.
    if (!text.empty() && ex.queued_output() > kMaxQueued) {
      ex.abort();
      return;
    }
    if (!text.empty()) ex.write(text);
    if (finish) ex.finish();
  });
}

}  // namespace wok::server
