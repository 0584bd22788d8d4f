#pragma once
// The router's immutable view of which host is served from where. Built by
// the controllers, swapped atomically into the Router; never mutated once
// published.
//
// The table is sharded copy-on-write: copying a table copies 2 x 256 shard
// pointers, and a change then clones only the shards it touches. Changing one
// site among 100,000 therefore costs a few hundred map entries, not 100,000.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/tls.h"
#include "router/access_rules.h"
#include "router/auth/basic_auth.h"
#include "router/auth/oidc.h"
#include "router/proxy/upstream_pool.h"

namespace wok::router {

// A php site's FastCGI side (php mode): php-fpm in the site's sandbox.
struct FastCgiTarget {
  std::string socket_path;       // php-fpm's unix socket, as the router (host) sees it
  std::string script_root;       // the document root as php-fpm sees it ("/srv/site/public")
  std::string front_controller;  // script for paths with no file ("index.php"); "" for none
  // Storage volumes under the document root ("/uploads/" -> the host
  // directory): files there are served as static files, never run as PHP.
  std::vector<std::pair<std::string, std::string>> static_mounts;
  // Set for a sandboxed php-fpm (wok up): it listens on 127.0.0.1:port inside
  // this network namespace (/proc/PID/ns/net), reached like an app instance;
  // socket_path is then unused. Nothing the tenant can write is followed.
  std::string netns = {};
  uint16_t port = 0;
  // spec.php.timeout: the longest php-fpm may stay silent (no record sent)
  // before the client gets a 504; php-fpm's request_terminate_timeout is the
  // same limit and frees the worker (its check lands after this one fires).
  int64_t read_timeout_ms = 60000;
};

// spec.tls of a site as the router applies it (docs/tls.md).
struct SiteTls {
  // The certificate its hosts present (picked by SNI); null: none yet (its
  // issuance failed or is under way), and the handshake is refused.
  http::SslContext context;
  bool redirect = false;  // http:// answered 308 to https://
  std::string hsts;       // Strict-Transport-Security on https answers; "": none
};

struct Route {
  std::string project;  // namespace of the Site
  std::string site;     // Site name
  std::string root;     // absolute path of the live revision's document root
  // Set for a proxied site (app mode): requests go to these upstreams
  // instead of the document root.
  std::shared_ptr<const UpstreamPool> upstream = nullptr;
  // Set for a php site: existing non-PHP files under `root` are served
  // statically, PHP scripts and front-controller fallbacks go to php-fpm.
  std::shared_ptr<const FastCgiTarget> fastcgi = nullptr;
  uint64_t max_body_bytes = 0;  // request body limit for this site (413); 0: the server's
  // The site has no revision yet and its first one is being built: its hosts
  // answer 503 "being deployed" with Retry-After, not "no site".
  bool deploying = false;
  // The files under `root` change while it is routed (a php site's storage
  // volume, written by the site): never served from the open-file cache.
  bool mutable_files = false;
  // The site is being restored from a backup (wok backup restore): its hosts
  // answer 503 "being restored" with Retry-After until it runs again.
  bool restoring = false;
  // spec.serveDotFiles: paths through a dot-file (".env", ".git/", ".htpasswd")
  // are served like any other; otherwise they are not found (".well-known/" is).
  bool serve_dot_files = false;
  // spec.access: clients it refuses get 403 before anything of the site
  // runs (router/access_rules.h); null: every client.
  std::shared_ptr<const AccessRules> access = nullptr;
  // spec.access.basicAuth: a login asked before anything of the site runs
  // (after the address lists); null: none.
  std::shared_ptr<const BasicAuth> basic_auth = nullptr;
  // spec.access.oidc: an OpenID Connect login before anything of the site
  // runs (after the address lists); null: none.
  std::shared_ptr<const OidcLogin> oidc = nullptr;
  // spec.tls: null for a site on HTTP only.
  std::shared_ptr<const SiteTls> tls = nullptr;
};

// What the limit log says of a request refused for its site's body limit.
inline std::string site_body_limit_detail(uint64_t max_body_bytes) {
  return "request body over the site's limit of " + std::to_string(max_body_bytes) + " bytes";
}

class RouteTable {
 public:
  // hosts: exact names ("www.a.localhost") or wildcards ("*.a.localhost",
  // matching exactly one more label). Host names are lowercase.
  void add(std::string host, std::shared_ptr<const Route> route);
  // Removes the entry of `host` if it routes to site project/site.
  void remove(std::string_view host, std::string_view project, std::string_view site);
  // The route of any host that matches nothing else (`wok serve` in a pod,
  // where the Ingress already chose the site).
  void set_default(std::shared_ptr<const Route> route) { default_ = std::move(route); }
  // Looks up a Host header value: lowercased, port stripped; exact match
  // first, then the wildcard of the parent domain, then the default. nullptr if none.
  const Route* find(std::string_view host_header) const;
  size_t size() const { return size_; }

 private:
  struct KeyHash {  // lets find() take a string_view without a copy
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  using Map =
      std::unordered_map<std::string, std::shared_ptr<const Route>, KeyHash, std::equal_to<>>;
  static constexpr size_t kShards = 256;
  using Shards = std::array<std::shared_ptr<Map>, kShards>;

  static size_t shard_of(std::string_view key);
  // The shard of `key`, cloned first if another table shares it.
  Map& writable(Shards& shards, std::string_view key);
  static const Route* lookup(const Shards& shards, std::string_view key);

  Shards exact_;
  Shards wildcard_;  // key: parent domain
  std::shared_ptr<const Route> default_;
  size_t size_ = 0;
};

}  // namespace wok::router
