#include "router/request_path.h"

#include <gtest/gtest.h>

namespace wok::router {
namespace {

std::string decoded(std::string_view raw) {
  std::string out;
  return decode_request_path(raw, &out) ? out : "<rejected>";
}

TEST(RequestPathTest, DecodesPercentEscapes) {
  EXPECT_EQ(decoded("/"), "");
  EXPECT_EQ(decoded("//a//b"), "a//b");
  EXPECT_EQ(decoded("/a/b%20c.html"), "a/b c.html");
  EXPECT_EQ(decoded("/%41%62"), "Ab");
  EXPECT_EQ(decoded("/a\\b"), "a\\b");  // backslash is literal
  EXPECT_EQ(decoded("/a%5Cb"), "a\\b");
  EXPECT_EQ(decoded("/a/./b/"), "a/./b/");
  EXPECT_EQ(decoded("/a+b"), "a+b");
  EXPECT_EQ(decoded("/..a/b.."), "..a/b..");  // dots inside names are fine
}

TEST(RequestPathTest, RejectsHostilePaths) {
  EXPECT_EQ(decoded("/../etc/passwd"), "<rejected>");
  EXPECT_EQ(decoded("/a/../../etc"), "<rejected>");
  EXPECT_EQ(decoded("/a/.."), "<rejected>");
  EXPECT_EQ(decoded("/%2e%2e/%2e%2e/etc/passwd"), "<rejected>");
  EXPECT_EQ(decoded("/%2E%2E"), "<rejected>");
  EXPECT_EQ(decoded("/%2F%2Fetc/passwd"), "<rejected>");
  EXPECT_EQ(decoded("/a/..%2f..%2fetc/passwd"), "<rejected>");
  EXPECT_EQ(decoded("/a%2fb"), "<rejected>");
  EXPECT_EQ(decoded("/a%00b"), "<rejected>");
  EXPECT_EQ(decoded("/a%"), "<rejected>");
  EXPECT_EQ(decoded("/a%4"), "<rejected>");
  EXPECT_EQ(decoded("/a%zz"), "<rejected>");
  EXPECT_EQ(decoded("relative"), "<rejected>");
  EXPECT_EQ(decoded("*"), "<rejected>");
  EXPECT_EQ(decoded(""), "<rejected>");
}

}  // namespace
}  // namespace wok::router
