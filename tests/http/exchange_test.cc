// The asynchronous side of http::Server: late answers, streamed bodies,
// 100-continue, body timeouts, bare CR and control characters.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "http/server.h"

namespace wok::http {
namespace {

int connect_to(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  return fd;
}

void send_str(int fd, std::string_view s) { send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

// Reads until `marker` appears or the peer closes / times out.
std::string read_until(int fd, std::string_view marker) {
  std::string out;
  char buf[4096];
  while (out.find(marker) == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class ExchangeTest : public ::testing::Test {
 protected:
  void start(AsyncHandler handler, ServerOptions options = {}) {
    options.threads = 1;
    options.on_limit = [this](const LimitEvent& e) { limits_.push_back(std::string(e.limit)); };
    server_ = std::make_unique<Server>(options, std::move(handler));
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }
  std::unique_ptr<Server> server_;
  std::vector<std::string> limits_;  // written on the loop thread, read after stop
};

TEST_F(ExchangeTest, AnswersLaterFromATimerAndStreamsChunks) {
  start([](Exchange ex) {
    ex.loop().add_timer(20, [ex]() mutable {
      Response head;
      head.set_header("Content-Type", "text/plain");
      ex.start_response(head, -1);
      ex.write("hello ");
      ex.write("world");
      ex.finish();
    });
  });
  int fd = connect_to(server_->port());
  send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r = read_until(fd, "0\r\n\r\n");
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos) << r;
  EXPECT_NE(r.find("6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"), std::string::npos) << r;
  send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");  // still keep-alive
  EXPECT_NE(read_until(fd, "0\r\n\r\n").find("hello"), std::string::npos);
  close(fd);
}

// Cancelled timers' storage is reused by the next ones: a cancelled timer
// never fires, lets go of what its callback holds at once, and the timers
// set after it fire in deadline order.
TEST_F(ExchangeTest, CancelledTimersNeverFireAndTheirStorageIsReused) {
  start([](Exchange ex) {
    Loop& loop = ex.loop();
    auto fired = std::make_shared<std::string>();
    auto held = std::make_shared<int>(0);
    std::weak_ptr<int> watch = held;
    for (int i = 0; i < 50; ++i) {
      uint64_t id = loop.add_timer(10 + i, [held, fired] { *fired += "x"; });
      loop.cancel_timer(id);
    }
    held.reset();
    loop.add_timer(30, [fired] { *fired += "b"; });
    loop.add_timer(10, [fired] { *fired += "a"; });
    uint64_t late = loop.add_timer(5, [fired] { *fired += "late"; });
    loop.cancel_timer(late);
    loop.cancel_timer(late);  // twice is harmless
    loop.add_timer(60, [ex, fired, watch]() mutable {
      Response r;
      r.body = *fired + (watch.expired() ? " released" : " kept");
      ex.respond(std::move(r));
    });
  });
  int fd = connect_to(server_->port());
  send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r = read_until(fd, "released");
  EXPECT_NE(r.find("\r\n\r\nab released"), std::string::npos) << r;
  close(fd);
}

TEST_F(ExchangeTest, AnAnswerGivenDuringDispatchKeepsTheConnection) {
  std::atomic<int> answered{0};
  start([&answered](Exchange ex) {
    Response r;
    r.body = "now";
    ex.respond(std::move(r));  // synchronously, before the request is "read"
    answered++;
  });
  int fd = connect_to(server_->port());
  send_str(fd, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_NE(read_until(fd, "now").find("keep-alive"), std::string::npos);
  send_str(fd, "GET /b HTTP/1.1\r\nHost: a\r\n\r\n");  // the same connection answers again
  EXPECT_NE(read_until(fd, "now").find("200"), std::string::npos);
  EXPECT_EQ(answered.load(), 2);
  close(fd);
}

TEST_F(ExchangeTest, EveryCompletionCallbackRunsInOrder) {
  std::atomic<int> first{0}, second{0};
  start([&](Exchange ex) {
    ex.on_complete([&](const Completion& c) { first = c.status; });
    ex.on_complete([&](const Completion& c) { second = first == c.status ? c.status : -1; });
    Response r;
    r.status = 204;
    ex.respond(std::move(r));
  });
  int fd = connect_to(server_->port());
  send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_NE(read_until(fd, "\r\n\r\n").find("204"), std::string::npos);
  close(fd);
  server_->stop();
  EXPECT_EQ(first.load(), 204);
  EXPECT_EQ(second.load(), 204);
}

TEST_F(ExchangeTest, ExpectContinueIsAnsweredWhenTheBodyIsWanted) {
  start([](Exchange ex) {
    ex.read_body([](Exchange& e) {
      Response r;
      r.body = "len=" + std::to_string(e.request().body.size());
      e.respond(std::move(r));
    });
  });
  int fd = connect_to(server_->port());
  send_str(fd, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  std::string interim = read_until(fd, "\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  send_str(fd, "hello");
  EXPECT_NE(read_until(fd, "len=5").find("len=5"), std::string::npos);
  close(fd);
}

TEST_F(ExchangeTest, StalledBodyGets408) {
  ServerOptions options;
  options.body_timeout_ms = 100;
  start([](Exchange ex) { ex.read_body([](Exchange& e) { e.respond(Response{}); }); }, options);
  int fd = connect_to(server_->port());
  send_str(fd, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly a little");
  std::string r = read_until(fd, "\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 408"), std::string::npos) << r;
  close(fd);
  server_->stop();
  EXPECT_NE(std::find(limits_.begin(), limits_.end(), "body_timeout"), limits_.end());
}

TEST_F(ExchangeTest, StreamedBodyArrivesInPiecesWithBackPressure) {
  auto total = std::make_shared<size_t>(0);
  start(
      [total](Exchange ex) {
        ex.stream_body([ex, total](std::string_view piece, bool last) mutable {
          *total += piece.size();
          // Pause after each piece and resume later: the body must still all arrive.
          ex.pause_body();
          ex.loop().defer([ex]() mutable { ex.resume_body(); });
          if (last) {
            Response r;
            r.body = std::to_string(*total);
            ex.respond(std::move(r));
          }
        });
      },
      {.max_body_bytes = 8 << 20});
  int fd = connect_to(server_->port());
  std::string body(4 << 20, 'x');
  send_str(fd, "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\n\r\n");
  size_t off = 0;
  while (off < body.size()) {
    ssize_t n = send(fd, body.data() + off, body.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  EXPECT_NE(read_until(fd, "4194304").find("4194304"), std::string::npos);
  close(fd);
}

TEST_F(ExchangeTest, ClientGoneIsReported) {
  auto aborted = std::make_shared<std::atomic<bool>>(false);
  start([aborted](Exchange ex) {
    ex.on_abort([aborted] { aborted->store(true); });
  });  // never answers
  int fd = connect_to(server_->port());
  send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  usleep(50'000);
  close(fd);
  for (int i = 0; i < 500 && !aborted->load(); ++i) usleep(10'000);
  EXPECT_TRUE(aborted->load());
}

TEST_F(ExchangeTest, BareCrAndControlCharactersAreRefused) {
  start([](Exchange ex) { ex.respond(Response{}); });
  for (std::string bad : {std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),
                          std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n"),
                          std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\0z\r\n\r\n", 33)}) {
    int fd = connect_to(server_->port());
    send_str(fd, bad);
    std::string r = read_until(fd, "\r\n\r\n");
    EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << r;
    close(fd);
  }
}

}  // namespace
}  // namespace wok::http
