// The php mode end to end: a real php-fpm (php8.2-fpm) on a unix socket in
// a temporary directory, the router in front, raw HTTP clients.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "router/loopback_client.h"
#include "router/router.h"

namespace wok::router {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPhpFpm = "/usr/sbin/php-fpm8.2";

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

const char kIndexPhp[] = R"(<?php
if (isset($_GET['redirect'])) { header('Location: /elsewhere'); exit; }
if (isset($_GET['status'])) { http_response_code((int)$_GET['status']); }
header('X-Php: yes');
$body = file_get_contents('php://input');
error_log('index.php ran for ' . $_SERVER['REQUEST_URI']);
echo "uri=", $_SERVER['REQUEST_URI'], "\n";
echo "script=", $_SERVER['SCRIPT_NAME'], "\n";
echo "path_info=", $_SERVER['PATH_INFO'] ?? '', "\n";
echo "filename=", $_SERVER['SCRIPT_FILENAME'], "\n";
echo "method=", $_SERVER['REQUEST_METHOD'], "\n";
echo "body_len=", strlen($body), "\n";
echo "body_crc=", sprintf('%u', crc32($body)), "\n";
echo "post_x=", $_POST['x'] ?? '', "\n";
echo "https=", $_SERVER['HTTPS'] ?? '', "\n";
echo "proxy=", $_SERVER['HTTP_PROXY'] ?? '', "\n";
echo "custom=", $_SERVER['HTTP_X_CUSTOM'] ?? '', "\n";
)";

// php-fpm with a generated configuration, stopped (SIGQUIT then wait) at the end.
class PhpFpm {
 public:
  explicit PhpFpm(const fs::path& dir) : dir_(dir) {}
  ~PhpFpm() { stop(); }
  fs::path socket() const { return dir_ / "php.sock"; }

  bool start() {
    write_file(dir_ / "php-fpm.conf",
               "[global]\npid = " + (dir_ / "php-fpm.pid").string() +
                   "\nerror_log = " + (dir_ / "php-fpm.log").string() +
                   "\ndaemonize = no\n[site]\nlisten = " + socket().string() +
                   "\npm = static\npm.max_children = 2\ncatch_workers_output = yes\n"
                   "php_admin_value[post_max_size] = 16M\n");
    pid_ = fork();
    if (pid_ == 0) {
      std::string conf = (dir_ / "php-fpm.conf").string();
      std::string prefix = dir_.string();
      // -R: the test may run as root, which php-fpm otherwise refuses.
      execl(kPhpFpm, kPhpFpm, "-F", "-y", conf.c_str(), "-p", prefix.c_str(), "-R", nullptr);
      _exit(127);
    }
    // Readiness, not timing: wait for the socket to accept (up to 20 s).
    for (int i = 0; i < 400; ++i) {
      if (accepts()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGQUIT);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  bool accepts() const {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, socket().c_str(), sizeof addr.sun_path - 1);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }
  fs::path dir_;
  pid_t pid_ = -1;
};

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
  bool has(std::string_view header_line) const {
    return head.find(header_line) != std::string::npos;
  }
};

// Sends one request with "Connection: close", reads to EOF, de-chunks.
Reply fetch(uint16_t port, const std::string& request_head, const std::string& body = "") {
  Reply reply;
  int fd = test_support::connect_tcp(port);
  if (fd < 0) return reply;
  timeval tv{30, 0};  // php-fpm's first start can be slow
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  test_support::send_all(fd, request_head + "Connection: close\r\n\r\n" + body);
  std::string all;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) all.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos || all.size() < 12) return reply;
  reply.status = std::stoi(all.substr(9, 3));
  reply.head = all.substr(0, end + 2);
  std::string raw = all.substr(end + 4);
  if (!reply.has("Transfer-Encoding: chunked")) {
    reply.body = raw;
    return reply;
  }
  for (size_t pos = 0; pos < raw.size();) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t size = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    if (size == 0) break;
    reply.body.append(raw, eol + 2, size);
    pos = eol + 2 + size + 2;
  }
  return reply;
}

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: blog.localhost\r\n";
}

uint32_t crc32_of(const std::string& data) {  // zlib's CRC-32, as PHP's crc32()
  uint32_t crc = 0xffffffff;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
  }
  return ~crc;
}

class FastCgiPhpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kPhpFpm, X_OK) != 0) return;
    dir_ = new fs::path(fs::temp_directory_path() / ("wok-fastcgi-" + std::to_string(getpid())));
    fs::remove_all(*dir_);
    const fs::path docroot = *dir_ / "public";
    write_file(docroot / "index.php", kIndexPhp);
    write_file(docroot / "hello.php", "<?php echo 'hello php';");
    write_file(docroot / "slow.php", "<?php usleep(60000); echo 'slow';");
    write_file(docroot / "big.php", "<?php echo str_repeat('0123456789', 500000);");
    write_file(docroot / "admin/index.php", "<?php echo 'admin index';");
    write_file(docroot / "docs/index.html", "docs html");
    write_file(docroot / "style.css", "body { color: red }");
    write_file(docroot / "uploads/evil.jpg", "<?php echo 'EVIL'; ?>");
    write_file(docroot / "404.html", "custom not found");
    write_file(*dir_ / "outside.php", "<?php echo 'OUTSIDE';");
    fs::create_symlink(*dir_ / "outside.php", docroot / "escape.php");
    fs::create_symlink("/etc", docroot / "etc");
    fpm_ = new PhpFpm(*dir_);
    started_ = fpm_->start();
  }
  static void TearDownTestSuite() {
    delete fpm_;
    fpm_ = nullptr;
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (access(kPhpFpm, X_OK) != 0)
      GTEST_SKIP() << kPhpFpm << " is missing: apt-get install php8.2-fpm";
    ASSERT_TRUE(started_) << "php-fpm did not start; see " << (*dir_ / "php-fpm.log");
    route(fpm_->socket().string(), "index.php");
    start_front();
  }

  void start_front() {
    http::ServerOptions options;
    options.threads = 1;
    options.max_body_bytes = 64 << 20;
    front_ = std::make_unique<http::Server>(
        options, [this](http::Exchange ex) { router_.serve(std::move(ex)); });
    std::string error;
    ASSERT_TRUE(front_->start(&error)) << error;
  }

  void route(std::string socket, std::string front_controller) {
    auto table = std::make_shared<RouteTable>();
    auto r = std::make_shared<Route>();
    r->project = "team-a";
    r->site = "blog";
    r->root = (*dir_ / "public").string();
    // php-fpm here is not sandboxed: it sees the document root where the router does.
    r->fastcgi = std::make_shared<FastCgiTarget>(
        FastCgiTarget{std::move(socket), r->root, std::move(front_controller), {}});
    table->add("blog.localhost", r);
    router_.set_table(table);
  }
  uint16_t port() const { return front_->port(); }

  static fs::path* dir_;
  static PhpFpm* fpm_;
  static bool started_;
  Router router_;
  std::unique_ptr<http::Server> front_;
};

fs::path* FastCgiPhpTest::dir_ = nullptr;
PhpFpm* FastCgiPhpTest::fpm_ = nullptr;
bool FastCgiPhpTest::started_ = false;

TEST_F(FastCgiPhpTest, StaticFilesAreServedWithoutPhp) {
  Reply r = fetch(port(), get("/style.css"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "body { color: red }");
  EXPECT_TRUE(r.has("ETag: ")) << r.head;
  EXPECT_FALSE(r.has("X-Php")) << r.head;
  EXPECT_EQ(fetch(port(), get("/docs/")).body, "docs html");
  EXPECT_EQ(fetch(port(),
                  "POST /style.css HTTP/1.1\r\nHost: blog.localhost\r\nContent-Length: 1\r\n", "x")
                .status,
            405);
}

TEST_F(FastCgiPhpTest, PhpScriptsRun) {
  Reply r = fetch(port(), get("/hello.php"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello php");
  r = fetch(port(), get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("script=/index.php\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("filename=" + (*dir_ / "public/index.php").string() + "\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("https=\n"), std::string::npos) << r.body;
  EXPECT_TRUE(r.has("X-Php: yes")) << r.head;
  EXPECT_EQ(fetch(port(), get("/admin")).status, 301);
  EXPECT_EQ(fetch(port(), get("/admin/")).body, "admin index");
}

TEST_F(FastCgiPhpTest, PrettyUrlsGoToTheFrontController) {
  Reply r = fetch(port(), get("/blog/hello?page=2"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("uri=/blog/hello?page=2\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("script=/index.php\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("path_info=\n"), std::string::npos) << r.body;
  // Without a front controller, a path with no file is the site's 404.
  route(fpm_->socket().string(), "");
  r = fetch(port(), get("/blog/hello"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "custom not found");
}

TEST_F(FastCgiPhpTest, PathInfoAfterTheScript) {
  Reply r = fetch(port(), get("/index.php/foo/bar%20baz?q=1"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("script=/index.php\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("path_info=/foo/bar baz\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("uri=/index.php/foo/bar%20baz?q=1\n"), std::string::npos) << r.body;
}

TEST_F(FastCgiPhpTest, RequestBodiesReachPhp) {
  Reply r = fetch(port(),
                  "POST /form HTTP/1.1\r\nHost: blog.localhost\r\nContent-Type: "
                  "application/x-www-form-urlencoded\r\n"
                  "Content-Length: 4\r\n",
                  "x=42");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("post_x=42\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("method=POST\n"), std::string::npos) << r.body;

  std::string big;
  for (size_t i = 0; big.size() < (1 << 20); ++i) big += std::to_string(i) + ",";
  big.resize(1 << 20);
  const std::string crc = "body_crc=" + std::to_string(crc32_of(big)) + "\n";
  r = fetch(port(),
            "PUT /upload HTTP/1.1\r\nHost: blog.localhost\r\nContent-Length: " +
                std::to_string(big.size()) + "\r\n",
            big);
  EXPECT_NE(r.body.find("body_len=1048576\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(crc), std::string::npos) << r.body;

  // Chunked: collected, then sent with its CONTENT_LENGTH.
  std::string chunked;
  for (size_t pos = 0; pos < big.size(); pos += 100000) {
    std::string piece = big.substr(pos, 100000);
    char size[16];
    snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  r = fetch(port(),
            "PUT /upload HTTP/1.1\r\nHost: blog.localhost\r\nTransfer-Encoding: chunked\r\n",
            chunked);
  EXPECT_NE(r.body.find("body_len=1048576\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(crc), std::string::npos) << r.body;
}

TEST_F(FastCgiPhpTest, StatusLocationAndHeadersFromPhp) {
  Reply r = fetch(port(), get("/?redirect=1"));
  EXPECT_EQ(r.status, 302);
  EXPECT_TRUE(r.has("Location: /elsewhere\r\n")) << r.head;
  r = fetch(port(), get("/?status=418"));
  EXPECT_EQ(r.status, 418);
  EXPECT_TRUE(r.has("X-Php: yes")) << r.head;
  r = fetch(port(), get("/") + "X-Custom: hi\r\nProxy: http://evil.example:3128\r\n");
  EXPECT_NE(r.body.find("custom=hi\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("proxy=\n"), std::string::npos) << "httpoxy: " << r.body;
  r = fetch(port(), "HEAD /hello.php HTTP/1.1\r\nHost: blog.localhost\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
}

TEST_F(FastCgiPhpTest, LargeResponsesStream) {
  Reply r = fetch(port(), get("/big.php"));
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(r.body.size(), 5000000u);
  EXPECT_EQ(r.body.substr(4999990), "0123456789");
}

TEST_F(FastCgiPhpTest, PhpFpmDownIs502) {
  route((*dir_ / "nobody-listens.sock").string(), "index.php");
  EXPECT_EQ(fetch(port(), get("/hello.php")).status, 502);
  EXPECT_EQ(fetch(port(), get("/blog/hello")).status, 502);
  EXPECT_EQ(fetch(port(), get("/style.css")).status, 200);  // static files need no php-fpm
  // A socket file with nobody accepting on it.
  const fs::path dead = *dir_ / "dead.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, dead.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  route(dead.string(), "index.php");
  EXPECT_EQ(fetch(port(), get("/hello.php")).status, 502);
  close(fd);
  fs::remove(dead);
}

// A fake responder on a unix socket: reads the request, answers `reply` raw, closes.
std::thread fake_responder(const fs::path& path, std::string reply, int* listen_fd) {
  *listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  fs::remove(path);
  EXPECT_EQ(bind(*listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(listen(*listen_fd, 4), 0);
  return std::thread([fd = *listen_fd, reply = std::move(reply)] {
    int conn = accept(fd, nullptr, nullptr);
    if (conn < 0) return;
    char buf[4096];
    // The request ends with an empty STDIN record: 8 bytes, type 5, length 0.
    std::string got;
    while (got.find(std::string("\x01\x05\x00\x01\x00\x00\x00\x00", 8)) == std::string::npos) {
      ssize_t n = recv(conn, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
    close(conn);
  });
}

std::string record(char type, std::string_view content) {
  std::string out = {1,
                     type,
                     0,
                     1,
                     static_cast<char>(content.size() >> 8),
                     static_cast<char>(content.size() & 0xff),
                     0,
                     0};
  return out.append(content);
}

TEST_F(FastCgiPhpTest, MalformedResponderOutputIs502) {
  const std::string end = record(3, std::string(8, '\0'));
  const std::vector<std::string> replies = {
      "HTTP/1.1 200 OK\r\n\r\n",                      // not FastCGI at all
      record(6, "no head terminator") + end,          // STDOUT never finishes its head
      record(6, "Status: banana\r\n\r\nbody") + end,  // a bad status
      record(6, "Content-Type: text/plain\r\n"),      // closed before FCGI_END_REQUEST
      std::string({1, 6, 0, 2, 0, 0, 0, 0}) + end,    // another request id
  };
  const fs::path path = *dir_ / "fake.sock";
  route(path.string(), "index.php");
  for (const std::string& reply : replies) {
    int listen_fd = -1;
    std::thread responder = fake_responder(path, reply, &listen_fd);
    Reply r = fetch(port(), get("/hello.php"));
    EXPECT_EQ(r.status, 502) << reply;
    responder.join();
    close(listen_fd);
  }
}

// spec.php.timeout on the router's side: a php-fpm that takes the request
// and says nothing (a runaway script) is answered 504 at the site's limit,
// not after a fixed minute, and the log names the site and the limit.
TEST_F(FastCgiPhpTest, SilentPhpFpmIs504AtTheSiteLimit) {
  const fs::path path = *dir_ / "silent.sock";
  fs::remove(path);
  int listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listen_fd, 4), 0);  // connections wait in the backlog, never answered
  auto table = std::make_shared<RouteTable>();
  auto r = std::make_shared<Route>();
  r->project = "team-a";
  r->site = "blog";
  r->root = (*dir_ / "public").string();
  r->fastcgi = std::make_shared<FastCgiTarget>(
      FastCgiTarget{path.string(), r->root, "index.php", {}, {}, 0, 1000});
  table->add("blog.localhost", r);
  router_.set_table(table);

  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  Reply reply =
      fetch(port(), get("/hello.php"));  // gives up after 30 s: more than the old fixed 60 s limit
  spdlog::set_default_logger(previous);
  close(listen_fd);

  EXPECT_EQ(reply.status, 504) << reply.head << reply.body;
  EXPECT_NE(reply.body.find("time limit of 1s (spec.php.timeout)"), std::string::npos)
      << reply.body;
  EXPECT_NE(
      log.str().find("site team-a/blog: 504: GET /hello.php: php-fpm did not answer within the "
                     "site's time limit of 1s (spec.php.timeout)"),
      std::string::npos)
      << log.str();
}

TEST_F(FastCgiPhpTest, UploadsNeverRunAsPhp) {
  Reply r = fetch(port(), get("/uploads/evil.jpg"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<?php echo 'EVIL'; ?>");  // served as a file, not run
  for (const char* target : {"/uploads/evil.jpg/x.php", "/uploads/evil.jpg/index.php/a",
                             "/missing.php", "/missing.php/x", "/escape.php"}) {
    r = fetch(port(), get(target));
    EXPECT_EQ(r.status, 404) << target << "\n" << r.head << r.body;
    EXPECT_EQ(r.body.find("EVIL"), std::string::npos) << target;
    EXPECT_EQ(r.body.find("OUTSIDE"), std::string::npos) << target;
  }
}

// The access log's upstream field: the time php-fpm took, at least the
// script's sleep; none for a file served without php.
TEST_F(FastCgiPhpTest, UpstreamTimeIsReported) {
  struct Times : RequestObserver {
    std::mutex mutex;
    std::vector<int64_t> upstream_us;
    void on_request(const RequestRecord& r) override {
      std::lock_guard lock(mutex);
      upstream_us.push_back(r.upstream.count());
    }
  } times;
  front_.reset();  // observers are added before serving
  router_.add_observer(&times);
  start_front();
  EXPECT_EQ(fetch(port(), get("/slow.php")).body, "slow");
  EXPECT_EQ(fetch(port(), get("/style.css")).status, 200);
  front_->stop();  // every completion has been reported once stop() returns
  std::lock_guard lock(times.mutex);
  ASSERT_EQ(times.upstream_us.size(), 2u);
  EXPECT_GE(times.upstream_us[0], 60000);
  EXPECT_EQ(times.upstream_us[1], -1);
}

TEST_F(FastCgiPhpTest, TraversalIsRefused) {
  for (const char* target :
       {"/../outside.php", "/%2e%2e/outside.php", "/uploads/../index.php", "/./index.php",
        "/%2e/index.php", "/index.php%00.jpg", "/uploads%2f..%2findex.php"}) {
    Reply r = fetch(port(), get(target));
    EXPECT_EQ(r.status, 400) << target << "\n" << r.head << r.body;
    EXPECT_EQ(r.body.find("<?php"), std::string::npos) << "source leaked for " << target;
  }
  // A symlink out of the root is no file: the front controller gets the path.
  Reply r = fetch(port(), get("/etc/passwd"));
  EXPECT_NE(r.body.find("uri=/etc/passwd\n"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("root:"), std::string::npos);
  route(fpm_->socket().string(), "");
  r = fetch(port(), get("/etc/passwd"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body.find("root:"), std::string::npos);
}

}  // namespace
}  // namespace wok::router
