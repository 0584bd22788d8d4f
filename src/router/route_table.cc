#include "router/route_table.h"

#include "http/ascii.h"

namespace wok::router {
namespace {

// "WWW.Example.org.:8080" -> "www.example.org"; "[::1]:80" -> "[::1]".
std::string normalize_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return http::ascii_lowercase(host);
}

}  // namespace

void RouteTable::add(std::string host, std::shared_ptr<const Route> route) {
  std::string name = normalize_host(host);
  if (name.size() > 2 && name.compare(0, 2, "*.") == 0) {
    wildcard_[name.substr(2)] = std::move(route);
  } else {
    exact_[std::move(name)] = std::move(route);
  }
}

const Route* RouteTable::find(std::string_view host_header) const {
  std::string host = normalize_host(host_header);
  if (host.empty()) return nullptr;
  if (auto it = exact_.find(host); it != exact_.end()) return it->second.get();
  // "*.parent" covers exactly one more label: the first label must be non-empty.
  size_t dot = host.find('.');
  if (dot == 0 || dot == std::string::npos) return nullptr;
  if (auto it = wildcard_.find(host.substr(dot + 1)); it != wildcard_.end()) {
    return it->second.get();
  }
  return nullptr;
}

}  // namespace wok::router
