#pragma once
// Who sent a push webhook: the proof a forge attaches to the request, checked
// against the site's webhook secret. The one check both platforms run
// (wok up's API server and the operator's webhook listener).
//
//   GitHub, plain hooks  X-Hub-Signature-256: sha256=HEX   HMAC-SHA256 of the raw body
//   Gitea, Gogs          X-Gitea-Signature: HEX            (X-Gogs-Signature) the same HMAC
//   GitLab               X-Gitlab-Token: SECRET            the secret itself
//
// Every comparison takes the same time whatever the bytes (CRYPTO_memcmp).
#include <string>
#include <string_view>

#include "http/message.h"

namespace wok::hooks {

// Webhook secrets shorter than this are refused: every signature is then
// wrong, as a guessable secret would make every signature forgeable.
inline constexpr size_t kMinSecretBytes = 16;

enum class Proof {
  kNone,       // no header this module knows
  kMalformed,  // a known header whose value is not of its form
  kValid,
  kInvalid,
};

struct SignatureCheck {
  Proof proof = Proof::kNone;
  std::string_view header;  // the header that was checked ("X-Hub-Signature-256")
};

// Lowercase hex of HMAC-SHA256(secret, body).
std::string hmac_sha256_hex(std::string_view secret, std::string_view body);

// Equal size and bytes, in a time that depends on the size only.
bool constant_time_equal(std::string_view a, std::string_view b);

// The request's proof, the first present of: X-Hub-Signature-256,
// X-Gitea-Signature, X-Gogs-Signature, X-Gitlab-Token (Gitea sends both of
// its forms; they agree). No header: kNone, whatever the secret.
SignatureCheck verify_signature(const http::Request& request, std::string_view secret);

// Whether the request carries any of the headers above (checked before the
// site is looked up: a request without one is told so, and nothing else).
bool has_signature_header(const http::Request& request);

}  // namespace wok::hooks
