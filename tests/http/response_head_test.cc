// The status line and header block of HTTP/1.1 answers: what a handler's
// header may not carry (CR, LF: response splitting) and the headers the
// server owns.
#include "http/response_head.h"

#include <gtest/gtest.h>

#include <string>

namespace wok::http {
namespace {

std::string head_of(const Response& response) {
  HeadContext context;
  context.date = "Mon, 07 Dec 2026 14:00:00 GMT";
  bool send_body = false;
  return serialize_response_head(response, context, &send_body);
}

TEST(ResponseHeadTest, StatusLineDateLengthThenTheHandlersHeaders) {
  Response response;
  response.status = 404;
  response.body = "gone";
  response.set_header("X-Site", "yes");
  EXPECT_EQ(head_of(response),
            "HTTP/1.1 404 Not Found\r\nDate: Mon, 07 Dec 2026 14:00:00 GMT\r\n"
            "Connection: keep-alive\r\nContent-Length: 4\r\nX-Site: yes\r\n\r\n");
}

// A CR or LF anywhere in a name or value, in the 8-byte words the check
// reads or in the bytes after them, drops that header and only that one.
TEST(ResponseHeadTest, AHeaderWithCrOrLfAnywhereIsDropped) {
  for (char bad : {'\r', '\n'}) {
    for (size_t length = 1; length <= 24; ++length) {
      for (size_t at = 0; at < length; ++at) {
        std::string value(length, 'v');
        value[at] = bad;
        Response response;
        response.set_header("X-Before", "kept");
        response.set_header("X-Value", value);
        response.set_header(std::string("X-Name") + value, "v");
        response.set_header("X-After", "kept");
        const std::string head = head_of(response);
        SCOPED_TRACE(testing::Message() << "length " << length << " at " << at);
        EXPECT_EQ(head.find("X-Value"), std::string::npos);
        EXPECT_EQ(head.find("X-Name"), std::string::npos);
        EXPECT_NE(head.find("\r\nX-Before: kept\r\nX-After: kept\r\n\r\n"), std::string::npos);
        EXPECT_EQ(head.find("\r\n\r\n"), head.size() - 4);  // one blank line: the end
      }
    }
  }
  // Bytes that only look alike (CR + 0x80, LF - 1, 0x8d) are no reason to drop.
  Response response;
  response.set_header("X-Near", std::string("a\x8d\x0c\x0b\x0e\x8a") + "bcdefghijklmnop");
  EXPECT_NE(head_of(response).find("X-Near: a\x8d\x0c\x0b\x0e\x8a"), std::string::npos);
}

TEST(ResponseHeadTest, TheServerOwnsLengthDateConnectionAndTransferEncoding) {
  Response response;
  response.body = "12345";
  response.set_header("content-length", "99");
  response.set_header("DATE", "yesterday");
  response.set_header("Connection", "upgrade");
  response.set_header("Transfer-Encoding", "chunked");
  response.set_header("Content-Type", "text/plain");
  const std::string head = head_of(response);
  EXPECT_EQ(head.find("99"), std::string::npos);
  EXPECT_EQ(head.find("yesterday"), std::string::npos);
  EXPECT_EQ(head.find("upgrade"), std::string::npos);
  EXPECT_EQ(head.find("chunked"), std::string::npos);
  EXPECT_NE(head.find("\r\nContent-Length: 5\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nContent-Type: text/plain\r\n"), std::string::npos);
}

}  // namespace
}  // namespace wok::http
