// The FastCGI codec, the CGI response head and the params, without sockets.
#include "router/fastcgi/fastcgi_record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "router/fastcgi/fastcgi_params.h"
#include "router/fastcgi/fastcgi_response.h"

namespace wok::router {
namespace {

std::vector<FcgiRecord> read_all(FcgiRecordReader& reader) {
  std::vector<FcgiRecord> records;
  FcgiRecord r;
  while (reader.next(&r) == FcgiRecordReader::Status::kRecord) records.push_back(r);
  return records;
}

TEST(FastCgiRecord, PairsRoundTripWithShortAndLongLengths) {
  std::string out;
  const std::string long_name(200, 'N');
  const std::string long_value(70000, 'v');
  append_fcgi_pair(&out, "A", "1");
  append_fcgi_pair(&out, long_name, long_value);
  append_fcgi_pair(&out, "EMPTY", "");
  append_fcgi_pair(&out, std::string(127, 'x'), std::string(128, 'y'));  // the 1/4-byte boundary
  FcgiPairs pairs;
  ASSERT_TRUE(decode_fcgi_pairs(out, &pairs));
  ASSERT_EQ(pairs.size(), 4u);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"A", "1"}));
  EXPECT_EQ(pairs[1].first, long_name);
  EXPECT_EQ(pairs[1].second, long_value);
  EXPECT_EQ(pairs[2].second, "");
  EXPECT_EQ(pairs[3].first.size(), 127u);
  EXPECT_EQ(pairs[3].second.size(), 128u);
  // 1 + 1 + 1 + 1 for "A"; 4 + 4 for the long pair; 1 + 4 at the boundary.
  EXPECT_EQ(out.size(), 4u + 8 + 200 + 70000 + 2 + 5 + 5 + 127 + 128);
}

TEST(FastCgiRecord, TruncatedPairsAreRefused) {
  std::string out;
  append_fcgi_pair(&out, "NAME", std::string(300, 'v'));
  FcgiPairs pairs;
  for (size_t cut : {1ul, 3ul, 5ul, out.size() - 1}) {
    EXPECT_FALSE(decode_fcgi_pairs(std::string_view(out).substr(0, cut), &pairs)) << cut;
  }
}

TEST(FastCgiRecord, LongContentIsSplitAt65535AndEmptyMarksTheEnd) {
  std::string out;
  const std::string content(150000, 'c');
  append_fcgi_records(&out, FcgiType::kStdin, content);
  append_fcgi_records(&out, FcgiType::kStdin, {});
  EXPECT_EQ(out.size(), 4 * kFcgiHeaderSize + content.size());
  FcgiRecordReader reader;
  // Fed one byte at a time: records come out only when whole.
  std::string joined;
  size_t records = 0;
  for (char c : out) {
    reader.feed(std::string_view(&c, 1));
    for (const FcgiRecord& r : read_all(reader)) {
      EXPECT_EQ(r.type, FcgiType::kStdin);
      EXPECT_EQ(r.request_id, kFcgiRequestId);
      EXPECT_LE(r.content.size(), kFcgiMaxContent);
      joined.append(r.content);
      ++records;
    }
  }
  EXPECT_EQ(records, 4u);  // 65535 + 65535 + 18930 + the empty one
  EXPECT_EQ(joined, content);
}

TEST(FastCgiRecord, BeginRequestAndPaddingAndBadVersion) {
  std::string out;
  append_fcgi_begin_request(&out, false);
  ASSERT_EQ(out.size(), 16u);
  EXPECT_EQ(out[1], 1);   // FCGI_BEGIN_REQUEST
  EXPECT_EQ(out[9], 1);   // role: responder
  EXPECT_EQ(out[10], 0);  // flags: close after the request
  // A record with padding, as php-fpm sends them.
  std::string padded = {1, 6, 0, 1, 0, 3, 5, 0, 'a', 'b', 'c', 0, 0, 0, 0, 0};
  FcgiRecordReader reader;
  reader.feed(padded);
  auto records = read_all(reader);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].content, "abc");
  EXPECT_EQ(reader.buffered(), 0u);
  reader.feed(std::string{2, 6, 0, 1, 0, 0, 0, 0});
  FcgiRecord r;
  EXPECT_EQ(reader.next(&r), FcgiRecordReader::Status::kError);
}

TEST(FastCgiResponse, StatusLocationAndBody) {
  CgiResponseParser p;
  EXPECT_EQ(p.feed("Status: 404 Not Found\r\nContent-type: text/html\r\nX-A: 1\r\n"),
            CgiResponseParser::Status::kNeedMore);
  EXPECT_EQ(p.feed("Content-Length: 5\r\n\r\nhello"), CgiResponseParser::Status::kHead);
  EXPECT_EQ(p.head().status, 404);
  EXPECT_EQ(p.content_length(), 5);
  EXPECT_EQ(p.take_rest(), "hello");
  ASSERT_EQ(p.head().headers.size(), 2u);  // Content-Length is the server's to send

  CgiResponseParser redirect;
  ASSERT_EQ(redirect.feed("Location: /there\n\n"), CgiResponseParser::Status::kHead);  // bare LF
  EXPECT_EQ(redirect.head().status, 302);
  CgiResponseParser moved;
  ASSERT_EQ(moved.feed("Status: 301\r\nLocation: /there\r\n\r\n"),
            CgiResponseParser::Status::kHead);
  EXPECT_EQ(moved.head().status, 301);
  CgiResponseParser plain;
  ASSERT_EQ(plain.feed("Content-Type: text/plain\r\nConnection: keep-alive\r\n\r\n"),
            CgiResponseParser::Status::kHead);
  EXPECT_EQ(plain.head().status, 200);
  EXPECT_EQ(plain.head().headers.size(), 1u);  // hop-by-hop dropped
  EXPECT_EQ(plain.content_length(), -1);
}

TEST(FastCgiResponse, MalformedHeadsAreErrors) {
  for (const char* head : {"no colon here\r\n\r\n", ": empty name\r\n\r\n", "Status: abc\r\n\r\n",
                           "Status: 99\r\n\r\n", "Status: 600\r\n\r\n", "Bad Name: x\r\n\r\n",
                           "Content-Length: -1\r\n\r\n", "X: a\rb\r\n\r\n"}) {
    CgiResponseParser p;
    EXPECT_EQ(p.feed(head), CgiResponseParser::Status::kError) << head;
  }
  CgiResponseParser endless;
  EXPECT_EQ(endless.feed(std::string(CgiResponseParser::kMaxHeadBytes + 1, 'x')),
            CgiResponseParser::Status::kError);
}

TEST(FastCgiParams, CgiVariablesAndHeaders) {
  http::Request q;
  q.method = "POST";
  q.path = "/index.php/foo/bar";
  q.query = "a=1";
  q.remote_addr = "10.0.0.7";
  q.headers = {{"Host", "blog.example.org:8080"},
               {"Content-Type", "text/plain"},
               {"Content-Length", "3"},
               {"X-Forwarded-Proto", "https"},
               {"Proxy", "http://evil:1"},
               {"X_Real_IP", "1.2.3.4"},
               {"Cookie", "a=1"},
               {"Cookie", "b=2"}};
  FastCgiTarget target{"/run/php.sock", "/srv/site/public/", "index.php", {}};
  FcgiPairs pairs;
  ASSERT_TRUE(
      decode_fcgi_pairs(encode_fastcgi_params(q, target, {"/index.php", "/foo/bar"}, 3), &pairs));
  std::map<std::string, std::string> vars(pairs.begin(), pairs.end());
  EXPECT_EQ(vars.size(), pairs.size()) << "a variable was sent twice";
  EXPECT_EQ(vars["SCRIPT_FILENAME"], "/srv/site/public/index.php");
  EXPECT_EQ(vars["SCRIPT_NAME"], "/index.php");
  EXPECT_EQ(vars["PATH_INFO"], "/foo/bar");
  EXPECT_EQ(vars["PATH_TRANSLATED"], "/srv/site/public/foo/bar");
  EXPECT_EQ(vars["DOCUMENT_ROOT"], "/srv/site/public/");
  EXPECT_EQ(vars["REQUEST_URI"], "/index.php/foo/bar?a=1");
  EXPECT_EQ(vars["QUERY_STRING"], "a=1");
  EXPECT_EQ(vars["CONTENT_LENGTH"], "3");
  EXPECT_EQ(vars["CONTENT_TYPE"], "text/plain");
  EXPECT_EQ(vars["SERVER_NAME"], "blog.example.org");
  EXPECT_EQ(vars["SERVER_PORT"], "8080");
  EXPECT_EQ(vars["HTTP_HOST"], "blog.example.org:8080");
  EXPECT_EQ(vars["REMOTE_ADDR"], "10.0.0.7");
  EXPECT_EQ(vars["REDIRECT_STATUS"], "200");
  EXPECT_EQ(vars["SERVER_SOFTWARE"], "wok");
  EXPECT_EQ(vars["HTTP_X_FORWARDED_PROTO"], "https");
  EXPECT_EQ(vars["HTTP_COOKIE"], "a=1; b=2");
  EXPECT_EQ(vars.count("HTTP_PROXY"), 0u);      // httpoxy
  EXPECT_EQ(vars.count("HTTP_X_REAL_IP"), 0u);  // underscores: ambiguous with dashes
  EXPECT_EQ(vars.count("HTTPS"),
            0u);  // a plain request (the client's X-Forwarded-Proto is no proof)
  EXPECT_EQ(vars["REQUEST_SCHEME"], "http");
  EXPECT_EQ(vars.count("HTTP_CONTENT_LENGTH"), 0u);
  // Over the TLS listener: what PHP applications test for HTTPS.
  q.tls = true;
  q.headers.erase(std::remove_if(q.headers.begin(), q.headers.end(),
                                 [](const http::Header& h) { return h.name == "Host"; }),
                  q.headers.end());
  q.headers.push_back({"Host", "blog.example.org"});
  pairs.clear();
  ASSERT_TRUE(
      decode_fcgi_pairs(encode_fastcgi_params(q, target, {"/index.php", "/foo/bar"}, 3), &pairs));
  std::map<std::string, std::string> secure(pairs.begin(), pairs.end());
  EXPECT_EQ(secure["HTTPS"], "on");
  EXPECT_EQ(secure["REQUEST_SCHEME"], "https");
  EXPECT_EQ(secure["SERVER_PORT"], "443");
}

}  // namespace
}  // namespace wok::router
