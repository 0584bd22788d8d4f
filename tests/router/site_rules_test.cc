#include "router/site_rules.h"

#include <gtest/gtest.h>

namespace wok::router {
namespace {

TEST(SiteRulesTest, HeadersBlocks) {
  SiteRules rules;
  parse_headers_file(
      "# comment\n"
      "/*\n"
      "  X-Frame-Options: DENY\n"
      "  Cache-Control: public, max-age=60\n"
      "\n"
      "/assets/*\r\n"
      "\tCache-Control: public, max-age=31536000, immutable\r\n"
      "  Access-Control-Allow-Origin: *\n",
      &rules);
  EXPECT_TRUE(rules.errors.empty()) << rules.errors[0];
  auto h = rules.headers_for("/assets/app.js");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].name, "X-Frame-Options");
  EXPECT_EQ(h[1].value, "public, max-age=31536000, immutable");  // the later block wins
  EXPECT_EQ(h[2].value, "*");
  EXPECT_EQ(rules.headers_for("/index.html").size(), 2u);
}

TEST(SiteRulesTest, BadHeaderLinesAreReportedAndSkipped) {
  SiteRules rules;
  parse_headers_file(
      "  X-Orphan: 1\n"
      "not-a-path\n"
      "  X-Skipped: 1\n"
      "/ok\n"
      "  Bad Name: 1\n"
      "  NoColon\n"
      "  Content-Length: 5\n"
      "  Transfer-Encoding: chunked\n"
      "  X-Ctl: a\x01z\n"
      "  X-Good: yes\n",
      &rules);
  EXPECT_EQ(rules.errors.size(), 8u);
  auto h = rules.headers_for("/ok");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].name, "X-Good");
}

TEST(SiteRulesTest, Redirects) {
  SiteRules rules;
  parse_redirects_file(
      "/old            /new\n"
      "/blog/:year/*   /posts/:year/:splat  302\n"
      "/spa/*          /index.html          200\n"
      "/gone           /404.html            404\n"
      "/ext            https://example.org/ 308!\n"
      "# comment\n"
      "/bad            /x                   999\n"
      "/proxy          https://a.example/   200\n"
      "/esc            //evil.example/      301\n"
      "/few\n"
      "/too many fields here\n",
      &rules);
  EXPECT_EQ(rules.errors.size(), 5u);
  ASSERT_EQ(rules.redirects.size(), 5u);
  std::string target;
  const RedirectRule* r = rules.redirect_for("/old", false, &target);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status, 301);
  EXPECT_EQ(target, "/new");
  r = rules.redirect_for("/blog/2024/a/b", false, &target);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(target, "/posts/2024/a/b");
  EXPECT_EQ(rules.redirect_for("/old", true, &target), nullptr);  // not forced
  r = rules.redirect_for("/ext", true, &target);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->force);
  EXPECT_EQ(r->status, 308);
  EXPECT_EQ(rules.redirect_for("/nothing", false, &target), nullptr);
}

}  // namespace
}  // namespace wok::router
