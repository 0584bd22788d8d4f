// Router::handle with the static handler, against a real temporary site.
#include "router/static/static_handler.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "http/http_date.h"
#include "http/server.h"
#include "router/router.h"
#include "router/static/open_file_cache.h"

namespace wok::router {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class StaticHandlerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/wok-static-test-XXXXXX";
    base_ = new fs::path(mkdtemp(tmpl));
    fs::path root = *base_ / "site";
    fs::path bare = *base_ / "bare";
    fs::path outside = *base_ / "outside";
    for (const fs::path& p : {root, root / "sub", root / "empty", bare, outside}) {
      fs::create_directories(p);
    }
    write_file(root / "index.html", "<h1>home</h1>");
    write_file(root / "style.css", "body{}");
    write_file(root / "app.mjs", "export{}");
    write_file(root / "blob", "binary");
    write_file(root / "a b.txt", "spaced");
    write_file(root / "digits.txt", "0123456789");
    std::string large(64 * 1024, '\0');
    for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>('a' + i % 26);
    write_file(root / "64k.txt", large);
    write_file(root / "300k.txt", std::string(300 * 1024, 'z'));
    write_file(root / "sub" / "index.html", "<h1>sub</h1>");
    write_file(root / "404.html", "<h1>custom missing</h1>");
    write_file(outside / "secret.txt", "TOP SECRET");
    fs::create_symlink("/etc/passwd", root / "passwd");
    fs::create_symlink(outside, root / "out");
    fs::create_symlink("../outside/secret.txt", root / "rel-out.txt");
    fs::create_symlink("sub", root / "inner");  // stays inside: allowed
    mkfifo((root / "fifo").c_str(), 0600);

    auto table = std::make_shared<RouteTable>();
    table->add("site.test", std::make_shared<const Route>(Route{"p", "site", root.string()}));
    table->add("bare.test", std::make_shared<const Route>(Route{"p", "bare", bare.string()}));
    table->add("gone.test", std::make_shared<const Route>(Route{"p", "gone", "/nonexistent/x"}));
    router_ = new Router();
    router_->set_table(table);
  }

  static void TearDownTestSuite() {
    delete router_;
    fs::remove_all(*base_);
    delete base_;
  }

  struct Result {
    int status = 0;
    std::string content;  // body, or the file range the server would send
    http::Response response;
    std::string header(std::string_view name) const {
      for (const auto& h : response.headers) {
        if (h.name == name) return h.value;
      }
      return "<absent>";
    }
  };

  static Result get(std::string target, std::string method = "GET",
                    std::vector<http::Header> headers = {}, std::string host = "site.test",
                    bool tls = false) {
    http::Request request;
    request.tls = tls;
    request.method = method;
    request.target = target;
    size_t q = target.find('?');
    request.path = target.substr(0, q);
    request.query = q == std::string::npos ? "" : target.substr(q + 1);
    request.headers = std::move(headers);
    request.headers.push_back({"Host", host});
    Result result;
    router_->handle(request, result.response);
    result.status = result.response.status;
    // HEAD: the server announces the length but sends no body.
    result.content = result.response.head_only ? "" : std::string(result.response.body_view());
    if (result.response.file_fd >= 0) {
      std::string data(result.response.file_length, '\0');
      ssize_t n =
          pread(result.response.file_fd, data.data(), data.size(), result.response.file_offset);
      data.resize(n < 0 ? 0 : static_cast<size_t>(n));
      if (!result.response.head_only) result.content = data;
      close(result.response.file_fd);
    }
    return result;
  }

  static fs::path* base_;
  static Router* router_;
};

fs::path* StaticHandlerTest::base_ = nullptr;
Router* StaticHandlerTest::router_ = nullptr;

TEST_F(StaticHandlerTest, ServesFilesWithMimeTypes) {
  Result r = get("/style.css");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content, "body{}");
  EXPECT_EQ(r.header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(r.header("Accept-Ranges"), "bytes");
  EXPECT_EQ(r.header("Cache-Control"), "public, max-age=300");
  EXPECT_EQ(get("/app.mjs").header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/blob").header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(get("/a%20b.txt").content, "spaced");
}

TEST_F(StaticHandlerTest, ServesIndexAndRedirectsDirectories) {
  Result root = get("/");
  EXPECT_EQ(root.status, 200);
  EXPECT_EQ(root.content, "<h1>home</h1>");
  EXPECT_EQ(root.header("Cache-Control"), "no-cache");
  EXPECT_EQ(get("/sub/").content, "<h1>sub</h1>");
  Result redirect = get("/sub?x=1");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_EQ(redirect.header("Location"), "/sub/?x=1");
  EXPECT_EQ(get("//sub").header("Location"), "/sub/");  // never "//host"
  EXPECT_EQ(get("/empty/").status, 404);                // no listings
  EXPECT_EQ(get("/inner/").content, "<h1>sub</h1>");    // symlink inside the root
}

TEST_F(StaticHandlerTest, CustomAndPlainNotFound) {
  Result custom = get("/missing.html");
  EXPECT_EQ(custom.status, 404);
  EXPECT_EQ(custom.content, "<h1>custom missing</h1>");
  Result plain = get("/missing.html", "GET", {}, "bare.test");
  EXPECT_EQ(plain.status, 404);
  EXPECT_EQ(plain.content, "Not Found\n");
  EXPECT_EQ(get("/", "GET", {}, "gone.test").status, 404);
  EXPECT_EQ(get("/style.css/").status, 404);
  EXPECT_EQ(get("/fifo").status, 404);
}

TEST_F(StaticHandlerTest, UnknownHostIs404) {
  Result r = get("/", "GET", {}, "nobody.test");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.content.empty());
  EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
}

TEST_F(StaticHandlerTest, OnlyGetAndHead) {
  Result r = get("/style.css", "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET, HEAD");
}

TEST_F(StaticHandlerTest, HeadHasTheFileLengthButNoBody) {
  Result r = get("/style.css", "HEAD");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.response.head_only);
  // Small files are answered from memory, larger ones with sendfile.
  size_t announced = r.response.file_fd >= 0 ? r.response.file_length : r.response.body_size();
  EXPECT_EQ(announced, 6u);
  EXPECT_EQ(r.content, "");
}

// Under TLS a file goes through SSL_write either way: one the cache holds
// (up to 256 KiB) is answered from memory instead of a pread per 16 KiB;
// on plain HTTP a file over 16 KiB keeps sendfile.
TEST_F(StaticHandlerTest, FilesTheCacheHoldsGoFromMemoryUnderTlsOnly) {
  auto over_tls = [](std::string target, std::vector<http::Header> headers = {}) {
    return get(std::move(target), "GET", std::move(headers), "site.test", /*tls=*/true);
  };
  // Plain HTTP first: sendfile, and the file costs the cache no memory.
  const size_t held = OpenFileCache::for_this_thread().memory_bytes();
  Result plain = get("/64k.txt");
  EXPECT_GE(plain.response.file_fd, 0);
  EXPECT_EQ(OpenFileCache::for_this_thread().memory_bytes(), held);
  // Asked for over TLS: read into memory once, answered from there.
  Result tls = over_tls("/64k.txt");
  EXPECT_EQ(tls.response.file_fd, -1);
  EXPECT_EQ(OpenFileCache::for_this_thread().memory_bytes(), held + 64 * 1024);
  EXPECT_EQ(over_tls("/64k.txt").response.file_fd, -1);
  EXPECT_EQ(OpenFileCache::for_this_thread().memory_bytes(), held + 64 * 1024);
  // And plain HTTP still sends it from the file.
  EXPECT_GE(get("/64k.txt").response.file_fd, 0);
  ASSERT_EQ(tls.content.size(), 64u * 1024);
  EXPECT_EQ(tls.content, plain.content);
  EXPECT_EQ(tls.header("ETag"), plain.header("ETag"));
  Result range = over_tls("/64k.txt", {{"Range", "bytes=65530-"}});
  EXPECT_EQ(range.status, 206);
  EXPECT_EQ(range.response.file_fd, -1);
  EXPECT_EQ(range.content, plain.content.substr(65530));
  // Larger than the cache keeps in memory: sendfile's descriptor.
  Result huge = over_tls("/300k.txt");
  EXPECT_GE(huge.response.file_fd, 0);
  EXPECT_EQ(huge.content, std::string(300 * 1024, 'z'));
  // Small files come from memory on both.
  EXPECT_EQ(get("/digits.txt").response.file_fd, -1);
  EXPECT_EQ(over_tls("/digits.txt").response.file_fd, -1);
}

TEST_F(StaticHandlerTest, ConditionalRequests) {
  Result first = get("/style.css");
  std::string etag = first.header("ETag");
  ASSERT_EQ(etag.front(), '"');
  EXPECT_EQ(get("/style.css", "GET", {{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(get("/style.css", "GET", {{"If-None-Match", "\"x\", W/" + etag}}).status, 304);
  EXPECT_EQ(get("/style.css", "GET", {{"If-None-Match", "*"}}).status, 304);
  EXPECT_EQ(get("/style.css", "GET", {{"If-None-Match", "\"other\""}}).status, 200);
  std::string modified = first.header("Last-Modified");
  EXPECT_EQ(get("/style.css", "GET", {{"If-Modified-Since", modified}}).status, 304);
  EXPECT_EQ(get("/style.css", "GET", {{"If-Modified-Since", http::format_http_date(0)}}).status,
            200);
  // If-None-Match wins over If-Modified-Since.
  EXPECT_EQ(
      get("/style.css", "GET", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", modified}})
          .status,
      200);
  Result not_modified = get("/style.css", "GET", {{"If-None-Match", etag}});
  EXPECT_EQ(not_modified.response.file_fd, -1);
  EXPECT_EQ(not_modified.header("ETag"), etag);
}

TEST_F(StaticHandlerTest, Ranges) {
  Result r = get("/digits.txt", "GET", {{"Range", "bytes=2-4"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.content, "234");
  EXPECT_EQ(r.header("Content-Range"), "bytes 2-4/10");
  EXPECT_EQ(get("/digits.txt", "GET", {{"Range", "bytes=-3"}}).content, "789");
  EXPECT_EQ(get("/digits.txt", "GET", {{"Range", "bytes=8-"}}).content, "89");
  Result bad = get("/digits.txt", "GET", {{"Range", "bytes=10-"}});
  EXPECT_EQ(bad.status, 416);
  EXPECT_EQ(bad.header("Content-Range"), "bytes */10");
  Result several = get("/digits.txt", "GET", {{"Range", "bytes=0-1,4-5"}});
  EXPECT_EQ(several.status, 200);
  EXPECT_EQ(several.content, "0123456789");
  std::string etag = r.header("ETag");
  EXPECT_EQ(get("/digits.txt", "GET", {{"Range", "bytes=0-0"}, {"If-Range", etag}}).status, 206);
  EXPECT_EQ(get("/digits.txt", "GET", {{"Range", "bytes=0-0"}, {"If-Range", "\"old\""}}).status,
            200);
}

TEST_F(StaticHandlerTest, NothingOutsideTheRootIsEverServed) {
  for (const char* target :
       {"/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/a/..%2f..%2fetc/passwd", "/%00",
        "/index.html%00.css", "/passwd", "/out/secret.txt", "/out/", "/out", "/rel-out.txt",
        "/sub/../../outside/secret.txt", "/..\\..\\etc\\passwd",
        "/%2e%2e%5c%2e%2e%5cetc%5cpasswd"}) {
    Result r = get(target);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << target << " -> " << r.status;
    EXPECT_EQ(r.content.find("root:"), std::string::npos) << target;
    EXPECT_EQ(r.content.find("TOP SECRET"), std::string::npos) << target;
  }
}

// End to end: the router behind a real server, the body sent with sendfile.
TEST_F(StaticHandlerTest, ServedThroughTheServer) {
  http::ServerOptions options;
  options.threads = 1;
  http::Server server(
      options, [](const http::Request& req, http::Response& res) { router_->handle(req, res); });
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string request =
      "HEAD /digits.txt HTTP/1.1\r\nHost: site.test\r\n\r\n"
      "GET /digits.txt HTTP/1.1\r\nHost: SITE.test:80\r\nRange: bytes=3-5\r\n"
      "Connection: close\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t second = all.find("HTTP/1.1 206");
  ASSERT_NE(second, std::string::npos) << all;
  std::string head = all.substr(0, second);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK", 0), 0u);
  EXPECT_NE(head.find("Content-Length: 10\r\n"), std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));  // no body after HEAD
  EXPECT_NE(all.find("Content-Range: bytes 3-5/10"), std::string::npos);
  EXPECT_TRUE(all.ends_with("\r\n\r\n345")) << all;
}

// A php site's storage volume changes while routed: an upload deleted is
// gone at once, one made after a miss is found (no cached fd, no cached miss).
TEST_F(StaticHandlerTest, MutableFilesAreNeverCached) {
  fs::path dir = *base_ / "uploads";
  fs::create_directories(dir);
  Route immutable{"p", "up", dir.string()};
  Route storage{"p", "up", dir.string()};
  storage.mutable_files = true;
  auto serve = [](const Route& route, const std::string& path) {
    http::Request request;
    request.method = "GET";
    request.target = request.path = path;
    http::Response response;
    StaticHandler().serve(route, request, response);
    if (response.file_fd >= 0) close(response.file_fd);
    return response.status;
  };
  EXPECT_EQ(serve(storage, "/photo.png"), 404);
  EXPECT_EQ(serve(immutable, "/photo.png"), 404);  // the cache now holds the miss
  write_file(dir / "photo.png", "png");
  EXPECT_EQ(serve(storage, "/photo.png"), 200);
  EXPECT_EQ(serve(immutable, "/photo.png"), 404);  // what the cache is sound for: revisions
  fs::remove(dir / "photo.png");
  EXPECT_EQ(serve(storage, "/photo.png"), 404);
}

// Precompressed siblings are probed once per cached file: a sibling that
// appears later is not seen under an immutable root (which never changes),
// and is under a mutable one (looked up afresh on every request).
TEST_F(StaticHandlerTest, SiblingsAreProbedOncePerCachedFile) {
  fs::path dir = *base_ / "siblings";
  fs::create_directories(dir);
  write_file(dir / "app.js", "plain");
  Route immutable{"p", "s", dir.string()};
  Route storage{"p", "s", dir.string()};
  storage.mutable_files = true;
  auto serve = [](const Route& route) {
    http::Request request;
    request.method = "GET";
    request.target = request.path = "/app.js";
    request.headers.push_back({"Accept-Encoding", "gzip"});
    http::Response response;
    StaticHandler().serve(route, request, response);
    std::string content(response.body_view());
    if (response.file_fd >= 0) {  // sent with sendfile: read as the server would send it
      content.resize(response.file_length);
      ssize_t n = pread(response.file_fd, content.data(), content.size(), response.file_offset);
      content.resize(n < 0 ? 0 : static_cast<size_t>(n));
      close(response.file_fd);
    }
    return content;
  };
  EXPECT_EQ(serve(immutable), "plain");
  EXPECT_EQ(serve(storage), "plain");
  write_file(dir / "app.js.gz", "GZ");
  EXPECT_EQ(serve(immutable), "plain");
  EXPECT_EQ(serve(storage), "GZ");
}

// A site being restored: 503 "being restored" with Retry-After, whatever it routes to.
TEST_F(StaticHandlerTest, ASiteBeingRestoredAnswers503) {
  auto table = std::make_shared<RouteTable>();
  Route r{"p", "site", (*base_ / "site").string()};
  r.restoring = true;
  table->add("restoring.test", std::make_shared<const Route>(r));
  Router router;
  router.set_table(table);
  http::Request request;
  request.method = "GET";
  request.target = request.path = "/index.html";
  request.headers.push_back({"Host", "restoring.test"});
  http::Response response;
  router.handle(request, response);
  EXPECT_EQ(response.status, 503);
  EXPECT_NE(response.body.find("being restored from a backup"), std::string::npos);
  bool retry = false;
  for (const auto& h : response.headers) retry = retry || h.name == "Retry-After";
  EXPECT_TRUE(retry);
}

}  // namespace
}  // namespace wok::router
