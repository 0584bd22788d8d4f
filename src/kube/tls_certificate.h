#pragma once
// A server certificate and key read from files, read again when they change:
// cert-manager (or an admin) rotates them in place, and a Secret volume
// swaps them atomically, so a change is seen at the next connection without
// a restart. A pair that does not load (a half-written rotation, a key that
// does not match) is logged and the last good one kept.
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace wok::kube {

using SslContext = std::shared_ptr<SSL_CTX>;

class TlsCertificate {
 public:
  TlsCertificate(std::string cert_file, std::string key_file);
  // The first load; false with `error` naming the file and OpenSSL's reason.
  bool load(std::string* error);
  // The context for a new connection: reloaded first when either file
  // changed (device, inode, size or modification time).
  SslContext current();
  uint64_t loads() const;  // successful loads, the first included

 private:
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp_of(const std::string& file);
  SslContext build(std::string* error) const;

  const std::string cert_file_, key_file_;
  mutable std::mutex mu_;
  SslContext context_;
  Stamp cert_stamp_, key_stamp_;
  uint64_t loads_ = 0;
};

}  // namespace wok::kube
