#pragma once
// Internal: what carries an exchange to its client. An HTTP/1.1 Connection
// carries one at a time; an HTTP/2 session (h2_session.h) one per stream.
// Exchange (exchange.cc) forwards a handler's calls here.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/message.h"

namespace wok::http {

struct ExchangeState;

class ExchangeHost {
 public:
  virtual ~ExchangeHost() = default;
  virtual void want_body(ExchangeState& ex) = 0;
  virtual void respond(ExchangeState& ex, Response response) = 0;
  virtual void start_response(ExchangeState& ex, const Response& head, int64_t content_length) = 0;
  virtual bool write(ExchangeState& ex, std::string_view bytes) = 0;
  virtual void finish(ExchangeState& ex) = 0;
  virtual void upgrade(ExchangeState& ex, const Response& head) = 0;
  virtual void abort(ExchangeState& ex) = 0;
  virtual void report_limit(std::string_view limit, int status, std::string_view detail) = 0;
  virtual size_t queued_output() const = 0;
};

}  // namespace wok::http
