#include "kube/tls_certificate.h"

#include <openssl/err.h>
#include <spdlog/spdlog.h>

namespace wok::kube {
namespace {

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

}  // namespace

TlsCertificate::TlsCertificate(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

TlsCertificate::Stamp TlsCertificate::stamp_of(const std::string& file) {
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) return {};
  return {st.st_dev, st.st_ino, st.st_size,
          int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

SslContext TlsCertificate::build(std::string* error) const {
  ERR_clear_error();
  SslContext ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) {
    *error = openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // One request at a time from the API server: no session cache to grow.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file_.c_str()) != 1) {
    *error = "certificate " + cert_file_ + ": " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file_.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "key " + key_file_ + ": " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    *error =
        "key " + key_file_ + " does not match certificate " + cert_file_ + ": " + openssl_error();
    return nullptr;
  }
  return ctx;
}

bool TlsCertificate::load(std::string* error) {
  std::lock_guard lock(mu_);
  Stamp cert = stamp_of(cert_file_), key = stamp_of(key_file_);
  SslContext ctx = build(error);
  if (!ctx) return false;
  context_ = std::move(ctx);
  cert_stamp_ = cert;
  key_stamp_ = key;
  ++loads_;
  return true;
}

SslContext TlsCertificate::current() {
  std::lock_guard lock(mu_);
  Stamp cert = stamp_of(cert_file_), key = stamp_of(key_file_);
  if (cert == cert_stamp_ && key == key_stamp_) return context_;
  std::string error;
  SslContext ctx = build(&error);
  // Stamped either way: a bad pair is tried again when a file changes again,
  // not at every connection.
  cert_stamp_ = cert;
  key_stamp_ = key;
  if (!ctx) {
    spdlog::warn("webhook certificate not reloaded, the last one stays: {}", error);
    return context_;
  }
  spdlog::info("webhook certificate reloaded from {}", cert_file_);
  context_ = std::move(ctx);
  ++loads_;
  return context_;
}

uint64_t TlsCertificate::loads() const {
  std::lock_guard lock(mu_);
  return loads_;
}

}  // namespace wok::kube
