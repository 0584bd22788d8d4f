// The event loop's TLS: real handshakes from an OpenSSL client over
// loopback, the certificate picked by SNI, ALPN, resumption by ticket,
// large files and pipelined requests through SSL_write, and the refusals
// (a name with no certificate, a client that never finishes its handshake).
#include "http/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "certs/certificate.h"
#include "http/server.h"
#include "router/loopback_client.h"
#include "support/temp_dir.h"

namespace wok::http {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

using router::test_support::connect_tcp;

// A blocking TLS client that verifies the server against `ca_pem` for `sni`.
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& ca_pem, const std::string& sni,
            const std::vector<std::string>& alpn = {"http/1.1"}, SSL_SESSION* resume = nullptr,
            int max_version = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (max_version) SSL_CTX_set_max_proto_version(ctx_, max_version);
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    BIO_free(bio);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    fd_ = connect_tcp(port);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (!sni.empty()) {
      SSL_set_tlsext_host_name(ssl_, sni.c_str());
      SSL_set1_host(ssl_, sni.c_str());
    }
    std::string wire = alpn_wire(alpn);
    if (!wire.empty()) {
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
    if (resume) SSL_set_session(ssl_, resume);
    connected_ = SSL_connect(ssl_) == 1;
    if (!connected_) {
      unsigned long e = ERR_get_error();
      char buf[256] = "";
      if (e) ERR_error_string_n(e, buf, sizeof buf);
      error_ = buf;
    }
    ERR_clear_error();
  }
  ~TlsClient() {
    // A session left without close_notify is not resumable (OpenSSL drops it).
    if (connected_) SSL_shutdown(ssl_);
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  SSL* ssl() { return ssl_; }

  void send(std::string_view data) {
    size_t n = 0;
    SSL_write_ex(ssl_, data.data(), data.size(), &n);
  }
  // One response with a Content-Length body.
  std::string read_response() {
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!fill()) return std::exchange(buffer_, {});
    }
    size_t head_end = buffer_.find("\r\n\r\n") + 4;
    size_t length = 0;
    size_t cl = buffer_.find("Content-Length: ");
    if (cl != std::string::npos && cl < head_end) {
      length = std::strtoul(buffer_.c_str() + cl + 16, nullptr, 10);
    }
    while (buffer_.size() < head_end + length) {
      if (!fill()) break;
    }
    std::string response = buffer_.substr(0, std::min(buffer_.size(), head_end + length));
    buffer_.erase(0, response.size());
    return response;
  }
  // The session to resume with (TLS 1.3 sends its ticket after the
  // handshake: read a response first).
  SSL_SESSION* session() { return SSL_get1_session(ssl_); }

 private:
  bool fill() {
    char buf[16384];
    size_t n = 0;
    if (SSL_read_ex(ssl_, buf, sizeof buf, &n) != 1) return false;
    buffer_.append(buf, n);
    return true;
  }
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
  std::string buffer_;
};

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ca_ = certs::LocalCa::open(dir_.path / "ca", &error);
    ASSERT_TRUE(ca_) << error;
    add_certificate({"a.test", "*.a.test"});
    add_certificate({"b.test"});
  }
  void TearDown() override {
    if (server_) server_->stop(0);
  }

  void add_certificate(const std::vector<std::string>& hosts) {
    std::string error;
    auto issued = ca_->issue(hosts, 30, &error);
    ASSERT_TRUE(issued) << error;
    SslContext ctx = make_certificate_context(issued->certificate_pem, issued->key_pem, &error);
    ASSERT_TRUE(ctx) << error;
    std::lock_guard lock(mu_);
    for (const auto& h : hosts) contexts_[h] = ctx;
  }

  void start(std::vector<std::string> alpn = {"http/1.1"}, int header_timeout_ms = 15000) {
    std::string error;
    auto acceptor = TlsAcceptor::create(
        [this](std::string_view name) -> SslContext {
          std::lock_guard lock(mu_);
          auto it = contexts_.find(std::string(name));
          if (it == contexts_.end() && name.find('.') != std::string_view::npos) {
            it = contexts_.find("*" + std::string(name.substr(name.find('.'))));
          }
          return it == contexts_.end() ? nullptr : it->second;
        },
        std::move(alpn), &error);
    ASSERT_TRUE(acceptor) << error;
    ServerOptions options;
    options.threads = 2;
    options.tls = acceptor;
    options.header_timeout_ms = header_timeout_ms;
    options.on_limit = [this](const LimitEvent& e) {
      std::lock_guard lock(mu_);
      limits_.emplace_back(e.limit);
    };
    server_ = std::make_unique<Server>(options, [this](Exchange ex) {
      const Request& r = ex.request();
      Response response;
      if (r.path == "/big") {
        int fd = open(big_.c_str(), O_RDONLY | O_CLOEXEC);
        response.file_fd = fd;
        response.file_length = static_cast<size_t>(fs::file_size(big_));
      } else {
        response.body = std::string(r.tls ? "tls " : "plain ") + std::string(r.header("Host"));
      }
      ex.add_response_header("Strict-Transport-Security", "max-age=60");
      ex.respond(std::move(response));
    });
    ASSERT_TRUE(server_->start(&error)) << error;
  }

  std::vector<std::string> limits() {
    std::lock_guard lock(mu_);
    return limits_;
  }

  TempDir dir_;
  std::unique_ptr<certs::LocalCa> ca_;
  std::mutex mu_;
  std::map<std::string, SslContext> contexts_;
  std::vector<std::string> limits_;
  std::unique_ptr<Server> server_;
  fs::path big_;
};

TEST_F(TlsServerTest, ServesOverTlsWithTheCertificateTheNameAsksFor) {
  start();
  for (std::string host : {"a.test", "www.a.test", "b.test"}) {
    TlsClient client(server_->port(), ca_->certificate_pem(), host);
    ASSERT_TRUE(client.connected()) << host << ": " << client.error();
    client.send("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    std::string response = client.read_response();
    EXPECT_NE(response.find("HTTP/1.1 200 OK"), std::string::npos) << response;
    EXPECT_NE(response.find("tls " + host), std::string::npos) << response;
    EXPECT_NE(response.find("Strict-Transport-Security: max-age=60"), std::string::npos);
    EXPECT_EQ(TlsAcceptor::negotiated_protocol(client.ssl()), "http/1.1");
  }
}

TEST_F(TlsServerTest, ANameWithNoCertificateIsRefusedInTheHandshake) {
  start();
  TlsClient client(server_->port(), ca_->certificate_pem(), "c.test");
  EXPECT_FALSE(client.connected());
  TlsClient no_sni(server_->port(), ca_->certificate_pem(), "");
  EXPECT_FALSE(no_sni.connected());
  // A name with a certificate still works after the refusals.
  TlsClient ok(server_->port(), ca_->certificate_pem(), "b.test");
  EXPECT_TRUE(ok.connected()) << ok.error();
}

TEST_F(TlsServerTest, ACertificateAddedLaterIsUsedWithoutARestart) {
  start();
  EXPECT_FALSE(TlsClient(server_->port(), ca_->certificate_pem(), "new.test").connected());
  add_certificate({"new.test"});
  TlsClient client(server_->port(), ca_->certificate_pem(), "new.test");
  EXPECT_TRUE(client.connected()) << client.error();
}

TEST_F(TlsServerTest, TlsTwelveAndThirteenBothWork) {
  start();
  TlsClient v12(server_->port(), ca_->certificate_pem(), "a.test", {"http/1.1"}, nullptr,
                TLS1_2_VERSION);
  ASSERT_TRUE(v12.connected()) << v12.error();
  EXPECT_EQ(SSL_version(v12.ssl()), TLS1_2_VERSION);
  TlsClient v13(server_->port(), ca_->certificate_pem(), "a.test");
  ASSERT_TRUE(v13.connected()) << v13.error();
  EXPECT_EQ(SSL_version(v13.ssl()), TLS1_3_VERSION);
}

TEST_F(TlsServerTest, ASessionResumesByTicketAcrossConnections) {
  start();
  SSL_SESSION* session = nullptr;
  {
    TlsClient first(server_->port(), ca_->certificate_pem(), "a.test");
    ASSERT_TRUE(first.connected()) << first.error();
    first.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    first.read_response();
    EXPECT_FALSE(SSL_session_reused(first.ssl()));
    session = first.session();
  }
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(SSL_SESSION_has_ticket(session));
  TlsClient second(server_->port(), ca_->certificate_pem(), "a.test", {"http/1.1"}, session);
  SSL_SESSION_free(session);
  ASSERT_TRUE(second.connected()) << second.error();
  EXPECT_TRUE(SSL_session_reused(second.ssl()));
}

TEST_F(TlsServerTest, AlpnWithoutHttp11GoesOnWithoutAProtocol) {
  start();
  TlsClient client(server_->port(), ca_->certificate_pem(), "a.test", {"spdy/3"});
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(TlsAcceptor::negotiated_protocol(client.ssl()), "");
}

TEST_F(TlsServerTest, ALargeFileAndPipelinedRequestsArriveWhole) {
  big_ = dir_.path / "big";
  std::string content;
  for (int i = 0; content.size() < 3 * 1024 * 1024 + 17; ++i) content += std::to_string(i) + ",";
  {
    FILE* f = fopen(big_.c_str(), "w");
    fwrite(content.data(), 1, content.size(), f);
    fclose(f);
  }
  start();
  TlsClient client(server_->port(), ca_->certificate_pem(), "a.test");
  ASSERT_TRUE(client.connected()) << client.error();
  client.send(
      "GET /big HTTP/1.1\r\nHost: a.test\r\n\r\nGET /x HTTP/1.1\r\nHost: a.test\r\n\r\n"
      "GET /big HTTP/1.1\r\nHost: a.test\r\n\r\n");
  for (int i = 0; i < 3; ++i) {
    std::string response = client.read_response();
    size_t body = response.find("\r\n\r\n") + 4;
    if (i == 1) {
      EXPECT_EQ(response.substr(body), "tls a.test");
    } else {
      ASSERT_EQ(response.size() - body, content.size()) << i;
      EXPECT_TRUE(response.compare(body, std::string::npos, content) == 0) << i;
    }
  }
}

TEST_F(TlsServerTest, AClientThatNeverFinishesItsHandshakeIsDropped) {
  start({"http/1.1"}, 300);
  int fd = connect_tcp(server_->port());
  ASSERT_GE(fd, 0);
  const char partial[] = "\x16\x03\x01\x00\x10";  // a record header, then nothing
  ::send(fd, partial, sizeof partial - 1, MSG_NOSIGNAL);
  char c;
  ssize_t n = recv(fd, &c, 1, 0);  // the server closes (the test's 5 s timeout otherwise)
  EXPECT_LE(n, 0);
  EXPECT_NE(errno, EAGAIN);
  close(fd);
  auto seen = limits();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "tls_handshake_timeout"), seen.end());
}

// A tenant's certificate cannot make every handshake expensive for the
// sites sharing the router, nor be weak.
TEST(TlsCertificateContext, KeysEveryHandshakeCanAffordOnly) {
  auto pem_of = [](EVP_PKEY* key, X509** cert_out) {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("x.test"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(b);
    *cert_out = cert;
    return out;
  };
  auto key_pem = [](EVP_PKEY* key) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(b);
    return out;
  };
  struct Case {
    EVP_PKEY* key;
    const char* expect;  // "" to load
  };
  std::vector<Case> cases = {{EVP_RSA_gen(2048), ""},
                             {EVP_EC_gen("P-384"), ""},
                             {EVP_RSA_gen(1024), "RSA 1024 bits: 2048 to 4096 only"},
                             {EVP_RSA_gen(4608), "RSA 4608 bits: 2048 to 4096 only"},
                             {EVP_EC_gen("secp521r1"), "curve secp521r1: P-256 or P-384 only"}};
  for (const Case& c : cases) {
    ASSERT_NE(c.key, nullptr);
    X509* cert = nullptr;
    std::string chain = pem_of(c.key, &cert);
    std::string error;
    SslContext ctx = make_certificate_context(chain, key_pem(c.key), &error);
    if (std::string(c.expect).empty()) {
      EXPECT_TRUE(ctx) << error;
    } else {
      EXPECT_FALSE(ctx);
      EXPECT_NE(error.find(c.expect), std::string::npos) << error;
    }
    // And a chain of certificates without end.
    if (std::string(c.expect).empty() && EVP_PKEY_is_a(c.key, "EC")) {
      std::string long_chain = chain;
      for (int i = 0; i < 9; ++i) long_chain += chain;
      EXPECT_FALSE(make_certificate_context(long_chain, key_pem(c.key), &error));
      EXPECT_NE(error.find("more than 8 certificates"), std::string::npos) << error;
    }
    X509_free(cert);
    EVP_PKEY_free(c.key);
  }
}

TEST_F(TlsServerTest, PlainHttpOnTheTlsPortIsAFailedHandshake) {
  start();
  int fd = connect_tcp(server_->port());
  std::string request = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  EXPECT_LE(n, 7) << "no HTTP answer over a TLS port";  // at most an alert
  close(fd);
}

}  // namespace
// What a session writes waits in its TlsOutput until the connection sends
// it: the handshake flight in one send, no ticket at the end of the
// handshake, then the ticket with the first answer; a record larger than
// what is held goes out at once, and a full socket makes OpenSSL retry
// (nothing is lost or reordered). Driven by hand over a socketpair, so
// that what reached the client is known at every step.
TEST_F(TlsServerTest, ASessionsWritesLeaveTogetherWhenTheConnectionSendsThem) {
  std::string error;
  auto acceptor = TlsAcceptor::create(
      [this](std::string_view) {
        std::lock_guard lock(mu_);
        return contexts_["a.test"];
      },
      {"http/1.1"}, &error);
  ASSERT_TRUE(acceptor) << error;
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  int small = 64 * 1024;  // a socket that fills before 256 KiB of records
  setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  bool short_read = false;
  TlsOutput out;
  SSL* server = acceptor->accept(fds[0], &short_read, &out);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(out.fd, fds[0]);

  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL* client = SSL_new(client_ctx);
  SSL_set_fd(client, fds[1]);
  SSL_set_tlsext_host_name(client, "a.test");
  auto client_can_read = [&] {
    char c;
    return recv(fds[1], &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
  };
  char buf[4096];
  size_t got = 0;

  EXPECT_EQ(SSL_connect(client), -1);  // its ClientHello; waits for ours
  short_read = false;                  // an edge: the ClientHello arrived
  EXPECT_EQ(SSL_read_ex(server, buf, sizeof buf, &got), 0);
  EXPECT_EQ(SSL_get_error(server, 0), SSL_ERROR_WANT_READ);
  EXPECT_GT(out.pending(), 1000u) << "the flight (hello, certificate, finished) is held";
  EXPECT_FALSE(client_can_read()) << "nothing was sent before send_tls_output";
  ASSERT_TRUE(send_tls_output(out));
  EXPECT_EQ(out.pending(), 0u);
  ASSERT_EQ(SSL_connect(client), 1);
  EXPECT_STREQ(SSL_get_cipher_name(client), "TLS_AES_128_GCM_SHA256");

  // The client's Finished is there, but the server's last read was short:
  // until the connection sees an EPOLLIN edge (and clears the flag), a
  // read says "want read" without reading the socket.
  EXPECT_TRUE(short_read);
  EXPECT_EQ(SSL_read_ex(server, buf, sizeof buf, &got), 0);
  EXPECT_EQ(SSL_get_error(server, 0), SSL_ERROR_WANT_READ);
  EXPECT_FALSE(SSL_is_init_finished(server));
  // The edge: the handshake ends, and no ticket is written.
  short_read = false;
  EXPECT_EQ(SSL_read_ex(server, buf, sizeof buf, &got), 0);
  EXPECT_TRUE(SSL_is_init_finished(server));
  EXPECT_EQ(out.pending(), 0u) << "a ticket was written at the end of the handshake";

  // The first answer brings the ticket along, in one send.
  ask_tls_ticket(server);
  size_t written = 0;
  ASSERT_EQ(SSL_write_ex(server, "answer", 6, &written), 1);
  size_t held = out.pending();
  EXPECT_GT(held, 6u + 22u + 100u) << "the ticket's record and the answer's, held together";
  ASSERT_TRUE(send_tls_output(out));
  ASSERT_EQ(SSL_read_ex(client, buf, sizeof buf, &got), 1);
  EXPECT_EQ(std::string(buf, got), "answer");
  SSL_SESSION* session = SSL_get1_session(client);
  EXPECT_TRUE(SSL_SESSION_has_ticket(session));
  SSL_SESSION_free(session);

  // 256 KiB through a 64 KiB socket: records go out as they are made;
  // when the socket is full, SSL_write says "want write", and after the
  // client read, the same call goes on. Every byte arrives, in order.
  std::string big(256 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  std::string received;
  int retries = 0;
  auto client_reads = [&] {
    for (;;) {
      size_t n = 0;
      if (SSL_read_ex(client, buf, sizeof buf, &n) != 1) break;
      received.append(buf, n);
    }
    ERR_clear_error();
  };
  SSL_set_mode(client, SSL_MODE_AUTO_RETRY);
  for (;;) {
    if (SSL_write_ex(server, big.data(), big.size(), &written) == 1) break;
    ASSERT_EQ(SSL_get_error(server, 0), SSL_ERROR_WANT_WRITE);
    ++retries;
    ASSERT_LT(retries, 1000);
    client_reads();
    ASSERT_TRUE(send_tls_output(out));
  }
  ASSERT_TRUE(send_tls_output(out));
  while (received.size() < big.size()) {
    size_t before = received.size();
    client_reads();
    ASSERT_TRUE(send_tls_output(out));
    if (received.size() == before && out.pending() == 0) break;
  }
  EXPECT_GT(retries, 0) << "the socket never filled: the retry path was not exercised";
  EXPECT_EQ(received.size(), big.size());
  EXPECT_TRUE(received == big) << "bytes lost or out of order";

  SSL_free(client);
  SSL_CTX_free(client_ctx);
  SSL_free(server);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace wok::http
