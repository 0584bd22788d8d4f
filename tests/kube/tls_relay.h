#pragma once
// TLS for the kube tests: a self-signed certificate, and a relay that
// ends TLS in front of a plain server (the scripted API), as a real API
// server's listener would be.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wok::kube::testing {

// A self-signed certificate for 127.0.0.1 and localhost, as PEM files.
inline void make_certificate(const std::string& cert_file, const std::string& key_file,
                             const std::string& cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  ASSERT_NE(cert, nullptr);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  // Written beside and renamed: the server never reads half a file.
  FILE* f = std::fopen((cert_file + ".tmp").c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen((key_file + ".tmp").c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  std::filesystem::rename(key_file + ".tmp", key_file);
  std::filesystem::rename(cert_file + ".tmp", cert_file);
  X509_free(cert);
  EVP_PKEY_free(key);
}

// Accepts TLS on 127.0.0.1 (port 0), relays each connection's bytes to
// and from 127.0.0.1:`backend_port`.
class TlsRelay {
 public:
  ~TlsRelay() { stop(); }
  bool start(const std::string& cert_file, const std::string& key_file, uint16_t backend_port,
             std::string* error) {
    backend_port_ = backend_port;
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx_ || SSL_CTX_use_certificate_file(ctx_, cert_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      *error = "TLS relay: cannot load the certificate";
      return false;
    }
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      *error = "TLS relay: cannot listen";
      return false;
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (!stopping_) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::lock_guard lock(mu_);
        fds_.push_back(fd);
        threads_.emplace_back([this, fd] { relay(fd); });
      }
    });
    return true;
  }
  void stop() {
    if (stopping_.exchange(true) || listen_fd_ < 0) return;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    SSL_CTX_free(ctx_);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

 private:
  void relay(int fd) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    int backend = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(backend_port_);
    if (SSL_accept(ssl) == 1 &&
        ::connect(backend, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      {
        std::lock_guard lock(mu_);
        fds_.push_back(backend);
      }
      char buf[16384];
      while (!stopping_) {
        pollfd p[2] = {{fd, POLLIN, 0}, {backend, POLLIN, 0}};
        if (SSL_pending(ssl) == 0 && ::poll(p, 2, 200) <= 0) continue;
        if (SSL_pending(ssl) > 0 || p[0].revents) {
          int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0 || ::send(backend, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
        }
        if (p[1].revents) {
          ssize_t n = ::recv(backend, buf, sizeof buf, 0);
          if (n <= 0 || SSL_write(ssl, buf, static_cast<int>(n)) != n) break;
        }
      }
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    std::lock_guard lock(mu_);
    ::close(backend);
    ::close(fd);
    std::erase(fds_, fd);
    std::erase(fds_, backend);
  }

  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0, backend_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

}  // namespace wok::kube::testing
