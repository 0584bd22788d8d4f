#pragma once
// X.509 certificates as the platform handles them: what a PEM certificate
// says (its host names, issuer, validity), new keys, and a local
// certificate authority that wok up keeps in its data directory to serve
// HTTPS to development hosts (*.localhost) from the first minute, the way
// Caddy's internal issuer does. ACME (certs/acme.h) is for public names.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wok::certs {

struct CertificateInfo {
  std::vector<std::string> hosts;  // DNS names of subjectAltName (wildcards kept)
  std::string subject;             // one line, "CN=..."
  std::string issuer;              // the issuer's common name, or its one-line name
  int64_t not_before = 0;          // Unix seconds
  int64_t not_after = 0;
  std::string serial;  // hex
};

// The first certificate of a PEM chain; nullopt with *error when there is none.
std::optional<CertificateInfo> read_certificate(std::string_view pem, std::string* error);
// Unix seconds as RFC 3339 ("2026-12-03T11:00:00Z").
std::string rfc3339(int64_t unix_seconds);
// Whether `names` (from a certificate) cover `host`: an exact name, or a
// wildcard "*.a.b" covering one label more than "a.b".
bool covers(const std::vector<std::string>& names, std::string_view host);

// A whole file's bytes; false when it cannot be read.
bool read_file(const std::string& path, std::string* out);
// Writes `data` whole or not at all (a temporary renamed into place), with
// `mode`, never following a symlink; false with *error naming the file.
bool write_file(const std::string& path, const std::string& data, unsigned mode,
                std::string* error);

// A new ECDSA P-256 private key, PEM (PKCS#8).
std::string generate_key_pem();

struct Issued {
  std::string certificate_pem;  // the leaf, then the CA
  std::string key_pem;
  CertificateInfo info;
};

class LocalCa {
 public:
  // The CA kept in `dir` (ca.crt, ca.key, the key 0600), made on first use;
  // null with *error when it cannot be read or written.
  static std::unique_ptr<LocalCa> open(const std::string& dir, std::string* error);
  ~LocalCa();
  LocalCa(const LocalCa&) = delete;
  LocalCa& operator=(const LocalCa&) = delete;

  const std::string& certificate_pem() const { return cert_pem_; }
  std::string certificate_path() const { return dir_ + "/ca.crt"; }
  // A server certificate for `hosts` (exact or "*." names), valid from an
  // hour ago for `valid_days`, with a fresh key.
  std::optional<Issued> issue(const std::vector<std::string>& hosts, int valid_days,
                              std::string* error) const;

 private:
  LocalCa() = default;
  std::string dir_;
  std::string cert_pem_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wok::certs
