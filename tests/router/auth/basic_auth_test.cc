// spec.access.basicAuth at the router: htpasswd parsing, bcrypt and argon2
// checks, and a real server where the password is checked off the loop,
// remembered, and never handed to the site.
#include "router/auth/basic_auth.h"

#include <argon2.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "http/server.h"
#include "router/loopback_client.h"
#include "router/router.h"

namespace wok::router {
namespace {

using test_support::connect_tcp;
using test_support::read_response;
using test_support::send_all;

// htpasswd -nbB -C 5 alice wonderland
constexpr const char* kAliceBcrypt = "$2y$05$jWwFy5oo/qckWiLrYSODROkJsefgoFIxJ3lQO4nZjA1BlOIJ8qpqK";

std::string argon2_of(const std::string& password) {
  char encoded[256];
  const char salt[] = "wok-test-salt-16";
  EXPECT_EQ(argon2id_hash_encoded(2, 1 << 12, 1, password.data(), password.size(), salt, 16, 32,
                                  encoded, sizeof encoded),
            ARGON2_OK);
  return encoded;
}

TEST(BasicAuth, HtpasswdTakesBcryptAndArgon2AndRefusesWeakHashes) {
  std::string error;
  std::string argon = argon2_of("pw");
  auto users = parse_htpasswd(
      std::string("# team\nalice:") + kAliceBcrypt + "\r\n\nbob:" + argon + "\n", &error);
  ASSERT_TRUE(users) << error;
  EXPECT_EQ(users->size(), 2u);
  EXPECT_EQ(users->at("bob"), argon);
  EXPECT_FALSE(parse_htpasswd("carol:$apr1$abc$defghijklmnopqrstuvwx.\n", &error));
  EXPECT_NE(error.find("line 1 (carol): not a bcrypt or argon2 hash"), std::string::npos) << error;
  EXPECT_FALSE(parse_htpasswd("dave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", &error));
  EXPECT_FALSE(parse_htpasswd(std::string("a:") + kAliceBcrypt + "\na:" + kAliceBcrypt, &error));
  EXPECT_NE(error.find("line 2: user a appears twice"), std::string::npos) << error;
  EXPECT_FALSE(parse_htpasswd("no colon here", &error));
  // A hash whose check would stall the shared pool (or take its memory).
  std::string slow = kAliceBcrypt;
  slow.replace(4, 2, "13");
  EXPECT_FALSE(parse_htpasswd("eve:" + slow, &error));
  EXPECT_NE(error.find("bcrypt cost 13 is over 12"), std::string::npos) << error;
  EXPECT_FALSE(parse_htpasswd("eve:$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHQ$aGFzaA", &error));
  EXPECT_NE(error.find("is over m=65536"), std::string::npos) << error;
  EXPECT_FALSE(verify_password(slow, "wonderland")) << "never run, even if asked";
}

TEST(BasicAuth, PasswordsAreVerifiedAgainstEitherHash) {
  EXPECT_TRUE(verify_password(kAliceBcrypt, "wonderland"));
  EXPECT_FALSE(verify_password(kAliceBcrypt, "wonderlanD"));
  EXPECT_FALSE(verify_password(kAliceBcrypt, ""));
  std::string argon = argon2_of("s3cret");
  EXPECT_TRUE(verify_password(argon, "s3cret"));
  EXPECT_FALSE(verify_password(argon, "s3cre"));
  EXPECT_FALSE(verify_password("plain", "plain"));
}

TEST(BasicAuth, AuthorizationHeadersAndExemptPaths) {
  std::string user, password;
  EXPECT_TRUE(parse_basic_authorization("Basic YWxpY2U6d29uZGVyOmxhbmQ=", &user, &password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "wonder:land");  // a password may hold colons
  EXPECT_TRUE(parse_basic_authorization("basic   YWxpY2U6", &user, &password));
  EXPECT_EQ(password, "");
  EXPECT_FALSE(parse_basic_authorization("Bearer abc", &user, &password));
  EXPECT_FALSE(parse_basic_authorization("Basic !!!!", &user, &password));
  EXPECT_FALSE(parse_basic_authorization("Basic YWxpY2U=", &user, &password));  // no colon
  std::vector<std::string> exempt = {"/.well-known/", "/healthz"};
  EXPECT_TRUE(path_exempt(exempt, "/.well-known/acme-challenge/x"));
  EXPECT_FALSE(path_exempt(exempt, "/.well-known"));
  EXPECT_TRUE(path_exempt(exempt, "/healthz"));
  EXPECT_TRUE(path_exempt(exempt, "/healthz/deep"));
  EXPECT_FALSE(path_exempt(exempt, "/healthzz"));
  EXPECT_FALSE(path_exempt(exempt, "/"));
  // What an application behind could resolve out of the exempt prefix is
  // never exempt: the login is asked.
  for (const char* bypass :
       {"/.well-known/../admin", "/.well-known/%2e%2e/admin", "/.well-known/%2E%2E/admin",
        "/.well-known/..;/admin", "/healthz/./../admin", "/healthz/..", "/.well-known/x%2fy",
        "/.well-known/x%5c..%5cadmin", "/.well-known/x\\..\\admin", "/healthz/.;/x"})
    EXPECT_FALSE(path_exempt(exempt, bypass)) << bypass;
  EXPECT_TRUE(path_exempt(exempt, "/.well-known/a.b/.c"));  // dots inside names are fine
}

class RouterLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("wok-login-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(root_ / "healthz");
    std::ofstream(root_ / "index.html") << "members only";
    std::ofstream(root_ / "healthz" / "index.html") << "ok";
    auto table = std::make_shared<RouteTable>();
    auto route = std::make_shared<Route>();
    route->project = "team-a";
    route->site = "intranet";
    route->root = root_.string();
    auto login = std::make_shared<BasicAuth>();
    login->realm = "Team A";
    login->users = {{"alice", kAliceBcrypt}};
    login->exempt = {"/healthz"};
    route->basic_auth = login;
    table->add("intranet.example", route);
    router_.set_table(table);
    http::ServerOptions options;
    options.threads = 1;
    server_ = std::make_unique<http::Server>(
        options, [this](http::Exchange ex) { router_.serve(std::move(ex)); });
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }
  void TearDown() override {
    server_->stop(0);
    std::filesystem::remove_all(root_);
  }
  std::string get(const std::string& path, const std::string& authorization = "") {
    int fd = connect_tcp(server_->port());
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: intranet.example\r\n";
    if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
    send_all(fd, request + "Connection: close\r\n\r\n");
    std::string buffer, body;
    std::string head = read_response(fd, &buffer, &body);
    close(fd);
    return head + body;
  }
  static inline int counter_ = 0;
  std::filesystem::path root_;
  Router router_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(RouterLoginTest, NoOrWrongCredentialsGet401AndTheRightOnesTheSite) {
  std::string r = get("/");
  EXPECT_NE(r.find("HTTP/1.1 401"), std::string::npos) << r;
  EXPECT_NE(r.find("WWW-Authenticate: Basic realm=\"Team A\", charset=\"UTF-8\""),
            std::string::npos)
      << r;
  EXPECT_EQ(r.find("members only"), std::string::npos);
  r = get("/", "Basic YWxpY2U6d3Jvbmc=");  // alice:wrong
  EXPECT_NE(r.find("HTTP/1.1 401"), std::string::npos) << r;
  r = get("/", "Basic bWFsbG9yeTp3b25kZXJsYW5k");  // mallory:wonderland
  EXPECT_NE(r.find("HTTP/1.1 401"), std::string::npos) << r;
  r = get("/", "Basic YWxpY2U6d29uZGVybGFuZA==");  // alice:wonderland
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_NE(r.find("members only"), std::string::npos) << r;
  // An exempt path needs nothing.
  r = get("/healthz/");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
}

TEST_F(RouterLoginTest, AVerifiedPasswordIsRememberedNotHashedAgain) {
  // The router's checker is created on first use: count from there.
  ASSERT_NE(get("/", "Basic YWxpY2U6d29uZGVybGFuZA==").find("HTTP/1.1 200"), std::string::npos);
  // Each hash costs real CPU; the cache answers the next requests.
  for (int i = 0; i < 20; ++i)
    ASSERT_NE(get("/", "Basic YWxpY2U6d29uZGVybGFuZA==").find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(router_.password_checks(), 1u);
  // A wrong password is never remembered: each try is checked.
  get("/", "Basic YWxpY2U6d3Jvbmc=");
  get("/", "Basic YWxpY2U6d3Jvbmc=");
  EXPECT_EQ(router_.password_checks(), 3u);
}

// The site behind the login (a proxied app) learns who logged in, never
// the password, and never a user name a client made up, exempt paths
// included.
TEST_F(RouterLoginTest, TheAppGetsTheUserNotThePasswordNorAForgedUser) {
  uint16_t upstream_port = 0;
  int lfd = test_support::listen_loopback(&upstream_port);
  std::vector<std::string> heads;
  std::thread upstream([lfd, &heads] {
    for (int i = 0; i < 2; ++i) {
      int fd = accept(lfd, nullptr, nullptr);
      if (fd < 0) return;
      heads.push_back(test_support::read_head(fd));
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
      close(fd);
    }
  });
  auto table = std::make_shared<RouteTable>(*router_.table());
  auto route = std::make_shared<Route>(*table->find("intranet.example"));
  route->upstream = std::make_shared<UpstreamPool>(
      std::vector<UpstreamAddress>{{"127.0.0.1", upstream_port, "", ""}});
  table->add("intranet.example", route);
  router_.set_table(table);
  int fd = connect_tcp(server_->port());
  send_all(fd,
           "GET / HTTP/1.1\r\nHost: intranet.example\r\nX-Forwarded-User: root\r\n"
           "Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\nConnection: close\r\n\r\n");
  std::string buffer;
  EXPECT_NE(read_response(fd, &buffer).find("HTTP/1.1 200"), std::string::npos);
  close(fd);
  fd = connect_tcp(server_->port());
  send_all(fd,
           "GET /healthz HTTP/1.1\r\nHost: intranet.example\r\nX-Forwarded-User: root\r\n"
           "Connection: close\r\n\r\n");
  buffer.clear();
  EXPECT_NE(read_response(fd, &buffer).find("HTTP/1.1 200"), std::string::npos);
  close(fd);
  upstream.join();
  close(lfd);
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_NE(heads[0].find("X-Forwarded-User: alice\r\n"), std::string::npos) << heads[0];
  EXPECT_EQ(heads[0].find("root"), std::string::npos) << heads[0];
  EXPECT_EQ(heads[0].find("Authorization"), std::string::npos) << heads[0];
  EXPECT_EQ(heads[1].find("X-Forwarded-User"), std::string::npos) << heads[1];
}

TEST_F(RouterLoginTest, AnUnreadableSecretClosesTheSite) {
  auto table = std::make_shared<RouteTable>(*router_.table());
  auto route = std::make_shared<Route>(*table->find("intranet.example"));
  auto login = std::make_shared<BasicAuth>(*route->basic_auth);
  login->error = "secret gone";
  route->basic_auth = login;
  table->add("intranet.example", route);
  router_.set_table(table);
  std::string r = get("/", "Basic YWxpY2U6d29uZGVybGFuZA==");
  EXPECT_NE(r.find("HTTP/1.1 401"), std::string::npos) << r;
}

}  // namespace
}  // namespace wok::router
