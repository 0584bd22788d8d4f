#pragma once
// The router's immutable view of which host is served from where. Built by
// the controllers, swapped atomically into the Router; never mutated.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wok::router {

struct Route {
  std::string project;  // namespace of the Site
  std::string site;     // Site name
  std::string root;     // absolute path of the live revision's document root
};

class RouteTable {
 public:
  // hosts: exact names ("www.a.localhost") or wildcards ("*.a.localhost",
  // matching exactly one more label). Host names are lowercase.
  void add(std::string host, std::shared_ptr<const Route> route);
  // Looks up a Host header value: lowercased, port stripped; exact match
  // first, then the wildcard of the parent domain. nullptr if none.
  const Route* find(std::string_view host_header) const;
  size_t size() const { return exact_.size() + wildcard_.size(); }

 private:
  std::unordered_map<std::string, std::shared_ptr<const Route>> exact_;
  std::unordered_map<std::string, std::shared_ptr<const Route>> wildcard_;  // key: parent domain
};

}  // namespace wok::router
