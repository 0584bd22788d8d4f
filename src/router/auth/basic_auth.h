#pragma once
// spec.access.basicAuth at the router: users and password hashes from the
// project's secret (htpasswd lines, bcrypt or argon2), checked off the loop
// threads (a bcrypt check costs tens of milliseconds of CPU: on a loop it
// would stall every site that loop serves), with verified credentials
// cached so a logged-in browser costs one hash lookup per request.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/loop.h"
#include "http/off_loop.h"

namespace wok::router {

using http::OffLoopPool;

struct BasicAuth {
  std::string realm = "restricted";
  std::map<std::string, std::string, std::less<>> users;  // user -> hash
  // Set when the secret could not be read or parsed: nobody gets in (the
  // site stays closed rather than open).
  std::string error;
  // spec.access.exempt: paths anyone may fetch without logging in.
  std::vector<std::string> exempt;
};

// Path prefixes that need no login (spec.access.exempt): "/.well-known/",
// "/healthz". A prefix ending in "/" covers what is under it; one that does
// not covers that path exactly and what is under it ("/healthz",
// "/healthz/x", not "/healthzz").
bool path_exempt(const std::vector<std::string>& exempt, std::string_view path);

// htpasswd text ("user:hash" lines; blank lines and # comments skipped):
// bcrypt ($2y$, $2b$, $2a$) and argon2 ($argon2id$, $argon2i$) hashes only
// (not MD5 or SHA-1, which a stolen secret gives away); nullopt with
// *error naming the line.
std::optional<std::map<std::string, std::string, std::less<>>> parse_htpasswd(std::string_view text,
                                                                              std::string* error);

// Whether `password` matches `hash` (bcrypt through libxcrypt, argon2
// through libargon2). Slow on purpose: never call it on a loop thread.
bool verify_password(const std::string& hash, std::string_view password);

// The user and password of an "Authorization: Basic ..." header.
bool parse_basic_authorization(std::string_view header, std::string* user, std::string* password);

// Checks passwords for the loops on a small pool (OffLoopPool) and posts
// the answers back to them; verified credentials are remembered (for
// kCacheTtl, at most kCacheSize of them) by a digest of the stored hash,
// the user and the password, so a changed secret is never answered from
// the cache. One site's checks (a password-guessing flood) take at most
// per_site places of the queue: the other sites' logins still get in.
class CredentialChecker {
 public:
  explicit CredentialChecker(int threads = 2, size_t max_queue = 512, size_t per_site = 64);
  ~CredentialChecker();
  CredentialChecker(const CredentialChecker&) = delete;
  CredentialChecker& operator=(const CredentialChecker&) = delete;

  static std::string cache_key(std::string_view hash, std::string_view user,
                               std::string_view password);
  bool cached(const std::string& key) const;
  // Checks on a pool thread; `done(ok)` runs on the loop whose mailbox is
  // given. False (nothing queued) when the queue is full, `site` has
  // per_site checks waiting, or the mailbox is closed.
  bool check(std::shared_ptr<http::Mailbox> mailbox, const std::string& site, std::string hash,
             std::string password, std::string key, std::function<void(bool)> done);
  uint64_t checks() const;  // passwords verified by hashing (cache misses)

 private:
  static constexpr auto kCacheTtl = std::chrono::minutes(5);
  static constexpr size_t kCacheSize = 10000;
  void evict_oldest();  // mu_ held

  mutable std::mutex mu_;
  uint64_t checks_ = 0;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> verified_;
  OffLoopPool pool_;  // last: its threads are joined before the rest goes
};

}  // namespace wok::router
