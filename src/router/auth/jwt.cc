#include "router/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <vector>

#include "base/sealed_box.h"

namespace wok::router {
namespace {

using json = nlohmann::json;

std::shared_ptr<EVP_PKEY> key_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key ? std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free) : nullptr;
}

// A string member of a provider's JSON, "" when absent or of another type
// (json::value() throws on a type mismatch: a provider's answer must not).
std::string text_of(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<std::string> field_bytes(const json& jwk, const char* name) {
  if (!jwk.contains(name) || !jwk[name].is_string()) return std::nullopt;
  return base::base64url_decode(jwk[name].get<std::string>());
}

std::shared_ptr<EVP_PKEY> rsa_key(const json& jwk) {
  auto n = field_bytes(jwk, "n"), e = field_bytes(jwk, "e");
  if (!n || !e || n->size() < 256 || n->size() > 512 || e->empty() || e->size() > 8)
    return nullptr;  // 2048 to 4096 bits, as for certificates
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
    key = key_from_params("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return key;
}

std::shared_ptr<EVP_PKEY> ec_key(const json& jwk) {
  if (text_of(jwk, "crv") != "P-256") return nullptr;
  auto x = field_bytes(jwk, "x"), y = field_bytes(jwk, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32) return nullptr;
  std::string point = "\x04" + *x + *y;  // uncompressed
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bld &&
      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) ==
          1)
    key = key_from_params("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

bool verify_signature(EVP_PKEY* key, std::string_view alg, std::string_view signed_part,
                      std::string signature) {
  if (alg == "ES256") {  // JWS carries r || s; OpenSSL wants DER
    if (signature.size() != 64) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
    BIGNUM* s =
        BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
      ECDSA_SIG_free(sig);
      BN_free(r);
      BN_free(s);
      return false;
    }
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (len <= 0) return false;
    signature.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

struct Parts {
  std::string_view header64, payload64, signature64;
};

std::optional<Parts> split(std::string_view token) {
  if (token.size() > 64 * 1024) return std::nullopt;
  size_t a = token.find('.');
  if (a == std::string_view::npos) return std::nullopt;
  size_t b = token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos)
    return std::nullopt;
  return Parts{token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1)};
}

std::optional<json> decode_json(std::string_view part64) {
  auto bytes = base::base64url_decode(part64);
  if (!bytes) return std::nullopt;
  json j = json::parse(*bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

std::optional<Jwks> Jwks::parse(std::string_view text, std::string* error) {
  json set = json::parse(text, nullptr, false);
  if (set.is_discarded() || !set.is_object() || !set.contains("keys") || !set["keys"].is_array()) {
    *error = "the provider's jwks_uri does not answer a JWK Set";
    return std::nullopt;
  }
  Jwks jwks;
  for (const json& jwk : set["keys"]) {
    if (!jwk.is_object() || (jwk.contains("use") && text_of(jwk, "use") != "sig")) continue;
    std::string kty = text_of(jwk, "kty");
    std::shared_ptr<EVP_PKEY> key = kty == "RSA"  ? rsa_key(jwk)
                                    : kty == "EC" ? ec_key(jwk)
                                                  : nullptr;
    if (!key) continue;
    std::string kid =
        jwk.contains("kid") && jwk["kid"].is_string() ? jwk["kid"].get<std::string>() : "";
    jwks.keys_.emplace(std::move(kid), Key{kty, std::move(key)});
    if (jwks.keys_.size() >= 64) break;
  }
  if (jwks.keys_.empty()) {
    *error = "the provider's JWK Set holds no RSA (2048-4096 bits) or P-256 signing key";
    return std::nullopt;
  }
  return jwks;
}

std::shared_ptr<EVP_PKEY> Jwks::find(std::string_view kid, std::string_view alg) const {
  std::string_view kty = alg == "RS256" ? "RSA" : alg == "ES256" ? "EC" : "";
  if (kty.empty()) return nullptr;
  if (!kid.empty()) {
    auto [from, to] = keys_.equal_range(kid);
    for (auto it = from; it != to; ++it)
      if (it->second.kty == kty) return it->second.key;
    return nullptr;
  }
  std::shared_ptr<EVP_PKEY> only;
  for (const auto& [k, key] : keys_) {
    if (key.kty != kty) continue;
    if (only) return nullptr;  // more than one: the token must say which
    only = key.key;
  }
  return only;
}

bool jwt_header(std::string_view token, std::string* kid, std::string* alg) {
  auto parts = split(token);
  if (!parts) return false;
  auto header = decode_json(parts->header64);
  if (!header) return false;
  *kid = header->contains("kid") && (*header)["kid"].is_string()
             ? (*header)["kid"].get<std::string>()
             : "";
  *alg = header->contains("alg") && (*header)["alg"].is_string()
             ? (*header)["alg"].get<std::string>()
             : "";
  return true;
}

std::optional<json> verify_id_token(std::string_view token, const Jwks& jwks,
                                    const IdTokenCheck& check, std::string* error) {
  auto parts = split(token);
  std::optional<json> header, claims;
  std::optional<std::string> signature;
  if (parts) {
    header = decode_json(parts->header64);
    claims = decode_json(parts->payload64);
    signature = base::base64url_decode(parts->signature64);
  }
  if (!header || !claims || !signature) {
    *error = "the ID token is not a signed JWT";
    return std::nullopt;
  }
  std::string alg = text_of(*header, "alg");
  if (alg != "RS256" && alg != "ES256") {
    *error =
        "the ID token is signed with \"" + alg.substr(0, 16) + "\"; wok accepts RS256 and ES256";
    return std::nullopt;
  }
  std::string kid = (*header).contains("kid") && (*header)["kid"].is_string()
                        ? (*header)["kid"].get<std::string>()
                        : "";
  std::shared_ptr<EVP_PKEY> key = jwks.find(kid, alg);
  if (!key) {
    *error = "no key of the provider's JWK Set matches the ID token (kid \"" + kid.substr(0, 64) +
             "\", " + alg + ")";
    return std::nullopt;
  }
  std::string_view signed_part(parts->header64.data(),
                               parts->header64.size() + 1 + parts->payload64.size());
  if (!verify_signature(key.get(), alg, signed_part, std::move(*signature))) {
    *error = "the ID token's signature does not verify";
    return std::nullopt;
  }
  const json& c = *claims;
  if (!c.contains("iss") || !c["iss"].is_string() || c["iss"].get<std::string>() != check.issuer) {
    *error = "the ID token was not issued by " + check.issuer;
    return std::nullopt;
  }
  bool audience = false;
  if (c.contains("aud") && c["aud"].is_string()) audience = c["aud"] == check.client_id;
  if (c.contains("aud") && c["aud"].is_array())
    for (const json& a : c["aud"]) audience = audience || (a.is_string() && a == check.client_id);
  if (!audience || (c.contains("azp") && c["azp"] != check.client_id)) {
    *error = "the ID token is not meant for client " + check.client_id;
    return std::nullopt;
  }
  if (!c.contains("exp") || !c["exp"].is_number() ||
      c["exp"].get<double>() + static_cast<double>(check.leeway_s) <
          static_cast<double>(check.now)) {
    *error = "the ID token has expired";
    return std::nullopt;
  }
  if (c.contains("iat") && c["iat"].is_number() &&
      c["iat"].get<double>() > static_cast<double>(check.now + check.leeway_s)) {
    *error = "the ID token was issued in the future (are the clocks apart?)";
    return std::nullopt;
  }
  if (!c.contains("nonce") || !c["nonce"].is_string() || c["nonce"] != check.nonce) {
    *error = "the ID token's nonce is not this login's";
    return std::nullopt;
  }
  return claims;
}

}  // namespace wok::router
