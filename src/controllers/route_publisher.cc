#include "controllers/route_publisher.h"

#include <memory>

#include "router/route_table.h"
#include "router/router.h"

namespace wok::controllers {

void RoutePublisher::set(const std::string& ns, const std::string& name,
                         const std::vector<std::string>& hosts, const std::string& root,
                         bool serve_dot_files) {
  std::lock_guard lock(mu_);
  auto it = entries_.find({ns, name});
  if (it != entries_.end() && it->second.hosts == hosts && it->second.root == root &&
      !it->second.upstream && !it->second.fastcgi &&
      it->second.serve_dot_files == serve_dot_files) {
    return;
  }
  replace(ns, name, Entry{hosts, root, nullptr, nullptr, 0, serve_dot_files});
}

void RoutePublisher::set_proxy(const std::string& ns, const std::string& name,
                               const std::vector<std::string>& hosts,
                               std::shared_ptr<const router::UpstreamPool> upstream,
                               uint64_t max_body_bytes) {
  std::lock_guard lock(mu_);
  replace(ns, name, Entry{hosts, "", std::move(upstream), nullptr, max_body_bytes});
}

void RoutePublisher::set_php(const std::string& ns, const std::string& name,
                             const std::vector<std::string>& hosts, const std::string& root,
                             const router::FastCgiTarget& fastcgi, uint64_t max_body_bytes,
                             bool serve_dot_files) {
  std::lock_guard lock(mu_);
  replace(ns, name,
          Entry{hosts, root, nullptr, std::make_shared<const router::FastCgiTarget>(fastcgi),
                max_body_bytes, serve_dot_files});
}

void RoutePublisher::set_deploying(const std::string& ns, const std::string& name,
                                   const std::vector<std::string>& hosts) {
  std::lock_guard lock(mu_);
  auto it = entries_.find({ns, name});
  if (it != entries_.end() && it->second.deploying && it->second.hosts == hosts) return;
  Entry e;
  e.hosts = hosts;
  e.deploying = true;
  replace(ns, name, std::move(e));
}

void RoutePublisher::set_restoring(const std::string& ns, const std::string& name, bool on) {
  std::lock_guard lock(mu_);
  if (on ? !restoring_.insert({ns, name}).second : restoring_.erase({ns, name}) == 0) return;
  auto entry = entries_.find({ns, name});
  if (entry != entries_.end()) replace(ns, name, entry->second);
}

void RoutePublisher::remove(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  access_.erase({ns, name});
  tls_.erase({ns, name});
  if (entries_.count({ns, name})) replace(ns, name, std::nullopt);
}

namespace {

bool same_login(const std::shared_ptr<const router::BasicAuth>& a,
                const std::shared_ptr<const router::BasicAuth>& b) {
  if (!a || !b) return !a && !b;
  return a->realm == b->realm && a->users == b->users && a->error == b->error &&
         a->exempt == b->exempt;
}

bool same_oidc(const std::shared_ptr<const router::OidcLogin>& a,
               const std::shared_ptr<const router::OidcLogin>& b) {
  if (!a || !b) return !a && !b;
  return a->issuer == b->issuer && a->client_id == b->client_id &&
         a->client_secret == b->client_secret && a->scopes == b->scopes &&
         a->user_claim == b->user_claim && a->groups_claim == b->groups_claim &&
         a->allowed_users == b->allowed_users && a->allowed_groups == b->allowed_groups &&
         a->session == b->session && a->exempt == b->exempt && a->error == b->error &&
         a->project == b->project && a->site == b->site;
}

}  // namespace

void RoutePublisher::set_access(const std::string& ns, const std::string& name,
                                const std::vector<std::string>& allow,
                                const std::vector<std::string>& deny,
                                std::shared_ptr<const router::BasicAuth> basic_auth,
                                std::shared_ptr<const router::OidcLogin> oidc) {
  std::lock_guard lock(mu_);
  auto it = access_.find({ns, name});
  if (allow.empty() && deny.empty() && !basic_auth && !oidc) {
    if (it == access_.end()) return;
    access_.erase(it);
  } else {
    if (it != access_.end() && it->second.allow == allow && it->second.deny == deny &&
        same_login(it->second.basic_auth, basic_auth) && same_oidc(it->second.oidc, oidc))
      return;
    access_[{ns, name}] =
        Access{allow, deny,
               allow.empty() && deny.empty() ? nullptr : router::make_access_rules(allow, deny),
               std::move(basic_auth), std::move(oidc)};
  }
  auto entry = entries_.find({ns, name});
  if (entry != entries_.end()) replace(ns, name, entry->second);  // the same routes, new rules
}

void RoutePublisher::set_tls(const std::string& ns, const std::string& name,
                             std::shared_ptr<const router::SiteTls> tls) {
  std::lock_guard lock(mu_);
  auto it = tls_.find({ns, name});
  if (!tls) {
    if (it == tls_.end()) return;
    tls_.erase(it);
  } else {
    if (it != tls_.end() && it->second == tls) return;
    tls_[{ns, name}] = std::move(tls);
  }
  auto entry = entries_.find({ns, name});
  if (entry != entries_.end()) replace(ns, name, entry->second);  // the same routes, new TLS
}

size_t RoutePublisher::sites() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void RoutePublisher::replace(const std::string& ns, const std::string& name,
                             std::optional<Entry> next) {
  // A copy of the live table shares every shard; only the touched ones are cloned.
  auto table = table_ ? std::make_shared<router::RouteTable>(*table_)
                      : std::make_shared<router::RouteTable>();
  auto it = entries_.find({ns, name});
  if (it != entries_.end()) {
    for (const auto& h : it->second.hosts) table->remove(h, ns, name);
  }
  if (next) {
    router::Route r{ns, name, next->root, next->upstream, next->fastcgi};
    r.max_body_bytes = next->max_body_bytes;
    r.serve_dot_files = next->serve_dot_files;
    r.deploying = next->deploying;
    if (restoring_.count({ns, name})) {  // nothing of the site is reached meanwhile
      r.restoring = true;
      r.upstream = nullptr;
      r.fastcgi = nullptr;
    }
    if (auto a = access_.find({ns, name}); a != access_.end()) {
      r.access = a->second.rules;
      r.basic_auth = a->second.basic_auth;
      r.oidc = a->second.oidc;
    }
    if (auto t = tls_.find({ns, name}); t != tls_.end()) r.tls = t->second;
    auto route = std::make_shared<const router::Route>(std::move(r));
    for (const auto& h : next->hosts) table->add(h, route);
    entries_[{ns, name}] = std::move(*next);
  } else {
    entries_.erase({ns, name});
  }
  table_ = table;
  router_.set_table(std::move(table));
}

}  // namespace wok::controllers
