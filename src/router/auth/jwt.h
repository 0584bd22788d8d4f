#pragma once
// ID tokens (OpenID Connect Core 3.1.3.7) as the router checks them: a JWS
// in compact form signed RS256 or ES256 by a key of the provider's JWKS
// (RFC 7517), issued by the expected issuer for this client, unexpired, and
// carrying the nonce of this login. "none", HMAC and every other algorithm
// are refused: a token's own header never picks a weaker check.
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace wok::router {

// A provider's signing keys by "kid" (RSA and P-256 EC keys with use "sig"
// or no use; others are skipped).
class Jwks {
 public:
  // nullopt with *error when `text` is not a JWK Set or holds no usable key.
  static std::optional<Jwks> parse(std::string_view text, std::string* error);
  // The key a token names (or, with no kid, the only key of that type).
  std::shared_ptr<EVP_PKEY> find(std::string_view kid, std::string_view alg) const;
  size_t size() const { return keys_.size(); }

 private:
  struct Key {
    std::string kty;  // "RSA" or "EC"
    std::shared_ptr<EVP_PKEY> key;
  };
  std::multimap<std::string, Key, std::less<>> keys_;  // kid ("" for none) -> key
};

struct IdTokenCheck {
  std::string issuer;     // must equal "iss" exactly
  std::string client_id;  // must be in "aud"; "azp", when present, must equal it
  std::string nonce;      // must equal "nonce"
  int64_t now = 0;        // seconds since the epoch
  int64_t leeway_s = 60;  // for clocks a little apart
};

// The token's header ("kid", "alg") without checking anything: which key to
// look for.
bool jwt_header(std::string_view token, std::string* kid, std::string* alg);

// The claims of `token` when its signature verifies with `jwks` and `check`
// holds; nullopt with *error naming what failed.
std::optional<nlohmann::json> verify_id_token(std::string_view token, const Jwks& jwks,
                                              const IdTokenCheck& check, std::string* error);

}  // namespace wok::router
