#include "router/static/content_coding.h"

#include <gtest/gtest.h>

namespace wok::router {
namespace {

TEST(ContentCodingTest, PrefersBrotliThenGzip) {
  EXPECT_EQ(choose_coding("gzip, deflate, br", true, true), Coding::kBrotli);
  EXPECT_EQ(choose_coding("gzip, deflate, br", false, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("gzip", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("br", false, true), Coding::kIdentity);
}

TEST(ContentCodingTest, HonoursQValues) {
  EXPECT_EQ(choose_coding("br;q=0.5, gzip;q=0.8", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("br;q=0, gzip", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("br;q=0, gzip;q=0", true, true), Coding::kIdentity);
  EXPECT_EQ(choose_coding("BR ; Q=1.0", true, false), Coding::kBrotli);
  EXPECT_EQ(choose_coding("*;q=0.1", true, true), Coding::kBrotli);
  EXPECT_EQ(choose_coding("*;q=0", true, true), Coding::kIdentity);
  EXPECT_EQ(choose_coding("gzip;q=0.001, *;q=0", true, true), Coding::kGzip);
}

TEST(ContentCodingTest, MalformedElementsAreIgnored) {
  EXPECT_EQ(choose_coding("br;q=2", true, false), Coding::kIdentity);
  EXPECT_EQ(choose_coding("br;q=0.12345", true, false), Coding::kIdentity);
  EXPECT_EQ(choose_coding("br;level=3", true, false), Coding::kIdentity);
  EXPECT_EQ(choose_coding(",,;,gzip", false, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("", true, true), Coding::kIdentity);
  EXPECT_EQ(choose_coding("identity", true, true), Coding::kIdentity);
}

}  // namespace
}  // namespace wok::router
