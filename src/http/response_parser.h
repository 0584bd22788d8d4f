#pragma once
// Incremental HTTP/1.1 response parser (llhttp) for upstream responses:
// the head, then the body in pieces, so a proxy can stream it. Interim 1xx
// responses other than 101 are skipped.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace wok::http {

struct ResponseHead {
  int status = 0;
  int version_minor = 1;
  std::vector<Header> headers;
  int64_t content_length = -1;  // -1: chunked or until close
  bool keep_alive = true;       // known once the message is complete
};

class ResponseParser {
 public:
  enum class Status { kNeedMore, kComplete, kError };

  ResponseParser();
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Starts a new response; a HEAD request's response has no body.
  void reset(bool head_request);
  // Consumes data up to the end of the response at most.
  Status parse(std::string_view data, size_t* consumed);
  // The upstream closed: completes a close-delimited body.
  Status finish();

  bool head_ready() const;  // a final head has arrived (101 included)
  bool started() const;     // any byte of a response arrived
  const ResponseHead& head() const;
  // Moves the head's fields out (once the caller has the rest it needs).
  std::vector<Header> take_headers();
  // Body bytes decoded since the last clear_body(); the buffer is reused.
  std::string_view body() const;
  void clear_body();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wok::http
