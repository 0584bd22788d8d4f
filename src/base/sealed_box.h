#pragma once
// AES-256-GCM under one 256-bit key, with the key file that keeps it: the
// one sealing code behind the store's secrets at rest (store::SecretCipher)
// and the router's login sessions (router/auth/oidc). Each seal draws a
// fresh 96-bit nonce from the OS's CSPRNG; the caller's `context` is
// authenticated with it, so what was sealed for one purpose (a secret's
// row, a site's session) does not open for another. Nothing here logs or
// returns a plaintext or a key in an error.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wok::base {

class SealedBox {
 public:
  using Key = std::array<unsigned char, 32>;
  // Reads the key at `path` (64 hex digits), or creates it (0600, never
  // readable by others, not even for an instant) when there is none.
  // nullptr and `error` when the file is not a key or cannot be read or made.
  static std::unique_ptr<SealedBox> load_or_create(const std::string& path, std::string* error);
  explicit SealedBox(const Key& key) : key_(key) {}

  // nonce (12 bytes) || ciphertext || tag (16 bytes); throws only when the
  // OS's random source or OpenSSL fails.
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // The plaintext, or nullopt when `sealed` is malformed, was sealed under
  // another key or another context, or was altered.
  std::optional<std::string> open(std::string_view sealed, std::string_view context) const;

 private:
  Key key_;
};

// base64url without padding (RFC 4648 section 5), as JOSE and cookies carry
// bytes. decode refuses padding, whitespace and characters outside the
// alphabet.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// `bytes` bytes from the OS's random source, base64url: 43 characters of
// [A-Za-z0-9_-] for 32 (login state, nonces, generated passwords). Throws
// when the random source fails.
std::string random_token(size_t bytes = 32);

}  // namespace wok::base
