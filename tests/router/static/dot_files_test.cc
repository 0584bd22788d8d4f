// Dot-files and VCS metadata (.git/, .env, .htpasswd) are not served unless
// the site opts in (Route::serve_dot_files); /.well-known/ always is. Static
// sites through Router::handle, php sites through their dispatch: a dot-path
// never reaches php-fpm, not even its front controller.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "router/fastcgi/fastcgi_script.h"
#include "router/request_path.h"
#include "router/router.h"

namespace wok::router {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// What a site's repository holds besides its pages: a checkout with its
// VCS metadata and secrets next to index.html.
void write_site(const fs::path& root) {
  write_file(root / "index.html", "<h1>home</h1>");
  write_file(root / "404.html", "<h1>custom missing</h1>");
  write_file(root / ".git" / "config",
             "[remote \"origin\"]\n\turl = https://token@git.example/x\n");
  write_file(root / ".git" / "HEAD", "ref: refs/heads/main\n");
  write_file(root / ".env", "DB_PASSWORD=hunter2\n");
  write_file(root / ".htaccess", "Require all denied\n");
  write_file(root / ".htpasswd", "admin:$apr1$secret\n");
  write_file(root / "a" / ".git" / "HEAD", "nested HEAD\n");
  write_file(root / "a" / "page.html", "page");
  write_file(root / "sub" / ".htpasswd", "sub:$apr1$secret\n");
  write_file(root / ".hidden" / "index.html", "hidden index");
  write_file(root / ".hidden" / "x.php", "<?php echo 'HIDDEN';");
  write_file(root / ".well-known" / "acme-challenge" / "tok3n", "tok3n.key");
  write_file(root / ".well-known" / "security.txt", "Contact: mailto:security@example.org\n");
  write_file(root / ".well-known" / ".secret", "below well-known\n");
  write_file(root / "index.php", "<?php echo 'front';");
}

class DotFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/wok-dot-files-XXXXXX";
    base_ = new fs::path(mkdtemp(tmpl));
    write_site(*base_ / "site");
    auto table = std::make_shared<RouteTable>();
    table->add("closed.test",
               std::make_shared<const Route>(Route{"p", "closed", (*base_ / "site").string()}));
    Route open{"p", "open", (*base_ / "site").string()};
    open.serve_dot_files = true;
    table->add("open.test", std::make_shared<const Route>(std::move(open)));
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
    std::string content;
  };

  static Result get(const std::string& path, const std::string& host = "closed.test") {
    http::Request request;
    request.method = "GET";
    request.target = path;
    request.path = path;
    request.headers.push_back({"Host", host});
    http::Response response;
    router_->handle(request, response);
    Result result{response.status, std::string(response.body_view())};
    if (response.file_fd >= 0) {
      std::string data(response.file_length, '\0');
      ssize_t n = pread(response.file_fd, data.data(), data.size(), response.file_offset);
      data.resize(n < 0 ? 0 : static_cast<size_t>(n));
      result.content = data;
      close(response.file_fd);
    }
    return result;
  }

  static fs::path* base_;
  static Router* router_;
};

fs::path* DotFilesTest::base_ = nullptr;
Router* DotFilesTest::router_ = nullptr;

const char* const kDotPaths[] = {
    "/.git/config",
    "/.git/HEAD",
    "/.git/",
    "/.git",
    "/.env",
    "/.htaccess",
    "/.htpasswd",
    "/a/.git/HEAD",
    "/sub/.htpasswd",
    "/.hidden/",
    "/.hidden/index.html",
    "/.hidden",
    // Encoded, doubled and dotted spellings of the same files.
    "/%2egit/config",
    "/%2Eenv",
    "/%2e%68taccess",
    "/a/%2Egit/HEAD",
    "//.env",
    "/./.env",
    "/sub//.htpasswd",
    "/sub/./.htpasswd",
    "/.well-known/../.env",
    "/.well-known/.secret",
    "/.well-known/%2esecret",
};

TEST_F(DotFilesTest, DotFilesAreNotFound) {
  for (const char* path : kDotPaths) {
    Result r = get(path);
    // ".." is refused earlier, as a bad request; every other spelling is absent.
    if (std::string_view(path).find("..") != std::string_view::npos) {
      EXPECT_EQ(r.status, 400) << path;
    } else {
      EXPECT_EQ(r.status, 404) << path;
      EXPECT_EQ(r.content, "<h1>custom missing</h1>") << path;  // the site's own 404 page
    }
    for (const char* secret : {"hunter2", "token@", "apr1", "HEAD", "hidden", "Require", "below"}) {
      EXPECT_EQ(r.content.find(secret), std::string::npos) << path << " leaked " << secret;
    }
  }
  EXPECT_EQ(get("/a/page.html").content, "page");
  EXPECT_EQ(get("/").content, "<h1>home</h1>");
}

TEST_F(DotFilesTest, WellKnownIsServed) {
  Result r = get("/.well-known/acme-challenge/tok3n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content, "tok3n.key");
  EXPECT_EQ(get("/%2ewell-known/security.txt").content, "Contact: mailto:security@example.org\n");
  EXPECT_EQ(get("//./.well-known/security.txt").status, 200);
  EXPECT_EQ(get("/a/.well-known/security.txt").status, 404);  // only at the top
}

TEST_F(DotFilesTest, SiteThatOptsInServesThem) {
  EXPECT_EQ(get("/.env", "open.test").content, "DB_PASSWORD=hunter2\n");
  EXPECT_EQ(get("/%2egit/HEAD", "open.test").content, "ref: refs/heads/main\n");
  EXPECT_EQ(get("/a/.git/HEAD", "open.test").content, "nested HEAD\n");
  EXPECT_EQ(get("/sub/.htpasswd", "open.test").content, "sub:$apr1$secret\n");
  EXPECT_EQ(get("/.hidden/", "open.test").content, "hidden index");
  EXPECT_EQ(get("/.hidden", "open.test").status, 301);
  EXPECT_EQ(get("/.well-known/.secret", "open.test").content, "below well-known\n");
  EXPECT_EQ(get("/.well-known/acme-challenge/tok3n", "open.test").content, "tok3n.key");
}

TEST(DotFileNameTest, Segments) {
  for (const char* hidden :
       {".env", ".git/config", "a/.git/HEAD", "a/b/.htpasswd", "./.env", "a//.x", "...", "..a",
        ".well-known/.x", "a/.well-known/x", ".well-knownx/y", ".Git"}) {
    EXPECT_TRUE(names_dot_file(hidden)) << hidden;
  }
  for (const char* visible :
       {"", "index.html", "a/b.c", "a./b", "a/b.", "./a", "a/./b", ".well-known", ".well-known/",
        ".well-known/acme-challenge/x", "./.well-known/x", "//.well-known/x", "a\\.env"}) {
    EXPECT_FALSE(names_dot_file(visible)) << visible;
  }
}

// The php dispatch: a dot-path goes to the static side (which says 404),
// never to php-fpm, even where a script exists or the front controller
// would take the path; a site that opts in runs them like any other.
TEST_F(DotFilesTest, PhpNeverRunsDotPaths) {
  auto target = std::make_shared<FastCgiTarget>();
  target->socket_path = "/nonexistent.sock";
  target->script_root = "/srv/site";
  target->front_controller = "index.php";
  Route closed{"p", "php", (*base_ / "site").string()};
  closed.fastcgi = target;
  Route open = closed;
  open.serve_dot_files = true;
  auto dispatch = [](const Route& route, const std::string& path) {
    http::Request request;
    request.method = "GET";
    request.target = path;
    request.path = path;
    return resolve_php_request(route, request);
  };
  for (const char* path : {"/.hidden/x.php", "/.hidden/x.php/info", "/%2ehidden/x.php", "/.env",
                           "/.git/nothing-here", "/.missing.php", "/a/.git/x.php"}) {
    EXPECT_EQ(dispatch(closed, path).kind, PhpDispatch::Kind::kStatic) << path;
  }
  EXPECT_EQ(dispatch(closed, "/anything").kind,
            PhpDispatch::Kind::kScript);  // the front controller
  PhpDispatch hidden = dispatch(open, "/.hidden/x.php");
  EXPECT_EQ(hidden.kind, PhpDispatch::Kind::kScript);
  EXPECT_EQ(hidden.script.script_name, "/.hidden/x.php");
  EXPECT_EQ(dispatch(open, "/.git/nothing-here").script.script_name, "/index.php");
}

}  // namespace
}  // namespace wok::router
