#pragma once
// Keeps the desired routes of every site and hands the router a fresh
// immutable RouteTable after each change.
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace wok::router {
class Router;
}

namespace wok::controllers {

class RoutePublisher {
 public:
  explicit RoutePublisher(router::Router& router) : router_(router) {}
  // Routes `hosts` of site ns/name to `root`; replaces what the site had.
  void set(const std::string& ns, const std::string& name, const std::vector<std::string>& hosts,
           const std::string& root);
  void remove(const std::string& ns, const std::string& name);
  size_t sites();

 private:
  struct Entry {
    std::vector<std::string> hosts;
    std::string root;
  };
  void publish();  // mu_ held

  router::Router& router_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> entries_;
};

}  // namespace wok::controllers
