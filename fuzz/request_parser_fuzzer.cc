// libFuzzer target for http::RequestParser (request line, headers,
// Content-Length and chunked bodies with trailers, pipelining, limits).
//
// Input layout: byte 0 picks the chunk size used for the second pass; the
// rest is the byte stream of one connection. The stream is parsed twice,
// whole and in small chunks, and both passes must agree: the server receives
// requests in arbitrary TCP segments, so a parser whose answer depends on
// segmentation would be a smuggling bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.h"

namespace {

using wok::http::ParserLimits;
using wok::http::Request;
using wok::http::RequestParser;

// Small limits so the 413/414/431 paths are reached by short inputs.
ParserLimits fuzz_limits() {
  ParserLimits limits;
  limits.max_target_bytes = 256;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 2048;
  return limits;
}

struct Outcome {
  std::vector<Request> requests;
  int error = 0;  // 0: no error
};

void check(bool ok) {
  if (!ok) abort();
}

// Drives parse() the way the server does: chunk by chunk, one request at a
// time, and stopping after a request that closes the connection.
Outcome parse_in_chunks(std::string_view input, size_t chunk) {
  RequestParser parser(fuzz_limits());
  Outcome out;
  size_t offset = 0;
  std::string buffer;
  while (offset < input.size() || !buffer.empty()) {
    if (offset < input.size()) {
      size_t n = std::min(chunk, input.size() - offset);
      buffer.append(input.substr(offset, n));
      offset += n;
    }
    std::string_view data = buffer;
    size_t used_total = 0;
    for (;;) {
      size_t consumed = 0;
      auto status = parser.parse(data, &consumed);
      check(consumed <= data.size());
      data.remove_prefix(consumed);
      used_total += consumed;
      if (status == RequestParser::Status::kError) {
        out.error = parser.error_status();
        check(out.error == 400 || out.error == 413 || out.error == 414 || out.error == 431 ||
              out.error == 501 || out.error == 505);
        return out;
      }
      if (status == RequestParser::Status::kNeedMore) {
        check(data.empty());
        break;
      }
      out.requests.push_back(parser.take_request());
      if (!out.requests.back().keep_alive) return out;
      if (data.empty()) break;
    }
    buffer.erase(0, used_total);
    if (offset >= input.size()) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = 1 + data[0] % 17;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  Outcome whole;
  {
    RequestParser parser(fuzz_limits());
    if (!parser.feed(input, &whole.requests)) whole.error = parser.error_status();
  }
  Outcome chunked = parse_in_chunks(input, chunk);

  // Both passes must refuse the same streams. The status may differ when a
  // stream has several faults and segmentation decides which is seen first.
  check((whole.error == 0) == (chunked.error == 0));
  check(whole.requests.size() == chunked.requests.size());
  for (size_t i = 0; i < whole.requests.size(); ++i) {
    const Request& a = whole.requests[i];
    const Request& b = chunked.requests[i];
    check(a.method == b.method && a.target == b.target && a.body == b.body);
    check(a.headers.size() == b.headers.size());
    check(a.body.size() <= fuzz_limits().max_body_bytes);
  }
  return 0;
}
