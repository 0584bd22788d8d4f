#pragma once
// spec.access.basicAuth at the router: users and password hashes from the
// project's secret (htpasswd lines, bcrypt or argon2), checked off the loop
// threads (a bcrypt check costs tens of milliseconds of CPU: on a loop it
// would stall every site that loop serves), with verified credentials
// cached so a logged-in browser costs one hash lookup per request.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/loop.h"

namespace wok::router {

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

// A small pool that checks passwords for the loops and posts the answers
// back to them; verified credentials are remembered (for kCacheTtl, at
// most kCacheSize of them) by a digest of the stored hash, the user and
// the password, so a changed secret is never answered from the cache.
class CredentialChecker {
 public:
  explicit CredentialChecker(int threads = 2, size_t max_queue = 512);
  ~CredentialChecker();
  CredentialChecker(const CredentialChecker&) = delete;
  CredentialChecker& operator=(const CredentialChecker&) = delete;

  static std::string cache_key(std::string_view hash, std::string_view user,
                               std::string_view password);
  bool cached(const std::string& key) const;
  // Checks on a pool thread; `done(ok)` runs on the loop whose mailbox is
  // given. False (nothing queued) when the queue is full or the mailbox
  // closed.
  bool check(std::shared_ptr<http::Mailbox> mailbox, std::string hash, std::string password,
             std::string key, std::function<void(bool)> done);
  uint64_t checks() const;  // passwords verified by hashing (cache misses)

 private:
  static constexpr auto kCacheTtl = std::chrono::minutes(5);
  static constexpr size_t kCacheSize = 10000;
  struct Job {
    std::weak_ptr<http::Mailbox> mailbox;
    std::string hash, password, key;
    std::function<void(bool)> done;
  };
  void work();
  void evict_oldest();  // mu_ held

  size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  uint64_t checks_ = 0;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> verified_;
  std::vector<std::thread> threads_;
};

}  // namespace wok::router
