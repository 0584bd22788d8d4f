#pragma once
// spec.access.oidc at the router: an OpenID Connect login in front of a site
// (authorization code flow with PKCE S256, state and nonce), its session
// kept in a cookie sealed with AES-256-GCM for that site alone (the site's
// project, name, issuer and client are the sealed data's context: a cookie
// of one site, or one provider, opens nowhere else), the user let in by
// the allowed users and groups of the site's claims. The paths under
// /oauth2/ are the login's own (as oauth2-proxy's, so one redirect URI
// registered at the provider serves wok up and a cluster alike):
//   /oauth2/start?rd=PATH   begin a login, back to PATH after
//   /oauth2/callback        where the provider sends the browser back
//   /oauth2/sign_out        end the session (and the provider's, when it says how)
// The provider's discovery document and keys are fetched, and codes
// redeemed, off the loops (OffLoopPool); the loops only open cookies.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/sealed_box.h"
#include "http/off_loop.h"
#include "router/auth/jwt.h"

namespace wok::router {

using http::OffLoopPool;

struct OidcLogin {
  std::string project, site;  // whose sessions these are
  std::string issuer;         // https://id.example.org/realms/x, as its tokens say it
  std::string client_id;
  std::string client_secret;  // from the project's secret (key client-secret)
  std::vector<std::string> scopes{"openid", "email", "profile"};
  std::string user_claim = "email";
  std::string groups_claim = "groups";
  // Who may in: a user named here, or one in a group named here; both
  // empty: anyone the provider logs in.
  std::vector<std::string> allowed_users, allowed_groups;
  std::chrono::seconds session{std::chrono::hours(8)};
  // spec.access.exempt: paths anyone may fetch without logging in.
  std::vector<std::string> exempt;
  // Set when the secret could not be read: nobody gets in (the site stays
  // closed rather than open).
  std::string error;
};

// Who a session is.
struct OidcUser {
  std::string name;   // the user claim's value
  std::string email;  // "email", when the provider gave one
  std::vector<std::string> groups;
  int64_t expires = 0;  // seconds since the epoch
};

// What a login in progress keeps in its own short-lived cookie until the
// provider sends the browser back.
struct OidcPending {
  std::string state, nonce, verifier;
  std::string return_to;  // a path on the same host
  int64_t expires = 0;
};

inline constexpr std::string_view kOidcSessionCookie = "_wok_oidc";
inline constexpr std::string_view kOidcPendingCookie = "_wok_oidc_login";
// The name a cookie has on a request: over HTTPS with the __Host- prefix
// ("__Host-wok_oidc"), which a browser keeps only if set by this very host
// with Secure and Path=/, so a sibling host (another tenant's, under the
// same parent domain) cannot plant or shadow it.
std::string oidc_cookie_name(std::string_view base, bool tls);

// The states of the callbacks already taken: each login's callback is
// honoured once (a replayed callback link is refused, and does not ask the
// provider again). Any thread; at most kMax remembered, the oldest going
// first.
class OnceSet {
 public:
  // True the first time `key` is seen (until `expires`, seconds since the epoch).
  bool first(const std::string& key, int64_t expires, int64_t now);

 private:
  static constexpr size_t kMax = 100000;
  std::mutex mu_;
  std::deque<std::pair<int64_t, std::string>> order_;  // (expires, key), oldest first
  std::set<std::string, std::less<>> keys_;
};

// Cookie values for `login`'s site, and back. open_* returns nullopt for a
// cookie that is malformed, altered, of another site or provider, or
// expired at `now`.
std::string seal_session(const base::SealedBox& box, const OidcLogin& login, const OidcUser& user);
std::optional<OidcUser> open_session(const base::SealedBox& box, const OidcLogin& login,
                                     std::string_view cookie, int64_t now);
std::string seal_pending(const base::SealedBox& box, const OidcLogin& login,
                         const OidcPending& pending);
std::optional<OidcPending> open_pending(const base::SealedBox& box, const OidcLogin& login,
                                        std::string_view cookie, int64_t now);

// Whether the lists let `user` in.
bool oidc_allows(const OidcLogin& login, const OidcUser& user);

// A path to go back to after the login: `rd` when it is a path on this host
// ("/a?b"), "/" for anything else (another host, "//evil.example",
// "/\\evil", a scheme).
std::string safe_return_path(std::string_view rd);

// State, nonce and the PKCE verifier are base::random_token()s; the
// verifier's S256 challenge (RFC 7636).
using base::random_token;
std::string pkce_challenge(std::string_view verifier);

// application/x-www-form-urlencoded, both ways.
std::string form_encode(std::string_view text);
std::string form_decode(std::string_view text);
// One parameter of a query string; nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// What the provider's discovery document says (OpenID Connect Discovery
// 1.0), with its keys.
struct OidcProvider {
  std::string authorization_endpoint, token_endpoint, end_session_endpoint, jwks_uri;
  bool client_secret_post_only = false;  // the token endpoint takes no Basic auth
  Jwks jwks;
  std::chrono::steady_clock::time_point fetched, keys_fetched;
};

// The providers of every site, by issuer: discovered on first use and
// again after an hour; keys fetched again when a token names one unknown
// (at most once a minute). fetch/redeem block: pool threads only.
class OidcProviders {
 public:
  // allow_private: the providers may be on loopback, link-local or private
  // addresses (the admin's choice: an issuer is a URL a tenant wrote).
  explicit OidcProviders(std::string ca_file = "", bool allow_private = false)
      : ca_file_(std::move(ca_file)), allow_private_(allow_private) {}

  // The cached provider, fresh enough to use; null when it must be fetched.
  // Any thread (a lock and a map lookup).
  std::shared_ptr<const OidcProvider> cached(const std::string& issuer) const;
  // Blocking. The provider, fetched when not cached; null with *error.
  std::shared_ptr<const OidcProvider> fetch(const std::string& issuer, std::string* error);

  // Blocking. Redeems `code` at the token endpoint (with the PKCE
  // verifier) and checks the ID token it answers; the user, or nullopt with
  // *error (for the browser: what failed, never a secret) and *status (403:
  // the user is not let in; 502: the provider failed).
  std::optional<OidcUser> redeem(const OidcLogin& login, const OidcPending& pending,
                                 const std::string& code, const std::string& redirect_uri,
                                 std::string* error, int* status);

 private:
  std::shared_ptr<const OidcProvider> discover(const std::string& issuer, std::string* error);
  std::shared_ptr<const OidcProvider> refresh_keys(const std::string& issuer,
                                                   std::shared_ptr<const OidcProvider> provider,
                                                   std::string* error);
  std::string ca_file_;
  bool allow_private_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const OidcProvider>, std::less<>> providers_;
  // Issuers whose discovery failed: when, and why.
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, std::string>, std::less<>>
      failures_;
};

}  // namespace wok::router
