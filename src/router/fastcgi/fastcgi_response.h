#pragma once
// The CGI response a FastCGI responder writes on its STDOUT stream (RFC
// 3875 section 6): header lines, an empty line, the body. "Status:" sets
// the status; a "Location:" without one is a 302 (what nginx and Apache
// do for PHP's header("Location: ...")).
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace wok::router {

class CgiResponseParser {
 public:
  enum class Status { kNeedMore, kHead, kError };
  // A head longer than this is refused: PHP never needs it, a runaway loop might.
  static constexpr size_t kMaxHeadBytes = 64 * 1024;

  // Feeds STDOUT bytes until the head is complete (kHead, once); kError on
  // a malformed or oversized head. After kHead, take_rest() holds the body
  // bytes that came with it and feed() must not be called again.
  Status feed(std::string_view data);
  // The head for the client: status and the fields it may see
  // (Content-Length and hop-by-hop fields removed).
  const http::Response& head() const { return head_; }
  // The body length the script declared, -1 if none.
  int64_t content_length() const { return content_length_; }
  std::string take_rest() { return std::move(buffer_); }

 private:
  bool parse_head(std::string_view block);
  bool add_field(std::string_view name, std::string_view value, bool* has_status);

  std::string buffer_;
  http::Response head_;
  int64_t content_length_ = -1;
};

}  // namespace wok::router
