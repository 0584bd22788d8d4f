#include "router/static/cache_control.h"

#include <gtest/gtest.h>

namespace wok::router {
namespace {

TEST(CacheControlTest, FingerprintedNames) {
  for (const char* name : {"app.3f2a9c.js", "assets/main-3f2a9c1b.css", "chunk.a1b2c3d4e5.js",
                           "index-BmH3kJ9a.js", "x/y/logo.5d41402abc4b2a76b9719d911017c592.png"}) {
    EXPECT_TRUE(is_fingerprinted(name)) << name;
    EXPECT_EQ(default_cache_control(name, "application/javascript"),
              "public, max-age=31536000, immutable");
  }
  for (const char* name :
       {"app.js", "style.css", "jquery-3.7.1.min.js", "my-component.js", "badcafe.js", "3f2a9c.js",
        "a.b/c.js", "facade.js", "README", "dir.3f2a9c1/file"}) {
    EXPECT_FALSE(is_fingerprinted(name)) << name;
  }
}

TEST(CacheControlTest, Defaults) {
  EXPECT_EQ(default_cache_control("index.html", "text/html; charset=utf-8"), "no-cache");
  EXPECT_EQ(default_cache_control("page.3f2a9c.html", "text/html; charset=utf-8"), "no-cache");
  EXPECT_EQ(default_cache_control("style.css", "text/css"), "public, max-age=300");
}

}  // namespace
}  // namespace wok::router
