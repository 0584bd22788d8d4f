#include "router/route_table.h"

#include <functional>

#include "base/assert.h"
#include "http/ascii.h"

namespace wok::router {
namespace {

// "WWW.Example.org.:8080" -> "WWW.Example.org"; "[::1]:80" -> "[::1]".
std::string_view host_name(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

// "WWW.Example.org.:8080" -> "www.example.org"; "[::1]:80" -> "[::1]".
std::string normalize_host(std::string_view host) { return http::ascii_lowercase(host_name(host)); }

bool is_wildcard(std::string_view name) { return name.size() > 2 && name.substr(0, 2) == "*."; }

}  // namespace

size_t RouteTable::shard_of(std::string_view key) {
  return std::hash<std::string_view>{}(key) % kShards;
}

RouteTable::Map& RouteTable::writable(Shards& shards, std::string_view key) {
  std::shared_ptr<Map>& shard = shards[shard_of(key)];
  // use_count() == 1: only this table (still being built) holds the shard.
  if (!shard) {
    shard = std::make_shared<Map>();
  } else if (shard.use_count() > 1) {
    shard = std::make_shared<Map>(*shard);
  }
  return *shard;
}

const Route* RouteTable::lookup(const Shards& shards, std::string_view key) {
  const std::shared_ptr<Map>& shard = shards[shard_of(key)];
  if (!shard) return nullptr;
  auto it = shard->find(key);
  return it == shard->end() ? nullptr : it->second.get();
}

void RouteTable::add(std::string host, std::shared_ptr<const Route> route) {
  std::string name = normalize_host(host);
  bool wildcard = is_wildcard(name);
  std::string key = wildcard ? name.substr(2) : std::move(name);
  Map& map = writable(wildcard ? wildcard_ : exact_, key);
  auto [it, inserted] = map.insert_or_assign(std::move(key), std::move(route));
  if (inserted) ++size_;
}

void RouteTable::remove(std::string_view host, std::string_view project, std::string_view site) {
  std::string name = normalize_host(host);
  bool wildcard = is_wildcard(name);
  std::string key = wildcard ? name.substr(2) : std::move(name);
  Shards& shards = wildcard ? wildcard_ : exact_;
  const Route* current = lookup(shards, key);
  if (!current || current->project != project || current->site != site) return;
  Map& map = writable(shards, key);
  auto it = map.find(std::string_view(key));
  WOK_ASSERT(it != map.end(), "a route found by lookup is missing from its writable shard");
  map.erase(it);
  --size_;
}

const Route* RouteTable::find(std::string_view host_header) const {
  // Lowercased on the stack: a lookup per request allocates nothing (a
  // name longer than DNS allows still finds, or misses, the same way).
  std::string_view name = host_name(host_header);
  char buffer[256];
  std::string longer;
  std::string_view host;
  if (name.size() <= sizeof buffer) {
    for (size_t i = 0; i < name.size(); ++i) buffer[i] = http::ascii_lower(name[i]);
    host = std::string_view(buffer, name.size());
  } else {
    longer = http::ascii_lowercase(name);
    host = longer;
  }
  if (host.empty()) return default_.get();
  if (const Route* r = lookup(exact_, host)) return r;
  // "*.parent" covers exactly one more label: the first label must be non-empty.
  size_t dot = host.find('.');
  if (dot == 0 || dot == std::string_view::npos) return default_.get();
  const Route* r = lookup(wildcard_, host.substr(dot + 1));
  return r ? r : default_.get();
}

}  // namespace wok::router
