// The static handler's site features through Router::handle: precompressed
// siblings, _headers, _redirects, Cache-Control defaults, the file cache.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "router/router.h"
#include "router/static/open_file_cache.h"

namespace wok::router {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

struct Result {
  http::Response response;
  std::string content;
  std::string header(std::string_view name) const {
    for (const auto& h : response.headers) {
      if (h.name == name) return h.value;
    }
    return "<absent>";
  }
};

class StaticFeaturesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/wok-static-features-XXXXXX";
    base_ = new fs::path(mkdtemp(tmpl));
    fs::path root = *base_ / "site";
    fs::create_directories(root / "docs");
    write_file(root / "index.html", "<h1>home</h1>");
    write_file(root / "new.html", "<h1>new</h1>");
    write_file(root / "docs" / "index.html", "<h1>docs</h1>");
    write_file(root / "app.js", "plain js");
    write_file(root / "app.js.br", "BR");
    write_file(root / "app.js.gz", "GZIP");
    write_file(root / "style.css", "body{}");
    write_file(root / "style.css.gz", "GZ-CSS");
    write_file(root / "app.3f2a9c.js", "hashed");
    write_file(root / "404.html", "<h1>custom missing</h1>");
    write_file(root / "big.bin", std::string(100 * 1024, 'x') + "end");
    write_file(root / "_headers",
               "/*\n  X-Site: yes\n/app.js\n  Cache-Control: max-age=10\n"
               "/docs/*\n  X-Docs: 1\n");
    write_file(root / "_redirects",
               "/old /new.html\n"
               "/blog/:year/* /posts/:year/:splat 302\n"
               "/spa/* /index.html 200\n"
               "/index.html /never.html 301\n"  // shadowed: the file exists
               "/style.css /app.js 307!\n"      // forced: applies anyway
               "/missing /404.html 404\n");
    fs::create_symlink("_headers", root / "rules-link");

    auto table = std::make_shared<RouteTable>();
    table->add("site.test", std::make_shared<const Route>(Route{"p", "site", root.string()}));
    router_ = new Router();
    router_->set_table(table);
  }

  static void TearDownTestSuite() {
    delete router_;
    fs::remove_all(*base_);
    delete base_;
  }

  static Result get(const std::string& target, std::vector<http::Header> headers = {}) {
    http::Request request;
    request.method = "GET";
    request.target = target;
    size_t q = target.find('?');
    request.path = target.substr(0, q);
    request.query = q == std::string::npos ? "" : target.substr(q + 1);
    request.headers = std::move(headers);
    request.headers.push_back({"Host", "site.test"});
    Result result;
    router_->handle(request, result.response);
    result.content = std::string(result.response.body_view());
    if (result.response.file_fd >= 0) {
      std::string data(result.response.file_length, '\0');
      ssize_t n =
          pread(result.response.file_fd, data.data(), data.size(), result.response.file_offset);
      data.resize(n < 0 ? 0 : static_cast<size_t>(n));
      result.content = data;
      close(result.response.file_fd);  // as the server does: the cache's own fd must survive
    }
    return result;
  }

  static fs::path* base_;
  static Router* router_;
};

fs::path* StaticFeaturesTest::base_ = nullptr;
Router* StaticFeaturesTest::router_ = nullptr;

TEST_F(StaticFeaturesTest, PrecompressedSiblingsByAcceptEncoding) {
  Result br = get("/app.js", {{"Accept-Encoding", "gzip, br"}});
  EXPECT_EQ(br.response.status, 200);
  EXPECT_EQ(br.content, "BR");
  EXPECT_EQ(br.header("Content-Encoding"), "br");
  EXPECT_EQ(br.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(br.header("Content-Type"), "text/javascript; charset=utf-8");

  Result gz = get("/app.js", {{"Accept-Encoding", "gzip, br;q=0"}});
  EXPECT_EQ(gz.content, "GZIP");
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");

  Result plain = get("/app.js");
  EXPECT_EQ(plain.content, "plain js");
  EXPECT_EQ(plain.header("Content-Encoding"), "<absent>");
  EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");  // a cache must still key on it

  EXPECT_NE(br.header("ETag"), gz.header("ETag"));
  EXPECT_NE(br.header("ETag"), plain.header("ETag"));
  EXPECT_NE(gz.header("ETag"), plain.header("ETag"));

  Result only_gz = get("/style.css.gz");  // a sibling asked for by name is just a file
  EXPECT_EQ(only_gz.content, "GZ-CSS");
  EXPECT_EQ(only_gz.header("Content-Encoding"), "<absent>");

  Result none = get("/new.html", {{"Accept-Encoding", "br"}});
  EXPECT_EQ(none.header("Vary"), "<absent>");
}

TEST_F(StaticFeaturesTest, ValidatorsAndRangesApplyToTheEncodedRepresentation) {
  Result br = get("/app.js", {{"Accept-Encoding", "br"}});
  Result not_modified =
      get("/app.js", {{"Accept-Encoding", "br"}, {"If-None-Match", br.header("ETag")}});
  EXPECT_EQ(not_modified.response.status, 304);
  // The identity ETag does not validate the br representation.
  Result plain = get("/app.js");
  Result mismatch =
      get("/app.js", {{"Accept-Encoding", "br"}, {"If-None-Match", plain.header("ETag")}});
  EXPECT_EQ(mismatch.response.status, 200);
  Result range = get("/app.js", {{"Accept-Encoding", "gzip"}, {"Range", "bytes=1-2"}});
  EXPECT_EQ(range.response.status, 206);
  EXPECT_EQ(range.content, "ZI");
  EXPECT_EQ(range.header("Content-Range"), "bytes 1-2/4");
}

TEST_F(StaticFeaturesTest, CacheControlDefaultsAndHeadersFile) {
  EXPECT_EQ(get("/index.html").header("Cache-Control"), "no-cache");
  EXPECT_EQ(get("/app.3f2a9c.js").header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get("/new.html").header("X-Site"), "yes");
  Result js = get("/app.js");
  EXPECT_EQ(js.header("Cache-Control"), "max-age=10");  // overridden by _headers
  EXPECT_EQ(js.header("X-Docs"), "<absent>");
  EXPECT_EQ(get("/docs/").header("X-Docs"), "1");
}

TEST_F(StaticFeaturesTest, RedirectsFile) {
  Result old = get("/old?x=1");
  EXPECT_EQ(old.response.status, 301);
  EXPECT_EQ(old.header("Location"), "/new.html?x=1");
  Result blog = get("/blog/2024/a/b");
  EXPECT_EQ(blog.response.status, 302);
  EXPECT_EQ(blog.header("Location"), "/posts/2024/a/b");
  Result spa = get("/spa/some/route");
  EXPECT_EQ(spa.response.status, 200);
  EXPECT_EQ(spa.content, "<h1>home</h1>");
  Result shadowed = get("/index.html");
  EXPECT_EQ(shadowed.response.status, 200);
  Result forced = get("/style.css");
  EXPECT_EQ(forced.response.status, 307);
  EXPECT_EQ(forced.header("Location"), "/app.js");
  Result missing = get("/missing");
  EXPECT_EQ(missing.response.status, 404);
  EXPECT_EQ(missing.content, "<h1>custom missing</h1>");
  EXPECT_EQ(get("/docs").response.status, 301);  // the directory redirect still works
}

TEST_F(StaticFeaturesTest, RuleFilesAreNeverServed) {
  for (const char* target : {"/_headers", "/_redirects", "//_headers", "/./_redirects",
                             "/rules-link", "/docs/../_headers", "/%5fheaders"}) {
    Result r = get(target);
    EXPECT_TRUE(r.response.status == 404 || r.response.status == 400)
        << target << " " << r.response.status;
    EXPECT_EQ(r.content.find("X-Site"), std::string::npos) << target;
  }
}

TEST_F(StaticFeaturesTest, RepeatedRequestsReuseTheCachedFile) {
  for (int i = 0; i < 5; ++i) {
    Result r = get("/new.html");
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.content, "<h1>new</h1>");
  }
  // A routed root is immutable (a new revision is a new root), so the cache
  // never looks at the disk again: a file replaced under it (which wok
  // never does) still answers from the cache, small ones from memory,
  // large ones from the cached descriptor. Without the cache, v2 would show.
  const fs::path root = *base_ / "site";
  write_file(root / "cached.txt", "v1");
  write_file(root / "cached.bin", "v1" + std::string(64 * 1024, '1'));
  EXPECT_EQ(get("/cached.txt").content, "v1");
  EXPECT_EQ(get("/cached.bin").content.substr(0, 2), "v1");
  for (const auto& [name, content] : {std::pair<std::string, std::string>{"cached.txt", "v2"},
                                      {"cached.bin", "v2" + std::string(64 * 1024, '2')}}) {
    write_file(root / "replacement", content);
    fs::rename(root / "replacement", root / name);
  }
  EXPECT_EQ(get("/cached.txt").content, "v1");
  EXPECT_EQ(get("/cached.bin").content.substr(0, 2), "v1");
  fs::remove(root / "cached.txt");
  fs::remove(root / "cached.bin");
}

TEST_F(StaticFeaturesTest, SmallFilesFromMemoryLargeOnesWithSendfile) {
  Result small = get("/new.html");
  EXPECT_LT(small.response.file_fd, 0);
  EXPECT_EQ(small.content, "<h1>new</h1>");
  Result big = get("/big.bin");
  EXPECT_GE(big.response.file_fd, 0);  // (closed by get(), as the server would)
  EXPECT_EQ(big.content.size(), 100u * 1024 + 3);
  EXPECT_TRUE(big.content.ends_with("end"));
  Result tail = get("/big.bin", {{"Range", "bytes=-3"}});
  EXPECT_EQ(tail.response.status, 206);
  EXPECT_EQ(tail.content, "end");
  Result head = get("/new.html", {{"Range", "bytes=4-6"}});
  EXPECT_EQ(head.content, "new");
}

TEST(OpenFileCacheTest, BoundedLruClosesEvictedFiles) {
  char tmpl[] = "/tmp/wok-ofc-XXXXXX";
  fs::path root = mkdtemp(tmpl);
  for (const char* n : {"a", "b", "c"}) write_file(root / n, n);
  OpenFileCache cache(2, 2, 4);  // "a" and "b" fit in memory, "c" no longer does
  auto site = cache.root(root.string());
  ASSERT_NE(site, nullptr);
  std::weak_ptr<const OpenFile> a = cache.file(*site, "a");
  std::weak_ptr<const OpenFile> b = cache.file(*site, "b");
  EXPECT_TRUE(cache.file(*site, "a")->regular());  // a is now the most recent
  EXPECT_TRUE(cache.file(*site, "c")->regular());  // evicts b
  EXPECT_EQ(cache.files(), 2u);
  EXPECT_FALSE(a.expired());
  EXPECT_TRUE(b.expired());  // its fd is closed with it
  EXPECT_FALSE(cache.file(*site, "nope")->found);
  EXPECT_EQ(cache.root("/nonexistent/root"), nullptr);
  fs::remove_all(root);
}

// Files are keyed by their root: the same name under two roots (two sites,
// two revisions) is two files, whichever root was asked for last.
TEST(OpenFileCacheTest, TheSameNameUnderTwoRootsIsTwoFiles) {
  char tmpl[] = "/tmp/wok-ofc-XXXXXX";
  fs::path base = mkdtemp(tmpl);
  fs::create_directories(base / "one");
  fs::create_directories(base / "two");
  write_file(base / "one" / "index.html", "one");
  write_file(base / "two" / "index.html", "two");
  OpenFileCache cache(16, 4);
  for (int i = 0; i < 2; ++i) {
    auto one = cache.root((base / "one").string());
    auto two = cache.root((base / "two").string());
    ASSERT_NE(one, nullptr);
    ASSERT_NE(two, nullptr);
    EXPECT_NE(one->id, two->id);
    EXPECT_EQ(cache.file(*one, "index.html")->content, "one");
    EXPECT_EQ(cache.file(*two, "index.html")->content, "two");
    EXPECT_EQ(cache.root((base / "one").string()), one);  // the same root, not reopened
  }
  EXPECT_EQ(cache.files(), 2u);
  fs::remove_all(base);
}

}  // namespace
}  // namespace wok::router
