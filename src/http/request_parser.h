#pragma once
// Incremental HTTP/1.1 request parser: an adapter over llhttp that turns a
// byte stream into whole Requests and enforces the data plane's limits.
// Errors map to the status the server must answer with before closing.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace wok::http {

struct ParserLimits {
  size_t max_target_bytes = 8 * 1024;        // request-target; beyond it: 414
  size_t max_header_bytes = 16 * 1024;       // request line + header block; beyond it: 431
  size_t max_body_bytes = 16 * 1024 * 1024;  // decoded body; beyond it: 413
  // Stop after the head with kHeaders and hand the body out in pieces
  // (take_body()) instead of whole; the server streams bodies this way.
  bool report_headers = false;
};

class RequestParser {
 public:
  enum class Status {
    kNeedMore,  // all input consumed, no complete request yet
    kRequest,   // a request is complete: take_request()
    kError,     // malformed or over a limit: error_status(); the stream is dead
    kHeaders,   // report_headers only: the head is complete: take_request()
  };
  // Where the current message stands; the server uses it for timeouts.
  enum class Phase { kIdle, kHeaders, kBody };

  explicit RequestParser(ParserLimits limits = {});
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses from data up to the end of at most one request and sets *consumed
  // to the bytes used. Stopping after each request lets the caller apply
  // back-pressure to pipelined clients and stop at "Connection: close".
  Status parse(std::string_view data, size_t* consumed);
  // The request completed by the last kRequest; leaves the parser ready for
  // the next one.
  Request take_request();
  // After kRequest in report_headers mode: the head went at kHeaders, the
  // body in pieces; only the message's end is left to mark (no Request is
  // moved out and made anew, as take_request() would, once per request).
  void end_request();
  // report_headers: body bytes decoded since the last call.
  std::string take_body();
  // After kHeaders: whether a body follows (Content-Length > 0 or chunked).
  bool body_expected() const;
  // True when parse() must run again even without new input (a bodyless
  // message completes on the next call).
  bool pending() const;

  // Convenience for whole buffers: appends every complete request to *out.
  // Returns false on error (see error_status()). Stops after a request that
  // does not keep the connection alive, ignoring what follows.
  bool feed(std::string_view data, std::vector<Request>* out);

  int error_status() const;               // 400, 413, 414 or 431 after kError
  std::string_view error_reason() const;  // short text for logs
  Phase phase() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wok::http
