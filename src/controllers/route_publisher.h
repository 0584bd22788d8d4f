#pragma once
// Keeps the desired routes of every site and hands the router a fresh
// immutable RouteTable after each change: a copy-on-write edit of the last
// one, so a change costs the same with 10 sites or 100,000.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace wok::router {
struct AccessRules;
struct BasicAuth;
struct OidcLogin;
struct SiteTls;
struct FastCgiTarget;
class Router;
class RouteTable;
class UpstreamPool;
}  // namespace wok::router

namespace wok::controllers {

class RoutePublisher {
 public:
  explicit RoutePublisher(router::Router& router) : router_(router) {}
  // Routes `hosts` of site ns/name to `root`; replaces what the site had.
  // serve_dot_files: spec.serveDotFiles (otherwise .env, .git/... are not found).
  void set(const std::string& ns, const std::string& name, const std::vector<std::string>& hosts,
           const std::string& root, bool serve_dot_files = false);
  // Routes `hosts` of site ns/name to upstreams (reverse proxy); replaces
  // what the site had. The pool is shared as is by every table published.
  // max_body_bytes: the site's request body limit (413); 0: the server's.
  void set_proxy(const std::string& ns, const std::string& name,
                 const std::vector<std::string>& hosts,
                 std::shared_ptr<const router::UpstreamPool> upstream, uint64_t max_body_bytes = 0);
  // Routes `hosts` of site ns/name to a php site: static files from `root`,
  // scripts to php-fpm at `fastcgi`; replaces what the site had.
  void set_php(const std::string& ns, const std::string& name,
               const std::vector<std::string>& hosts, const std::string& root,
               const router::FastCgiTarget& fastcgi, uint64_t max_body_bytes = 0,
               bool serve_dot_files = false);
  // The site has nothing to serve yet but its first revision is on its way:
  // its hosts answer 503 "being deployed" (Retry-After) instead of 404.
  void set_deploying(const std::string& ns, const std::string& name,
                     const std::vector<std::string>& hosts);
  void remove(const std::string& ns, const std::string& name);
  // While on, the site's hosts answer 503 "being restored" whatever its
  // routes say (they keep being updated underneath, and serve once it is off).
  void set_restoring(const std::string& ns, const std::string& name, bool on);
  // spec.access of site ns/name (its current spec, whatever revision
  // serves: as an Ingress's annotations on a cluster), for every route it
  // has or gets; republished when it changes. Empty lists: every client.
  // basic_auth: spec.access.basicAuth as read from its secret (null: no login);
  // oidc: spec.access.oidc with its client secret (null: none).
  void set_access(const std::string& ns, const std::string& name,
                  const std::vector<std::string>& allow, const std::vector<std::string>& deny,
                  std::shared_ptr<const router::BasicAuth> basic_auth = nullptr,
                  std::shared_ptr<const router::OidcLogin> oidc = nullptr);
  // spec.tls of site ns/name (its certificate, redirect and HSTS) for every
  // route it has or gets; null: HTTP only. Republished when it changes.
  void set_tls(const std::string& ns, const std::string& name,
               std::shared_ptr<const router::SiteTls> tls);
  size_t sites();

 private:
  struct Entry {
    std::vector<std::string> hosts;
    std::string root;
    std::shared_ptr<const router::UpstreamPool> upstream = nullptr;
    std::shared_ptr<const router::FastCgiTarget> fastcgi = nullptr;
    uint64_t max_body_bytes = 0;
    bool serve_dot_files = false;
    bool deploying = false;
  };
  // Publishes a table where site ns/name has `next` (or nothing). mu_ held.
  void replace(const std::string& ns, const std::string& name, std::optional<Entry> next);

  struct Access {
    std::vector<std::string> allow, deny;
    std::shared_ptr<const router::AccessRules> rules;
    std::shared_ptr<const router::BasicAuth> basic_auth;
    std::shared_ptr<const router::OidcLogin> oidc;
  };
  router::Router& router_;
  std::mutex mu_;
  std::set<std::pair<std::string, std::string>> restoring_;
  std::map<std::pair<std::string, std::string>, Access> access_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const router::SiteTls>> tls_;
  std::map<std::pair<std::string, std::string>, Entry> entries_;
  std::shared_ptr<const router::RouteTable> table_;  // the last one published
};

}  // namespace wok::controllers
