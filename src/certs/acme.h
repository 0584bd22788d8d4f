#pragma once
// An ACME client (RFC 8555) for certificates of public host names: one
// account per platform (its key kept 0600 in the data directory), one order
// per site for all its hosts, HTTP-01 challenges answered by the router
// itself (HttpChallenges), ES256 signatures, bad nonces retried, and the
// CA's Retry-After honoured. Blocking: run it off the loops and the
// reconcile workers (certs/... SiteCertificates runs it on its own thread).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs/certificate.h"

namespace wok::certs {

// Tokens of pending HTTP-01 challenges and their key authorizations, as the
// router answers them at /.well-known/acme-challenge/TOKEN. Thread-safe.
class HttpChallenges {
 public:
  void put(const std::string& token, const std::string& key_authorization);
  void remove(const std::string& token);
  std::optional<std::string> get(std::string_view token) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> tokens_;
};

struct AcmeOptions {
  std::string directory_url;  // https://acme-v02.api.letsencrypt.org/directory
  std::string email;          // the account's contact; "" for none
  std::string ca_file;        // trust for the CA's own HTTPS ("": the system's)
  std::string account_key_path;
  int64_t timeout_s = 120;  // one order, from new order to certificate
};

struct AcmeFailure {
  std::string message;
  int64_t retry_after_s = 0;  // what the CA asked (rate limits); 0: unsaid
};

// What orders a certificate for hosts: an ACME CA (AcmeClient), or a test's
// stand-in.
class CertificateOrderer {
 public:
  virtual ~CertificateOrderer() = default;
  // One order for `hosts`; the certificate (with its chain) and its new key,
  // or nullopt with *failure. Blocking.
  virtual std::optional<Issued> order(const std::vector<std::string>& hosts,
                                      AcmeFailure* failure) = 0;
};

class AcmeClient final : public CertificateOrderer {
 public:
  AcmeClient(AcmeOptions options, HttpChallenges& challenges);
  ~AcmeClient() override;
  AcmeClient(const AcmeClient&) = delete;
  AcmeClient& operator=(const AcmeClient&) = delete;

  // One order for `hosts`; the certificate (with its chain) and its new key,
  // or nullopt with *failure.
  std::optional<Issued> order(const std::vector<std::string>& hosts, AcmeFailure* failure) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wok::certs
