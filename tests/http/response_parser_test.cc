// http::ResponseParser on what upstreams (tenants' apps) send, including the
// malformed responses the upstream_response fuzzer found llhttp 8 accepting.
#include "http/response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace wok::http {
namespace {

ResponseParser::Status parse_all(ResponseParser& p, std::string_view data, std::string* body) {
  size_t used = 0;
  ResponseParser::Status status = p.parse(data, &used);
  body->append(p.body());
  p.clear_body();
  return status;
}

TEST(ResponseParserTest, LengthAndChunkedBodies) {
  ResponseParser p;
  std::string body;
  EXPECT_EQ(parse_all(p, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", &body),
            ResponseParser::Status::kComplete);
  EXPECT_EQ(p.head().status, 200);
  EXPECT_EQ(p.head().content_length, 5);
  EXPECT_EQ(body, "hello");
  auto headers = p.take_headers();
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[1].name, "X-A");
  EXPECT_EQ(headers[1].value, "b");

  p.reset(false);
  body.clear();
  EXPECT_EQ(
      parse_all(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                &body),
      ResponseParser::Status::kComplete);
  EXPECT_EQ(body, "abc");
  EXPECT_TRUE(p.head().keep_alive);
}

TEST(ResponseParserTest, InterimResponsesAreSkippedAndHaveNoBody) {
  ResponseParser p;
  std::string body;
  // A 100 with fields claiming a body: the body would otherwise be taken
  // for part of the interim response (and reach the client before any head).
  EXPECT_EQ(parse_all(p,
                      "HTTP/1.1 100 Continue\r\nTransfer-Encoding: gzip\r\n\r\n"
                      "HTTP/1.1 204 No Content\r\n\r\n",
                      &body),
            ResponseParser::Status::kComplete);
  EXPECT_EQ(p.head().status, 204);
  EXPECT_EQ(body, "");
}

TEST(ResponseParserTest, MalformedHeadsAreErrors) {
  for (std::string_view bad : {
           std::string_view("HTTP/1.1 \r\nContent-Length: 0\r\n\r\n"),  // no status code
           std::string_view(
               "HTTP/1.1 200 OK\r\n: chunked\r\nContent-Length: 0\r\n\r\n"),  // empty name
           std::string_view(
               "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n"),  // bare CR
           std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx"),
       }) {
    ResponseParser p;
    std::string body;
    EXPECT_EQ(parse_all(p, bad, &body), ResponseParser::Status::kError) << bad;
  }
}

}  // namespace
}  // namespace wok::http
