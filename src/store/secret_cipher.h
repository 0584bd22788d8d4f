#pragma once
// Encryption at rest of Secret values in the embedded store: AES-256-GCM
// (base::SealedBox) with one key per data directory, DATA/secrets.key, made
// 0600 on first use from the OS's CSPRNG. Each seal draws a fresh 96-bit
// nonce; the caller's `context` (the secret's project and name) is
// authenticated with it, so a sealed value copied onto another secret's row
// does not open. Nothing here logs or returns a value in an error.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/sealed_box.h"

namespace wok::store {

class SecretCipher {
 public:
  // Reads the key at `path`, or creates it (0600, never readable by others,
  // not even for an instant) when there is none. nullptr and `error` when the
  // file is not a key or cannot be read or made.
  static std::unique_ptr<SecretCipher> load_or_create(const std::string& path, std::string* error);
  // A cipher of a key given directly (tests).
  explicit SecretCipher(const std::array<unsigned char, 32>& key) : box_(key) {}

  // "v1:" + base64(nonce || ciphertext || tag).
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // The plaintext, or nullopt when `sealed` is malformed, was sealed under
  // another key or another context, or was altered.
  std::optional<std::string> open(std::string_view sealed, std::string_view context) const;

 private:
  explicit SecretCipher(const base::SealedBox& box) : box_(box) {}
  base::SealedBox box_;
};

}  // namespace wok::store
