#include "router/auth/oidc.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "base/https_client.h"
#include "base/text.h"

namespace wok::router {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kDiscoveryTtl = std::chrono::hours(1);
constexpr auto kKeysRefetchAfter = std::chrono::minutes(1);
// A cookie is at most 4096 bytes with its name and attributes: the sealed
// JSON stays well below once base64url'd (4/3) with its 28 bytes of nonce
// and tag.
constexpr size_t kMaxSessionJson = 2600;

std::string context(std::string_view purpose, const OidcLogin& login) {
  std::string c(purpose);
  for (const std::string* part : {&login.project, &login.site, &login.issuer, &login.client_id}) {
    c.push_back('\0');
    c += *part;
  }
  return c;
}

// What a cookie sealed for `purpose` and `login`'s site holds, unexpired
// at `now` (its "x", seconds since the epoch); nullopt for anything else.
std::optional<json> open_json(const base::SealedBox& box, std::string_view purpose,
                              const OidcLogin& login, std::string_view cookie, int64_t now,
                              int64_t* expires) {
  if (cookie.size() > 4096) return std::nullopt;
  auto raw = base::base64url_decode(cookie);
  if (!raw) return std::nullopt;
  auto plain = box.open(*raw, context(purpose, login));
  if (!plain) return std::nullopt;
  json j = json::parse(*plain, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto x = j.find("x");
  if (x == j.end() || !x->is_number_integer() || x->get<int64_t>() <= now) return std::nullopt;
  *expires = x->get<int64_t>();
  return j;
}

std::string string_at(const json& j, const std::string& key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool https_url(const std::string& url) { return url.starts_with("https://") && url.size() > 8; }

// What goes into a header the site gets: no control characters (a claim
// with CR/LF would split the upstream request), at most 256 bytes.
bool header_safe(const std::string& v) {
  return v.size() <= 256 && std::none_of(v.begin(), v.end(), [](char c) {
           auto u = static_cast<unsigned char>(c);
           return u < 0x20 || u == 0x7f;
         });
}

// JSON of what is sealed; bytes that are not UTF-8 are replaced, never
// thrown about (json::dump throws on them).
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

constexpr size_t kMaxProviders = 1000;
constexpr auto kFailureTtl = std::chrono::minutes(1);

}  // namespace

std::string oidc_cookie_name(std::string_view base, bool tls) {
  return tls ? "__Host-" + std::string(base.substr(1)) : std::string(base);
}

bool OnceSet::first(const std::string& key, int64_t expires, int64_t now) {
  std::lock_guard lock(mu_);
  while (!order_.empty() && (order_.front().first <= now || order_.size() >= kMax)) {
    keys_.erase(order_.front().second);
    order_.pop_front();
  }
  if (!keys_.insert(key).second) return false;
  order_.emplace_back(expires, key);
  return true;
}

std::string seal_session(const base::SealedBox& box, const OidcLogin& login, const OidcUser& user) {
  json j = {{"u", user.name}, {"e", user.email}, {"x", user.expires}, {"g", json::array()}};
  // The groups that let the user in first, then the others while they fit:
  // a member of hundreds of groups still gets a cookie a browser keeps.
  std::vector<const std::string*> order;
  for (const auto& g : user.groups)
    if (std::find(login.allowed_groups.begin(), login.allowed_groups.end(), g) !=
        login.allowed_groups.end())
      order.push_back(&g);
  for (const auto& g : user.groups)
    if (std::find(login.allowed_groups.begin(), login.allowed_groups.end(), g) ==
        login.allowed_groups.end())
      order.push_back(&g);
  size_t size = dump(j).size();
  for (const std::string* g : order) {
    size_t more = dump(json(*g)).size() + 1;
    if (size + more > kMaxSessionJson) break;
    j["g"].push_back(*g);
    size += more;
  }
  return base::base64url_encode(box.seal(dump(j), context("wok-oidc-session", login)));
}

std::optional<OidcUser> open_session(const base::SealedBox& box, const OidcLogin& login,
                                     std::string_view cookie, int64_t now) {
  OidcUser user;
  auto j = open_json(box, "wok-oidc-session", login, cookie, now, &user.expires);
  if (!j) return std::nullopt;
  user.name = string_at(*j, "u");
  user.email = string_at(*j, "e");
  if (auto g = j->find("g"); g != j->end() && g->is_array())
    for (const json& one : *g)
      if (one.is_string()) user.groups.push_back(one.get<std::string>());
  if (user.name.empty() || !header_safe(user.name) || !header_safe(user.email)) return std::nullopt;
  return user;
}

std::string seal_pending(const base::SealedBox& box, const OidcLogin& login,
                         const OidcPending& pending) {
  json j = {{"s", pending.state},
            {"n", pending.nonce},
            {"v", pending.verifier},
            {"r", pending.return_to},
            {"x", pending.expires}};
  return base::base64url_encode(box.seal(dump(j), context("wok-oidc-login", login)));
}

std::optional<OidcPending> open_pending(const base::SealedBox& box, const OidcLogin& login,
                                        std::string_view cookie, int64_t now) {
  OidcPending p;
  auto j = open_json(box, "wok-oidc-login", login, cookie, now, &p.expires);
  if (!j) return std::nullopt;
  p.state = string_at(*j, "s");
  p.nonce = string_at(*j, "n");
  p.verifier = string_at(*j, "v");
  p.return_to = safe_return_path(string_at(*j, "r"));
  if (p.state.empty() || p.nonce.empty() || p.verifier.empty()) return std::nullopt;
  return p;
}

bool oidc_allows(const OidcLogin& login, const OidcUser& user) {
  if (login.allowed_users.empty() && login.allowed_groups.empty()) return true;
  // User names compare without case (emails, as oauth2-proxy compares them).
  const std::string name = lowercase(user.name);
  for (const auto& u : login.allowed_users)
    if (lowercase(u) == name) return true;
  for (const auto& g : user.groups)
    if (std::find(login.allowed_groups.begin(), login.allowed_groups.end(), g) !=
        login.allowed_groups.end())
      return true;
  return false;
}

std::string safe_return_path(std::string_view rd) {
  // A path of this host only: "/x", never "//host" or "/\host" (which
  // browsers read as another host), no control characters, no fragment.
  if (rd.size() > 2048 || !rd.starts_with("/") || rd.starts_with("//") || rd.starts_with("/\\"))
    return "/";
  std::string out;
  for (char c : rd) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f || c == '\\' || c == '#') return "/";
    if (u >= 0x80) {  // not ASCII: percent-encoded, as a URL carries it
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string pkce_challenge(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return base::base64url_encode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

std::string form_encode(std::string_view text) { return percent_encode(text); }

std::string form_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() + 0 && hex(text[i + 1]) >= 0 &&
               hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (form_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? "" : form_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::shared_ptr<const OidcProvider> OidcProviders::cached(const std::string& issuer) const {
  std::lock_guard lock(mu_);
  auto it = providers_.find(issuer);
  if (it == providers_.end() || Clock::now() - it->second->fetched > kDiscoveryTtl) return nullptr;
  return it->second;
}

std::shared_ptr<const OidcProvider> OidcProviders::fetch(const std::string& issuer,
                                                         std::string* error) {
  if (auto p = cached(issuer)) return p;
  {
    // A provider that just failed is not asked again for a minute: one
    // that stalls to its timeout holds a pool thread once a minute at most.
    std::lock_guard lock(mu_);
    auto failed = failures_.find(issuer);
    if (failed != failures_.end() && Clock::now() - failed->second.first < kFailureTtl) {
      *error = failed->second.second + " (not asked again for a minute)";
      return nullptr;
    }
  }
  auto provider = discover(issuer, error);
  std::lock_guard lock(mu_);
  if (!provider) {
    if (failures_.size() >= kMaxProviders) failures_.clear();
    failures_[issuer] = {Clock::now(), *error};
  } else {
    failures_.erase(issuer);
  }
  return provider;
}

std::shared_ptr<const OidcProvider> OidcProviders::discover(const std::string& issuer,
                                                            std::string* error) {
  base::HttpsRequest request;
  std::string base = issuer;
  while (base.ends_with("/")) base.pop_back();
  request.url = base + "/.well-known/openid-configuration";
  request.ca_file = ca_file_;
  request.public_only = !allow_private_;
  request.timeout_s = 10;
  request.headers.push_back("Accept: application/json");
  base::HttpsResponse r = base::https_request(request);
  if (!r.error.empty() || r.status != 200) {
    *error = "the provider's discovery document (" + request.url + ") " +
             (r.error.empty() ? "answered " + std::to_string(r.status) : "failed: " + r.error);
    return nullptr;
  }
  json doc = json::parse(r.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = request.url + " is not a discovery document (JSON)";
    return nullptr;
  }
  if (string_at(doc, "issuer") != issuer) {
    *error = "the provider's discovery document names issuer \"" +
             string_at(doc, "issuer").substr(0, 200) + "\", not " + issuer;
    return nullptr;
  }
  auto provider = std::make_shared<OidcProvider>();
  provider->authorization_endpoint = string_at(doc, "authorization_endpoint");
  provider->token_endpoint = string_at(doc, "token_endpoint");
  provider->end_session_endpoint = string_at(doc, "end_session_endpoint");
  provider->jwks_uri = string_at(doc, "jwks_uri");
  if (!https_url(provider->authorization_endpoint) || !https_url(provider->token_endpoint) ||
      !https_url(provider->jwks_uri)) {
    *error =
        "the provider's discovery document lacks an https:// authorization_endpoint, "
        "token_endpoint or jwks_uri";
    return nullptr;
  }
  if (!https_url(provider->end_session_endpoint)) provider->end_session_endpoint.clear();
  if (doc.contains("token_endpoint_auth_methods_supported") &&
      doc["token_endpoint_auth_methods_supported"].is_array()) {
    bool basic = false, post = false;
    for (const json& m : doc["token_endpoint_auth_methods_supported"]) {
      basic = basic || m == "client_secret_basic";
      post = post || m == "client_secret_post";
    }
    provider->client_secret_post_only = post && !basic;
  }
  provider->fetched = Clock::now();
  return refresh_keys(issuer, provider, error);
}

std::shared_ptr<const OidcProvider> OidcProviders::refresh_keys(
    const std::string& issuer, std::shared_ptr<const OidcProvider> provider, std::string* error) {
  base::HttpsRequest request;
  request.url = provider->jwks_uri;
  request.ca_file = ca_file_;
  request.public_only = !allow_private_;
  request.timeout_s = 10;
  request.headers.push_back("Accept: application/json");
  base::HttpsResponse r = base::https_request(request);
  if (!r.error.empty() || r.status != 200) {
    *error = "the provider's keys (" + request.url + ") " +
             (r.error.empty() ? "answered " + std::to_string(r.status) : "failed: " + r.error);
    return nullptr;
  }
  auto jwks = Jwks::parse(r.body, error);
  if (!jwks) return nullptr;
  auto fresh = std::make_shared<OidcProvider>(*provider);
  fresh->jwks = std::move(*jwks);
  fresh->keys_fetched = Clock::now();
  std::lock_guard lock(mu_);
  if (providers_.size() >= kMaxProviders && !providers_.count(issuer)) {
    // Issuers come from members' specs: the one fetched longest ago goes.
    auto oldest = std::min_element(
        providers_.begin(), providers_.end(),
        [](const auto& a, const auto& b) { return a.second->fetched < b.second->fetched; });
    providers_.erase(oldest);
  }
  providers_[issuer] = fresh;
  return fresh;
}

std::optional<OidcUser> OidcProviders::redeem(const OidcLogin& login, const OidcPending& pending,
                                              const std::string& code,
                                              const std::string& redirect_uri, std::string* error,
                                              int* status) {
  *status = 502;
  std::shared_ptr<const OidcProvider> provider = fetch(login.issuer, error);
  if (!provider) return std::nullopt;
  base::HttpsRequest request;
  request.method = "POST";
  request.url = provider->token_endpoint;
  request.ca_file = ca_file_;
  request.public_only = !allow_private_;
  request.timeout_s = 10;
  request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  request.body = "grant_type=authorization_code&code=" + form_encode(code) +
                 "&redirect_uri=" + form_encode(redirect_uri) +
                 "&code_verifier=" + form_encode(pending.verifier) +
                 "&client_id=" + form_encode(login.client_id);
  if (provider->client_secret_post_only) {
    request.body += "&client_secret=" + form_encode(login.client_secret);
  } else {  // RFC 6749 2.3.1: each part form-encoded, then base64
    std::string credentials = form_encode(login.client_id) + ":" + form_encode(login.client_secret);
    std::string b64(4 * ((credentials.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                            reinterpret_cast<const unsigned char*>(credentials.data()),
                            static_cast<int>(credentials.size()));
    b64.resize(static_cast<size_t>(n));
    request.headers.push_back("Authorization: Basic " + b64);
  }
  base::HttpsResponse r = base::https_request(request);
  json answer = json::parse(r.body, nullptr, false);
  if (!r.error.empty()) {
    *error = "the provider's token endpoint failed: " + r.error;
    return std::nullopt;
  }
  if (r.status != 200 || answer.is_discarded() || !answer.is_object()) {
    std::string why =
        !answer.is_discarded() && answer.is_object() ? string_at(answer, "error") : "";
    *error = "the provider's token endpoint refused the login (" + std::to_string(r.status) +
             (why.empty() ? "" : ", " + why.substr(0, 100)) + ")";
    return std::nullopt;
  }
  std::string id_token = string_at(answer, "id_token");
  if (id_token.empty()) {
    *error = "the provider's token endpoint answered no id_token (is \"openid\" in the scopes?)";
    return std::nullopt;
  }
  IdTokenCheck check{login.issuer, login.client_id, pending.nonce, wall_now()};
  std::optional<json> claims = verify_id_token(id_token, provider->jwks, check, error);
  std::string kid, alg;
  if (!claims && jwt_header(id_token, &kid, &alg) && !provider->jwks.find(kid, alg) &&
      Clock::now() - provider->keys_fetched > kKeysRefetchAfter) {
    // A key the provider has rotated in since: fetched again, once a minute at most.
    std::string refresh_error;
    if (auto fresh = refresh_keys(login.issuer, provider, &refresh_error))
      claims = verify_id_token(id_token, fresh->jwks, check, error);
  }
  if (!claims) return std::nullopt;
  const json& c = *claims;
  OidcUser user;
  user.name = string_at(c, login.user_claim);
  if (user.name.empty()) {
    *status = 403;
    *error = "the provider's ID token carries no claim \"" + login.user_claim + "\"";
    return std::nullopt;
  }
  user.email = string_at(c, "email");
  if (!header_safe(user.name) || !header_safe(user.email)) {
    *status = 403;
    *error = "the provider's claim \"" + login.user_claim +
             "\" or \"email\" is longer than 256 bytes or holds control characters";
    return std::nullopt;
  }
  if (login.user_claim == "email" && c.contains("email_verified") && c["email_verified"] != true &&
      c["email_verified"] != "true") {
    *status = 403;
    *error = "the provider has not verified the email address " + user.name;
    return std::nullopt;
  }
  user.email = string_at(c, "email");
  if (c.contains(login.groups_claim)) {
    const json& g = c[login.groups_claim];
    if (g.is_string()) user.groups.push_back(g.get<std::string>());
    if (g.is_array())
      for (const json& one : g)
        if (one.is_string() && user.groups.size() < 1000)
          user.groups.push_back(one.get<std::string>());
  }
  if (!oidc_allows(login, user)) {
    *status = 403;
    *error = user.name + " is not among the users or groups allowed on this site";
    return std::nullopt;
  }
  user.expires = wall_now() + login.session.count();
  return user;
}

}  // namespace wok::router
