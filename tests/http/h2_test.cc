// HTTP/2 on the event loop: real clients (an nghttp2 client session over a
// socket, and raw frames where an attack needs frames no client library
// would send) against the server with h2c prior knowledge, and over TLS with
// ALPN. Each known attack is staged and must end in a refusal or a closed
// connection while the server keeps serving others.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "certs/certificate.h"
#include "http/h2_client.h"
#include "http/h2_session.h"
#include "http/server.h"
#include "http/tls.h"
#include "router/loopback_client.h"

namespace wok::http {
namespace {

namespace fs = std::filesystem;

using router::test_support::connect_tcp;
using test_support::H2Client;
using test_support::Reply;

// Raw frames, for what no well-behaved client sends.
std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>((payload.size() >> 16) & 0xff));
  f.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
  f.push_back(static_cast<char>(payload.size() & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift : {24, 16, 8, 0}) f.push_back(static_cast<char>((stream >> shift) & 0xff));
  f.append(payload);
  return f;
}

struct Frame {
  uint8_t type = 0, flags = 0;
  uint32_t stream = 0;
  std::string payload;
};

// Frames the server sends until it closes or `ms` pass (the client preface's
// SETTINGS are not answered: nothing here reads them as a session would).
std::vector<Frame> read_frames(int fd, int ms, bool* closed = nullptr) {
  std::string buf;
  std::vector<Frame> frames;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  if (closed) *closed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char chunk[65536];
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      break;
    }
    buf.append(chunk, static_cast<size_t>(n));
    while (buf.size() >= 9) {
      size_t len = (static_cast<uint8_t>(buf[0]) << 16) | (static_cast<uint8_t>(buf[1]) << 8) |
                   static_cast<uint8_t>(buf[2]);
      if (buf.size() < 9 + len) break;
      Frame f;
      f.type = static_cast<uint8_t>(buf[3]);
      f.flags = static_cast<uint8_t>(buf[4]);
      f.stream = ((static_cast<uint8_t>(buf[5]) & 0x7f) << 24) |
                 (static_cast<uint8_t>(buf[6]) << 16) | (static_cast<uint8_t>(buf[7]) << 8) |
                 static_cast<uint8_t>(buf[8]);
      f.payload = buf.substr(9, len);
      frames.push_back(std::move(f));
      buf.erase(0, 9 + len);
    }
  }
  return frames;
}

uint32_t error_code_of(const Frame& f) {  // RST_STREAM's, or GOAWAY's
  size_t at = f.type == NGHTTP2_GOAWAY ? 4 : 0;
  if (f.payload.size() < at + 4) return 0;
  return (static_cast<uint8_t>(f.payload[at]) << 24) |
         (static_cast<uint8_t>(f.payload[at + 1]) << 16) |
         (static_cast<uint8_t>(f.payload[at + 2]) << 8) | static_cast<uint8_t>(f.payload[at + 3]);
}

// HPACK for :authority a.test and :path /slow, literals with the static
// table's names (1 and 4), not indexed.
const std::string kAuthorityAndSlow(
    "\x01\x06"
    "a.test"
    "\x04\x05/slow",
    15);

// HEADERS for GET /slow on `stream`: :method GET (static index 2), :scheme http (6).
std::string get_slow(uint32_t stream) {
  return frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, stream,
               "\x82\x86" + kAuthorityAndSlow);
}

// True when the server closes the connection within 5 s (whatever it sends first).
bool closed_by_server(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

class H2Test : public ::testing::Test {
 protected:
  void start(int idle_timeout_ms = 60000) {
    ServerOptions options;
    options.threads = 1;
    options.h2c = true;
    options.idle_timeout_ms = idle_timeout_ms;
    options.max_header_bytes = 16 * 1024;
    options.on_limit = [this](const LimitEvent& e) {
      std::lock_guard lock(mu_);
      limits_.emplace_back(e.limit);
    };
    server_ = std::make_unique<Server>(options, [this](Exchange ex) { handle(std::move(ex)); });
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }
  void TearDown() override {
    if (server_) server_->stop(0);
    fs::remove_all(dir_);
  }
  void handle(Exchange ex) {
    const Request& r = ex.request();
    if (r.path == "/slow") {  // never answered: held until the client goes
      std::lock_guard lock(mu_);
      held_.push_back(ex);
      return;
    }
    if (r.path == "/echo") {
      ex.read_body([](Exchange& e) {
        Response response;
        response.body =
            "got " + std::to_string(e.request().body.size()) + " " + e.request().body.substr(0, 8);
        e.respond(std::move(response));
      });
      return;
    }
    if (r.path == "/big") {
      Response response;
      response.file_fd = open(big_.c_str(), O_RDONLY | O_CLOEXEC);
      response.file_length = fs::file_size(big_);
      ex.respond(std::move(response));
      return;
    }
    if (r.path == "/ws") {  // a WebSocket endpoint as the proxy is one: 101, then echoes
      {
        std::lock_guard lock(mu_);
        ws_seen_ = r.method + " upgrade=" + std::string(r.header("Upgrade")) +
                   " connection=" + std::string(r.header("Connection")) +
                   " key=" + std::string(r.header("Sec-WebSocket-Key")) +
                   " version=" + std::string(r.header("Sec-WebSocket-Version")) +
                   " protocol=" + std::string(r.header("Sec-WebSocket-Protocol")) +
                   " te=" + std::string(r.header("Transfer-Encoding"));
      }
      Response head;
      head.status = 101;
      head.set_header("Upgrade", "websocket");
      head.set_header("Connection", "Upgrade");
      head.set_header("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      head.set_header("Sec-WebSocket-Protocol", "chat");
      Exchange echo = ex;
      ex.upgrade(head, [echo](std::string_view piece, bool last) mutable {
        if (!piece.empty()) echo.write(piece);
        if (last) echo.finish();
      });
      return;
    }
    if (r.path == "/shrinks") {  // 100 KiB promised, 20 KiB left by the time it is read
      fs::path path = dir_ / "shrinks";
      FILE* f = fopen(path.c_str(), "w");
      std::string content(100 * 1024, 's');
      fwrite(content.data(), 1, content.size(), f);
      fclose(f);
      Response response;
      response.file_fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      response.file_length = content.size();
      EXPECT_EQ(truncate(path.c_str(), 20 * 1024), 0);
      ex.respond(std::move(response));
      return;
    }
    if (r.path == "/later") {  // answered a moment later, the upload never read
      ex.loop().add_timer(30, [ex]() mutable {
        Response response;
        response.status = 401;
        ex.respond(std::move(response));
      });
      return;
    }
    if (r.path == "/te") {  // what framing a handler is told of the request body
      Response response;
      response.body = "te=" + std::string(r.header("Transfer-Encoding")) +
                      " cl=" + std::string(r.header("Content-Length"));
      ex.respond(std::move(response));
      return;
    }
    if (r.path == "/stream") {
      Response head;
      head.set_header("Content-Type", "text/plain");
      ex.start_response(head, -1);
      for (int i = 0; i < 3; ++i) ex.write("part" + std::to_string(i) + ";");
      ex.finish();
      return;
    }
    Response response;
    response.set_header("Connection", "keep-alive");  // connection-specific: not sent over h2
    response.set_header("X-Seen-Host", std::string(r.header("Host")));
    response.set_header("X-Seen-Cookie", std::string(r.header("Cookie")));
    response.body = "h2 " + r.method + " " + r.target + " v" + std::to_string(r.version_major);
    ex.respond(std::move(response));
  }
  std::vector<std::string> limits() {
    std::lock_guard lock(mu_);
    return limits_;
  }
  void make_big(size_t size) {
    dir_ = fs::temp_directory_path() / ("wok-h2-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    big_ = dir_ / "big";
    std::string content;
    for (int i = 0; content.size() < size; ++i) content += std::to_string(i) + ",";
    content.resize(size);
    FILE* f = fopen(big_.c_str(), "w");
    fwrite(content.data(), 1, content.size(), f);
    fclose(f);
    big_content_ = content;
  }

  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::vector<std::string> limits_;
  std::vector<Exchange> held_;
  std::string ws_seen_;
  fs::path dir_, big_;
  std::string big_content_;
};

TEST_F(H2Test, RequestsOverH2cWithPriorKnowledge) {
  make_big(3 * 1024 * 1024 + 11);
  start();
  H2Client c(connect_tcp(server_->port()));
  int32_t a = c.request("GET", "/a?x=1", {{"cookie", "a=1"}, {"cookie", "b=2"}});
  int32_t head = c.request("HEAD", "/a");
  int32_t big = c.request("GET", "/big");
  std::string upload(200 * 1024, 'u');
  int32_t echo = c.request("POST", "/echo", {}, &upload);
  int32_t streamed = c.request("GET", "/stream");
  ASSERT_TRUE(c.run());
  EXPECT_EQ(c.reply(a).status, 200);
  EXPECT_EQ(c.reply(a).body, "h2 GET /a?x=1 v2");
  EXPECT_EQ(c.reply(a).headers["x-seen-host"], "a.test");
  EXPECT_EQ(c.reply(a).headers["x-seen-cookie"], "a=1; b=2");
  EXPECT_EQ(c.reply(a).headers.count("connection"), 0u);
  EXPECT_FALSE(c.reply(a).headers["date"].empty());
  EXPECT_EQ(c.reply(head).status, 200);
  EXPECT_EQ(c.reply(head).body, "");
  EXPECT_EQ(c.reply(head).headers["content-length"], "13");  // of "h2 HEAD /a v2"
  EXPECT_EQ(c.reply(big).body.size(), big_content_.size());
  EXPECT_TRUE(c.reply(big).body == big_content_);
  EXPECT_EQ(c.reply(echo).body, "got 204800 uuuuuuuu");
  EXPECT_EQ(c.reply(streamed).body, "part0;part1;part2;");
}

// A client whose windows are wide open sends nothing while it downloads:
// answers larger than the connection's output budget (1 MiB) still go on
// to the end. They stopped after the first budget before: the queue
// drained without filling the socket, so no event came back (this test
// fails without Connection::settle_h2's schedule()).
TEST_F(H2Test, LargeAnswersOverH2cWithWideOpenWindows) {
  make_big(3 * 1024 * 1024 + 5);
  start();
  H2Client c(connect_tcp(server_->port()), nullptr, 1 << 30);
  c.open_connection_window(1 << 30);
  int32_t a = c.request("GET", "/big");
  int32_t b = c.request("GET", "/big");
  ASSERT_TRUE(c.run(std::chrono::milliseconds(20000)));
  for (int32_t id : {a, b}) {
    EXPECT_EQ(c.reply(id).body.size(), big_content_.size()) << "stream " << id;
    EXPECT_TRUE(c.reply(id).body == big_content_) << "stream " << id;
  }
}

// WebSockets over HTTP/2 (RFC 8441): the server offers extended CONNECT;
// a CONNECT with :protocol websocket reaches the handler as the HTTP/1.1
// upgrade request (GET, Upgrade, Connection, a key of its own: HTTP/2
// carries none), its 101 goes out as 200 without Sec-WebSocket-Accept, and
// the stream is the tunnel both ways, flow control included, until the
// client ends it.
TEST_F(H2Test, WebSocketsOverExtendedConnect) {
  start();
  H2Client c(connect_tcp(server_->port()));
  ASSERT_TRUE(
      c.run_until([&] { return c.remote_setting(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1; }));
  int32_t ws = c.open_tunnel("/ws", {{"sec-websocket-version", "13"},
                                     {"sec-websocket-protocol", "chat"},
                                     {"sec-websocket-key", "client-chosen"}});
  ASSERT_TRUE(c.run_until([&] { return c.reply(ws).status != 0; }));
  EXPECT_EQ(c.reply(ws).status, 200);
  EXPECT_EQ(c.reply(ws).headers.count("sec-websocket-accept"), 0u);
  EXPECT_EQ(c.reply(ws).headers["sec-websocket-protocol"], "chat");
  EXPECT_FALSE(c.reply(ws).closed);
  c.tunnel_send(ws, "hello");
  ASSERT_TRUE(c.run_until([&] { return c.reply(ws).body == "hello"; })) << c.reply(ws).body;
  // More than the stream's window (65,535 bytes) and the connection's: the
  // server acknowledges what the handler takes.
  std::string large;
  for (int i = 0; large.size() < 400 * 1024; ++i) large += std::to_string(i) + ";";
  c.tunnel_send(ws, large);
  ASSERT_TRUE(c.run_until([&] { return c.reply(ws).body.size() >= 5 + large.size(); }));
  EXPECT_TRUE(c.reply(ws).body == "hello" + large);
  c.tunnel_send(ws, "", /*end=*/true);
  ASSERT_TRUE(c.run_until([&] { return c.reply(ws).closed; }));
  EXPECT_EQ(c.reply(ws).rst, 0u);
  std::lock_guard lock(mu_);
  std::string key = ws_seen_.substr(ws_seen_.find("key=") + 4, 24);
  EXPECT_EQ(ws_seen_, "GET upgrade=websocket connection=Upgrade key=" + key +
                          " version=13 protocol=chat te=");
  EXPECT_NE(key, "client-chosen version=13");
  EXPECT_EQ(key.size(), 24u);
  EXPECT_EQ(key.back(), '=');
}

// A handler that answers a WebSocket request as an ordinary one must not
// open the tunnel with its 2xx (the client would take its page for the
// WebSocket's bytes): 501. A protocol other than websocket: 501 too.
TEST_F(H2Test, ExtendedConnectToWhatIsNoWebSocketIs501) {
  start();
  H2Client c(connect_tcp(server_->port()));
  ASSERT_TRUE(
      c.run_until([&] { return c.remote_setting(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1; }));
  int32_t page = c.open_tunnel("/a", {{"sec-websocket-version", "13"}});
  ASSERT_TRUE(c.run_until([&] { return c.reply(page).closed; }));
  EXPECT_EQ(c.reply(page).status, 501);
  EXPECT_EQ(c.reply(page).body, "no WebSocket is served here\n");
  int32_t udp = c.open_tunnel("/ws", {}, "connect-udp");
  ASSERT_TRUE(c.run_until([&] { return c.reply(udp).closed; }));
  EXPECT_EQ(c.reply(udp).status, 501);
  std::lock_guard lock(mu_);
  EXPECT_EQ(ws_seen_, "");  // the /ws handler never saw it
  // The connection goes on.
  int32_t after = c.request("GET", "/a");
  ASSERT_TRUE(c.run());
  EXPECT_EQ(c.reply(after).body, "h2 GET /a v2");
}

// A file that shrank under its answer cannot keep the length promised: its
// stream is reset (INTERNAL_ERROR) before a frame of data it does not have,
// and the connection's other streams go on.
TEST_F(H2Test, AFileThatShrankResetsItsStreamOnly) {
  make_big(300 * 1024 + 7);
  start();
  H2Client c(connect_tcp(server_->port()));
  int32_t shrinks = c.request("GET", "/shrinks");
  int32_t big = c.request("GET", "/big");
  ASSERT_TRUE(c.run());
  EXPECT_TRUE(c.reply(shrinks).closed);
  EXPECT_EQ(c.reply(shrinks).rst, static_cast<uint32_t>(NGHTTP2_INTERNAL_ERROR));
  EXPECT_EQ(c.reply(shrinks).status, 200);
  EXPECT_LE(c.reply(shrinks).body.size(), 20u * 1024);
  EXPECT_EQ(c.reply(shrinks).body, std::string(c.reply(shrinks).body.size(), 's'));
  EXPECT_TRUE(c.reply(big).body == big_content_);
  int32_t after = c.request("GET", "/a");
  ASSERT_TRUE(c.run());
  EXPECT_EQ(c.reply(after).body, "h2 GET /a v2");
}

// HTTP/2 needs no Content-Length: such a body reaches handlers framed as
// HTTP/1.1's chunked one (the proxy and FastCGI read it then, not drop it).
TEST_F(H2Test, ABodyWithoutContentLengthIsChunkedForHandlers) {
  start();
  H2Client c(connect_tcp(server_->port()));
  std::string body = "abc";  // one upload at a time: the client keeps one body
  int32_t unsized = c.request("POST", "/te", {}, &body);
  ASSERT_TRUE(c.run());
  int32_t sized = c.request("POST", "/te", {{"content-length", "3"}}, &body);
  ASSERT_TRUE(c.run());
  int32_t none = c.request("GET", "/te");
  ASSERT_TRUE(c.run());
  EXPECT_EQ(c.reply(unsized).body, "te=chunked cl=");
  EXPECT_EQ(c.reply(sized).body, "te= cl=3");
  EXPECT_EQ(c.reply(none).body, "te= cl=");
}

// Answers given without reading the upload (a 401, a 413) must give the
// body's bytes back to the connection's window, or uploads stall for good.
TEST_F(H2Test, UnreadUploadsDoNotShrinkTheConnectionWindow) {
  start();
  H2Client c(connect_tcp(server_->port()));
  std::vector<int32_t> ids;
  for (int i = 0; i < 8; ++i) {
    std::string upload(300 * 1024, 'x');
    ids.push_back(c.request("POST", "/later", {}, &upload));
    ASSERT_TRUE(c.run());
  }
  for (int32_t id : ids) EXPECT_EQ(c.reply(id).status, 401);
  std::string upload(600 * 1024, 'y');
  int32_t echo = c.request("POST", "/echo", {}, &upload);
  ASSERT_TRUE(c.run());
  EXPECT_EQ(c.reply(echo).body, "got 614400 yyyyyyyy");
}

// A request whose body never comes, after its answer went out: the stream
// is ended (RST_STREAM NO_ERROR), and a silent connection with it.
TEST_F(H2Test, AHalfSentRequestDoesNotHoldTheConnection) {
  start(300);
  int fd = connect_tcp(server_->port());
  std::string out(kH2Preface);
  out += frame(NGHTTP2_SETTINGS, 0, 0, "");
  // POST / (answered at once by the handler) with END_HEADERS only: a body is promised.
  out += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1,
               std::string("\x83\x86\x84\x01\x06"
                           "a.test",
                           11));
  send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  bool closed = false, reset = false, answered = false;
  for (const Frame& f : read_frames(fd, 3000, &closed)) {
    if (f.stream == 1 && f.type == NGHTTP2_HEADERS) answered = true;
    if (f.stream == 1 && f.type == NGHTTP2_RST_STREAM && error_code_of(f) == NGHTTP2_NO_ERROR)
      reset = true;
  }
  close(fd);
  EXPECT_TRUE(answered);
  EXPECT_TRUE(reset);
  EXPECT_TRUE(closed) << "the silent connection outlived the idle timeout";
}

TEST_F(H2Test, PlainHttp11StillWorksOnAnH2cPort) {
  start();
  int fd = connect_tcp(server_->port());
  std::string req = "GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
  close(fd);
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find("h2 GET /x v1"), std::string::npos) << got;
}

// A server on TLS (ALPN h2, then http/1.1) with a certificate of a local CA
// for a.test, and a client context.
class H2TlsTest : public H2Test {
 protected:
  void SetUp() override {
    std::string error;
    ca_dir_ = fs::temp_directory_path() / ("wok-h2ca-" + std::to_string(getpid()));
    auto ca = certs::LocalCa::open(ca_dir_, &error);
    ASSERT_TRUE(ca) << error;
    auto issued = ca->issue({"a.test"}, 5, &error);
    ASSERT_TRUE(issued) << error;
    SslContext cert = make_certificate_context(issued->certificate_pem, issued->key_pem, &error);
    auto acceptor =
        TlsAcceptor::create([cert](std::string_view) { return cert; }, {"h2", "http/1.1"}, &error);
    ServerOptions options;
    options.threads = 1;
    options.tls = acceptor;
    server_ = std::make_unique<Server>(options, [this](Exchange ex) { handle(std::move(ex)); });
    ASSERT_TRUE(server_->start(&error)) << error;
    ctx_ = SSL_CTX_new(TLS_client_method());
  }
  void TearDown() override {
    SSL_CTX_free(ctx_);
    fs::remove_all(ca_dir_);
  }
  // A TLS session that chose h2; null on failure.
  SSL* connect(int fd) {
    const unsigned char alpn[] = "\x02h2";
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "a.test");
    SSL_set_alpn_protos(ssl, alpn, 3);
    if (SSL_connect(ssl) != 1 || TlsAcceptor::negotiated_protocol(ssl) != "h2") {
      SSL_free(ssl);
      return nullptr;
    }
    return ssl;
  }

  fs::path ca_dir_;
  SSL_CTX* ctx_ = nullptr;
};

TEST_F(H2TlsTest, OverTlsByAlpn) {
  int fd = connect_tcp(server_->port());
  SSL* ssl = connect(fd);
  ASSERT_NE(ssl, nullptr);
  H2Client c(fd, ssl);
  int32_t a = c.request("GET", "/over-tls");
  ASSERT_TRUE(c.run());
  EXPECT_EQ(c.reply(a).body, "h2 GET /over-tls v2");
}

// Frames go to SSL_write in records as they come; once the socket is full
// (a client that reads nothing for a while, windows wide open), the record
// under way waits in the queue and is written again from there. Every byte
// arrives, in order, on each of the streams (the batch path before it
// stalled here too: see LargeAnswersOverH2cWithWideOpenWindows).
TEST_F(H2TlsTest, LargeAnswersToAClientThatReadsLate) {
  make_big(5 * 1024 * 1024 + 7);
  int fd = connect_tcp(server_->port());
  SSL* ssl = connect(fd);
  ASSERT_NE(ssl, nullptr);
  H2Client c(fd, ssl, 1 << 30);
  c.open_connection_window(1 << 30);
  int32_t big[3];
  for (int32_t& id : big) id = c.request("GET", "/big");
  int32_t small_answer = c.request("GET", "/after");
  ASSERT_TRUE(c.flush());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server's socket fills
  ASSERT_TRUE(c.run(std::chrono::milliseconds(30000)));
  for (int32_t id : big) {
    EXPECT_EQ(c.reply(id).status, 200);
    EXPECT_EQ(c.reply(id).body.size(), big_content_.size());
    EXPECT_TRUE(c.reply(id).body == big_content_)
        << "stream " << id << " rst " << c.reply(id).rst << " closed " << c.reply(id).closed;
  }
  EXPECT_EQ(c.reply(small_answer).body, "h2 GET /after v2");
}

// CVE-2023-44487: streams opened and reset at once, thousands of them.
TEST_F(H2Test, RapidResetEndsTheConnection) {
  start();
  H2Client c(connect_tcp(server_->port()));
  bool alive = true;
  for (int i = 0; i < 3000 && alive; ++i) {
    int32_t id = c.request("GET", "/slow");
    alive = c.flush();  // the HEADERS leave before the reset (or nothing would)
    c.reset(id);
    alive = alive && c.flush();
    if (i % 100 == 99) c.run(std::chrono::milliseconds(5), true);
  }
  bool open = c.run(std::chrono::milliseconds(2000), true);
  // Ended: the GOAWAY read, or (under load) the connection closed before
  // it could be, its last frames lost to the reset of what was still sent.
  EXPECT_TRUE(c.goaway() || !alive || !open) << "the connection lives on after 3000 resets";
  // Others are still served.
  H2Client other(connect_tcp(server_->port()));
  int32_t a = other.request("GET", "/after");
  ASSERT_TRUE(other.run());
  EXPECT_EQ(other.reply(a).status, 200);
}

// CVE-2024-27316 and kin: one HEADERS then CONTINUATION frames without end.
TEST_F(H2Test, ContinuationFloodEndsTheConnection) {
  start();
  int fd = connect_tcp(server_->port());
  std::string out(kH2Preface);
  out += frame(NGHTTP2_SETTINGS, 0, 0, "");
  // A literal header "x: y" (not indexed), again and again.
  std::string block("\x00\x01x\x01y", 5);
  out += frame(NGHTTP2_HEADERS, 0, 1, block);
  for (int i = 0; i < 50; ++i) out += frame(NGHTTP2_CONTINUATION, 0, 1, block);
  send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  EXPECT_TRUE(closed_by_server(fd));
  close(fd);
}

// An HPACK bomb: one large header indexed once, then referenced again and
// again; a few bytes on the wire decode to far more than the limit.
TEST_F(H2Test, HpackBombIsRefusedWith431) {
  start();
  H2Client c(connect_tcp(server_->port()));
  std::vector<std::pair<std::string, std::string>> bomb;
  for (int i = 0; i < 20; ++i) bomb.push_back({"x-bomb", std::string(4000, 'b')});
  int32_t id = c.request("GET", "/a", bomb);
  ASSERT_TRUE(c.run());
  // Refused before any handler sees it: by wok's decoded-size limit (431),
  // or first by nghttp2's own header list limit (the stream refused).
  const Reply& r = c.reply(id);
  EXPECT_TRUE(r.status == 431 || (r.status == 0 && r.rst == NGHTTP2_REFUSED_STREAM))
      << "status " << r.status << " rst " << r.rst;
  // The connection stays usable for requests of a sane size.
  int32_t next = c.request("GET", "/fine");
  ASSERT_TRUE(c.run());
  EXPECT_EQ(c.reply(next).status, 200);
}

// A client library keeps to the server's SETTINGS; an attacker does not:
// beyond the 128 streams it acknowledged, the connection ends (nghttp2 treats
// it as a connection error) and no handler sees more than 128.
TEST_F(H2Test, StreamsBeyondTheLimitEndTheConnection) {
  start();
  int fd = connect_tcp(server_->port());
  std::string out(kH2Preface);
  out += frame(NGHTTP2_SETTINGS, 0, 0, "");
  send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  read_frames(fd, 200);  // the server's SETTINGS: its limits are known from here
  out = frame(NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, "");
  for (uint32_t i = 0; i < 200; ++i) out += get_slow(2 * i + 1);
  send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  bool closed = false, goaway = false;
  for (const Frame& f : read_frames(fd, 1000, &closed))
    if (f.type == NGHTTP2_GOAWAY && error_code_of(f) == NGHTTP2_PROTOCOL_ERROR) goaway = true;
  close(fd);
  EXPECT_TRUE(goaway);
  EXPECT_TRUE(closed);
  {
    std::lock_guard lock(mu_);
    EXPECT_LE(held_.size(), 128u);
  }
}

// A client that never opens its window: what the server holds for it ends
// with the idle timeout.
TEST_F(H2Test, AWindowNeverOpenedEndsWithTheIdleTimeout) {
  make_big(4 * 1024 * 1024);
  start(300);
  H2Client c(connect_tcp(server_->port()), nullptr, 0);
  int32_t id = c.request("GET", "/big");
  bool alive = c.run(std::chrono::milliseconds(3000));
  EXPECT_FALSE(alive && c.reply(id).body.size() == big_content_.size());
  auto seen = limits();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "idle_timeout"), seen.end());
}

TEST_F(H2Test, EmptyDataFramesFloodEndsTheConnection) {
  start();
  int fd = connect_tcp(server_->port());
  std::string out(kH2Preface);
  out += frame(NGHTTP2_SETTINGS, 0, 0, "");
  // HEADERS for POST /slow: :method POST (static index 3), :scheme http (6),
  // :path as a literal with the static table's name (4): held by the handler.
  out += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, "\x83\x86" + kAuthorityAndSlow);
  for (int i = 0; i < 500; ++i) out += frame(NGHTTP2_DATA, 0, 1, "");
  send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  bool closed = false;
  auto frames = read_frames(fd, 5000, &closed);
  std::string got;
  for (const Frame& f : frames)
    got += std::to_string(f.type) + "/" + std::to_string(error_code_of(f)) + " ";
  EXPECT_TRUE(closed) << got;
  close(fd);
  auto seen = limits();
  std::string all;
  for (auto& l : seen) all += l + " ";
  EXPECT_NE(std::find(seen.begin(), seen.end(), "h2_flood"), seen.end())
      << got << " limits: " << all;
}

}  // namespace
}  // namespace wok::http
