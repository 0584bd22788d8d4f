#include "hooks/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace wok::hooks {
namespace {

constexpr std::array<std::string_view, 4> kHeaders = {"X-Hub-Signature-256", "X-Gitea-Signature",
                                                      "X-Gogs-Signature", "X-Gitlab-Token"};

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // The sizes are not secret (a digest's size is public; a token's is
  // compared only after this), the bytes are.
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool has_signature_header(const http::Request& request) {
  for (auto name : kHeaders) {
    if (request.has_header(name)) return true;
  }
  return false;
}

SignatureCheck verify_signature(const http::Request& request, std::string_view secret) {
  for (auto name : kHeaders) {
    if (!request.has_header(name)) continue;
    SignatureCheck check{Proof::kInvalid, name};
    std::string_view value = request.header(name);
    bool weak = secret.size() < kMinSecretBytes;
    if (name == "X-Gitlab-Token") {
      // Compared whole, in constant time; a weak secret matches nothing.
      if (value.empty())
        check.proof = Proof::kMalformed;
      else if (constant_time_equal(value, secret) && !weak)
        check.proof = Proof::kValid;
      return check;
    }
    if (name == "X-Hub-Signature-256") {
      if (!value.starts_with("sha256=")) return {Proof::kMalformed, name};
      value.remove_prefix(7);
    }
    // Hex digits in either case, 64 of them.
    std::string hex = to_lower(value);
    if (hex.size() != 64 || !is_lower_hex(hex)) return {Proof::kMalformed, name};
    std::string expected = hmac_sha256_hex(secret, request.body);
    if (constant_time_equal(hex, expected) && !weak) check.proof = Proof::kValid;
    return check;
  }
  return {};
}

}  // namespace wok::hooks
