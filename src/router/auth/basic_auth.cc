#include "router/auth/basic_auth.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wok::router {

namespace {

// A path whose meaning an application behind could change by resolving it:
// a dot segment ("/.well-known/../admin", "/x/..;/admin"), an encoded dot,
// slash or backslash, a backslash. Never exempt: the login is asked.
bool resolvable(std::string_view path) {
  for (size_t i = 0; i + 2 < path.size(); ++i) {
    if (path[i] != '%') continue;
    char a = path[i + 1],
         b = static_cast<char>(std::tolower(static_cast<unsigned char>(path[i + 2])));
    if ((a == '2' && (b == 'e' || b == 'f')) || (a == '5' && b == 'c')) return true;
  }
  if (path.find('\\') != std::string_view::npos) return true;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment == "." || segment.starts_with("..") || segment.starts_with(".;")) return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

}  // namespace

bool path_exempt(const std::vector<std::string>& exempt, std::string_view path) {
  if (exempt.empty() || resolvable(path)) return false;
  for (const std::string& prefix : exempt) {
    if (prefix.ends_with("/")) {
      if (path.starts_with(prefix)) return true;
    } else if (path == prefix || (path.starts_with(prefix) && path.size() > prefix.size() &&
                                  path[prefix.size()] == '/')) {
      return true;
    }
  }
  return false;
}

namespace {

bool is_bcrypt(std::string_view hash) {
  return hash.size() == 60 &&
         (hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$"));
}

bool is_argon2(std::string_view hash) {
  return hash.starts_with("$argon2id$") || hash.starts_with("$argon2i$") ||
         hash.starts_with("$argon2d$");
}

// What one check may cost, so that a tenant's hash cannot stall or exhaust
// the pool every site's logins share: bcrypt up to cost 12 (2^12 rounds,
// about a quarter of a second), argon2 up to 64 MiB, 10 passes, 8 lanes.
constexpr int kMaxBcryptCost = 12;
constexpr long kMaxArgon2MemoryKiB = 64 * 1024, kMaxArgon2Passes = 10, kMaxArgon2Lanes = 8;

// "" when the hash's cost is within bounds, else why not.
std::string cost_problem(std::string_view hash) {
  if (hash.starts_with("$2")) {
    int cost = std::atoi(std::string(hash.substr(4, 2)).c_str());
    if (cost > kMaxBcryptCost)
      return "bcrypt cost " + std::to_string(cost) + " is over " + std::to_string(kMaxBcryptCost);
    return "";
  }
  // $argon2id$v=19$m=65536,t=3,p=4$salt$hash
  size_t params = hash.find("$m=");
  if (params == std::string_view::npos) return "argon2 parameters missing";
  long m = -1, t = -1, p = -1;
  if (std::sscanf(std::string(hash.substr(params + 1)).c_str(), "m=%ld,t=%ld,p=%ld", &m, &t, &p) !=
      3)
    return "argon2 parameters unreadable";
  if (m > kMaxArgon2MemoryKiB || t > kMaxArgon2Passes || p > kMaxArgon2Lanes || m < 0 || t < 0 ||
      p < 0)
    return "argon2 m=" + std::to_string(m) + ",t=" + std::to_string(t) + ",p=" + std::to_string(p) +
           " is over m=65536 (64 MiB), t=10, p=8";
  return "";
}

}  // namespace

std::optional<std::map<std::string, std::string, std::less<>>> parse_htpasswd(std::string_view text,
                                                                              std::string* error) {
  std::map<std::string, std::string, std::less<>> users;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    const std::string where = "line " + std::to_string(line_no);
    if (colon == std::string_view::npos || colon == 0) {
      *error = where + ": not user:hash";
      return std::nullopt;
    }
    std::string user(line.substr(0, colon));
    std::string hash(line.substr(colon + 1));
    if (!is_bcrypt(hash) && !is_argon2(hash)) {
      *error = where + " (" + user +
               "): not a bcrypt or argon2 hash (htpasswd -B, or argon2id); MD5, SHA-1 and "
               "crypt hashes are refused";
      return std::nullopt;
    }
    if (std::string problem = cost_problem(hash); !problem.empty()) {
      *error = where + " (" + user + "): " + problem;
      return std::nullopt;
    }
    if (users.count(user)) {
      *error = where + ": user " + user + " appears twice";
      return std::nullopt;
    }
    users.emplace(std::move(user), std::move(hash));
  }
  return users;
}

bool verify_password(const std::string& hash, std::string_view password) {
  if (!cost_problem(hash).empty()) return false;  // never run an unbounded check
  if (is_argon2(hash)) {
    argon2_type type = hash.starts_with("$argon2id$")  ? Argon2_id
                       : hash.starts_with("$argon2i$") ? Argon2_i
                                                       : Argon2_d;
    return argon2_verify(hash.c_str(), password.data(), password.size(), type) == ARGON2_OK;
  }
  if (!is_bcrypt(hash)) return false;
  // crypt_r's state is large (tens of KiB): one per thread, reused.
  thread_local std::unique_ptr<crypt_data> data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  const char* out = crypt_r(pw.c_str(), hash.c_str(), data.get());
  OPENSSL_cleanse(pw.data(), pw.size());
  if (!out || out[0] == '*') return false;
  return std::strlen(out) == hash.size() && CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
}

bool parse_basic_authorization(std::string_view header, std::string* user, std::string* password) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  if (header.size() < 6 || strncasecmp(header.data(), "basic ", 6) != 0) return false;
  header.remove_prefix(6);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  if (header.empty() || header.size() % 4 != 0 || header.size() > 4096) return false;
  std::string decoded(header.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                          reinterpret_cast<const unsigned char*>(header.data()),
                          static_cast<int>(header.size()));
  if (n < 0) return false;
  size_t padding = header.ends_with("==") ? 2 : header.ends_with("=") ? 1 : 0;
  decoded.resize(static_cast<size_t>(n) - padding);
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  *user = decoded.substr(0, colon);
  *password = decoded.substr(colon + 1);
  return true;
}

CredentialChecker::CredentialChecker(int threads, size_t max_queue, size_t per_site)
    : pool_(threads, max_queue, per_site) {}

CredentialChecker::~CredentialChecker() = default;

std::string CredentialChecker::cache_key(std::string_view hash, std::string_view user,
                                         std::string_view password) {
  std::string input;
  input.reserve(hash.size() + user.size() + password.size() + 2);
  input.append(hash).push_back('\0');
  input.append(user).push_back('\0');
  input.append(password);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<char*>(digest), sizeof digest);
}

bool CredentialChecker::cached(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = verified_.find(key);
  return it != verified_.end() && std::chrono::steady_clock::now() - it->second < kCacheTtl;
}

bool CredentialChecker::check(std::shared_ptr<http::Mailbox> mailbox, const std::string& site,
                              std::string hash, std::string password, std::string key,
                              std::function<void(bool)> done) {
  return pool_.run(
      std::move(mailbox), site,
      [this, hash = std::move(hash), password = std::move(password), key = std::move(key),
       done = std::move(done)]() mutable -> std::function<void()> {
        bool ok = verify_password(hash, password);
        OPENSSL_cleanse(password.data(), password.size());
        {
          std::lock_guard lock(mu_);
          ++checks_;
          if (ok) {
            if (verified_.size() >= kCacheSize) evict_oldest();
            verified_[key] = std::chrono::steady_clock::now();
          }
        }
        return [done = std::move(done), ok] { done(ok); };
      });
}

// Full: the expired go, and if none has, the oldest (a scan, on an insert
// that already cost a password check).
void CredentialChecker::evict_oldest() {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(verified_, [&](const auto& e) { return now - e.second >= kCacheTtl; });
  if (verified_.size() < kCacheSize) return;
  auto oldest = std::min_element(verified_.begin(), verified_.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
  if (oldest != verified_.end()) verified_.erase(oldest);
}

uint64_t CredentialChecker::checks() const {
  std::lock_guard lock(mu_);
  return checks_;
}

}  // namespace wok::router
