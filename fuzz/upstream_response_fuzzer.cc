// libFuzzer target for what tenants' code sends back to the router: an
// app's HTTP response (http::ResponseParser, llhttp, including chunked
// bodies) and a PHP script's CGI head (router::CgiResponseParser). Both are
// hostile input: an app or a script is written by whoever owns the site.
//
// Input layout: byte 0 picks the chunk size of the second pass (1-17);
// byte 1 bit 0 marks the request as HEAD, bit 1 picks the CGI parser; the
// rest is the byte stream from the upstream. Each stream is parsed whole
// and in chunks, and both passes must agree (segmentation must not change
// the answer), and whatever reaches the client's head must be free of CR,
// LF and NUL (no response splitting through the router).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/response_parser.h"
#include "router/fastcgi/fastcgi_response.h"

namespace {

using wok::http::Header;
using wok::http::ResponseParser;
using wok::router::CgiResponseParser;

// Says which property broke, then crashes (what libFuzzer looks for).
#define check(ok)                                                                 \
  do {                                                                            \
    if (!(ok)) {                                                                  \
      fprintf(stderr, "upstream_response_fuzzer: %s (line %d)\n", #ok, __LINE__); \
      abort();                                                                    \
    }                                                                             \
  } while (0)

bool clean(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void check_fields(const std::vector<Header>& headers) {
  for (const Header& h : headers) {
    check(!h.name.empty());
    check(clean(h.name) && h.name.find(':') == std::string::npos);
    check(clean(h.value));
  }
}

struct HttpOutcome {
  enum { kNeedMore, kComplete, kError, kUpgrade } end = kNeedMore;
  int status = 0;
  bool head_ready = false;
  std::vector<Header> headers;
  int64_t content_length = -1;
  bool keep_alive = false;
  std::string body;
  size_t consumed = 0;  // bytes of the stream the response took
};

// Like ProxySession: feed until the response completes or fails; at the
// end of the stream, finish() (the upstream closed).
HttpOutcome parse_response(std::string_view input, size_t chunk, bool head_request) {
  ResponseParser parser;
  parser.reset(head_request);
  HttpOutcome out;
  size_t offset = 0;
  auto collect = [&] {
    out.body.append(parser.body());
    parser.clear_body();
  };
  while (offset < input.size()) {
    std::string_view piece = input.substr(offset, std::min(chunk, input.size() - offset));
    size_t used = 0;
    ResponseParser::Status status = parser.parse(piece, &used);
    check(used <= piece.size());
    offset += used;
    collect();
    if (status == ResponseParser::Status::kError) {
      out.end = HttpOutcome::kError;
      return out;
    }
    if (status == ResponseParser::Status::kComplete) {
      out.end = HttpOutcome::kComplete;
      break;
    }
    if (parser.head_ready() && parser.head().status == 101) {  // a tunnel from here on
      out.end = HttpOutcome::kUpgrade;
      break;
    }
    check(used == piece.size());
  }
  if (out.end == HttpOutcome::kNeedMore && parser.started()) {
    ResponseParser::Status status = parser.finish();
    collect();
    if (status == ResponseParser::Status::kComplete) out.end = HttpOutcome::kComplete;
    if (status == ResponseParser::Status::kError) out.end = HttpOutcome::kError;
  }
  out.consumed = offset;
  out.head_ready = parser.head_ready();
  if (out.head_ready) {
    const auto& head = parser.head();
    out.status = head.status;
    out.content_length = head.content_length;
    out.keep_alive = head.keep_alive;
    out.headers = parser.take_headers();
    check(out.status >= 100 && out.status <= 999);
    check_fields(out.headers);
    // A body never exceeds what the framing promised.
    if (out.end == HttpOutcome::kComplete && out.content_length >= 0 && out.status != 101) {
      check(out.body.size() <= static_cast<size_t>(out.content_length));
    }
    if (head_request) check(out.body.empty());
  } else {
    check(out.body.empty());
  }
  return out;
}

void same(const HttpOutcome& a, const HttpOutcome& b) {
  check(a.end == b.end);
  if (a.end == HttpOutcome::kError) return;  // where it stopped may differ
  check(a.head_ready == b.head_ready && a.status == b.status);
  check(a.content_length == b.content_length && a.body == b.body);
  check(a.headers.size() == b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    check(a.headers[i].name == b.headers[i].name && a.headers[i].value == b.headers[i].value);
  }
  if (a.end == HttpOutcome::kComplete) check(a.keep_alive == b.keep_alive);
  if (a.end == HttpOutcome::kComplete || a.end == HttpOutcome::kUpgrade)
    check(a.consumed == b.consumed);
}

struct CgiOutcome {
  CgiResponseParser::Status status = CgiResponseParser::Status::kNeedMore;
  int code = 0;
  std::vector<Header> headers;
  int64_t content_length = -1;
  std::string body;  // the bytes after the head
};

CgiOutcome parse_cgi(std::string_view input, size_t chunk) {
  CgiResponseParser parser;
  CgiOutcome out;
  size_t offset = 0;
  while (offset < input.size()) {
    std::string_view piece = input.substr(offset, std::min(chunk, input.size() - offset));
    offset += piece.size();
    out.status = parser.feed(piece);
    if (out.status != CgiResponseParser::Status::kNeedMore) break;
  }
  if (out.status == CgiResponseParser::Status::kHead) {
    out.code = parser.head().status;
    out.headers = parser.head().headers;
    out.content_length = parser.content_length();
    out.body = parser.take_rest();
    out.body.append(input.substr(offset));
    check(out.code >= 200 && out.code <= 599);
    check_fields(out.headers);
  }
  return out;
}

void same(const CgiOutcome& a, const CgiOutcome& b) {
  check(a.status == b.status);
  if (a.status != CgiResponseParser::Status::kHead) return;
  check(a.code == b.code && a.content_length == b.content_length && a.body == b.body);
  check(a.headers.size() == b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    check(a.headers[i].name == b.headers[i].name && a.headers[i].value == b.headers[i].value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t chunk = 1 + data[0] % 17;
  const bool head_request = data[1] & 1;
  const bool cgi = data[1] & 2;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (cgi) {
    same(parse_cgi(input, input.size() + 1), parse_cgi(input, chunk));
  } else {
    same(parse_response(input, input.size() + 1, head_request),
         parse_response(input, chunk, head_request));
  }
  return 0;
}
