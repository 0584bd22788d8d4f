#include "router/path_pattern.h"

#include <gtest/gtest.h>

namespace wok::router {
namespace {

bool matches(const char* pattern, const char* path, PathPattern::Captures* c = nullptr) {
  auto p = PathPattern::parse(pattern);
  EXPECT_TRUE(p.has_value()) << pattern;
  return p && p->match(path, c);
}

TEST(PathPatternTest, Literal) {
  EXPECT_TRUE(matches("/", "/"));
  EXPECT_FALSE(matches("/", "/a"));
  EXPECT_TRUE(matches("/a/b", "/a/b"));
  EXPECT_FALSE(matches("/a/b", "/a/b/"));
  EXPECT_FALSE(matches("/a/b", "/a"));
  EXPECT_FALSE(matches("/a/b", "/a/bc"));
}

TEST(PathPatternTest, Splat) {
  PathPattern::Captures c;
  EXPECT_TRUE(matches("/blog/*", "/blog/2024/post", &c));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].first, "splat");
  EXPECT_EQ(c[0].second, "2024/post");
  EXPECT_TRUE(matches("/blog/*", "/blog", &c));
  EXPECT_EQ(c[0].second, "");
  EXPECT_TRUE(matches("/blog/*", "/blog/", &c));
  EXPECT_FALSE(matches("/blog/*", "/blogs/x"));
  EXPECT_TRUE(matches("/*", "/"));
  EXPECT_TRUE(matches("/*", "/any/thing"));
  EXPECT_TRUE(matches("/img*", "/img-1.png", &c));
  EXPECT_EQ(c[0].second, "-1.png");
  EXPECT_FALSE(PathPattern::parse("/a*/b").has_value());
  EXPECT_FALSE(PathPattern::parse("a/b").has_value());
  EXPECT_FALSE(PathPattern::parse("").has_value());
}

TEST(PathPatternTest, Placeholders) {
  PathPattern::Captures c;
  EXPECT_TRUE(matches("/u/:id/posts/:slug", "/u/42/posts/hello", &c));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(PathPattern::substitute("/users/:id/:slug?x=:id", c), "/users/42/hello?x=42");
  EXPECT_FALSE(matches("/u/:id", "/u/"));
  EXPECT_FALSE(matches("/u/:id", "/u/1/2"));
  EXPECT_TRUE(matches("/u/:id/*", "/u/1/2/3", &c));
  EXPECT_EQ(PathPattern::substitute("/x/:id/:splat/:unknown", c), "/x/1/2/3/:unknown");
  EXPECT_FALSE(PathPattern::parse("/u/:i-d").has_value());
}

}  // namespace
}  // namespace wok::router
