#include "controllers/route_publisher.h"

#include <memory>

#include "router/route_table.h"
#include "router/router.h"

namespace wok::controllers {

void RoutePublisher::set(const std::string& ns, const std::string& name,
                         const std::vector<std::string>& hosts, const std::string& root) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[{ns, name}];
  if (e.hosts == hosts && e.root == root) return;
  e = Entry{hosts, root};
  publish();
}

void RoutePublisher::remove(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  if (entries_.erase({ns, name})) publish();
}

size_t RoutePublisher::sites() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void RoutePublisher::publish() {
  auto table = std::make_shared<router::RouteTable>();
  for (const auto& [key, e] : entries_) {
    auto route = std::make_shared<const router::Route>(router::Route{key.first, key.second, e.root});
    for (const auto& h : e.hosts) table->add(h, route);
  }
  router_.set_table(std::move(table));
}

}  // namespace wok::controllers
