#include "router/proxy/upstream_pool.h"

#include <charconv>
#include <functional>

namespace wok::router {

std::optional<UpstreamAddress> UpstreamAddress::parse(std::string_view text) {
  UpstreamAddress a;
  if (text.substr(0, 5) == "unix:") {
    a.unix_path = std::string(text.substr(5));
    if (a.unix_path.empty() || a.unix_path[0] != '/') return std::nullopt;
    return a;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  a.host = std::string(host);
  a.port = static_cast<uint16_t>(value);
  return a;
}

size_t UpstreamAddress::hash() const {
  std::hash<std::string_view> h;
  size_t seed = h(host) ^ (size_t{port} << 1);
  for (const std::string* s : {&unix_path, &netns}) {
    seed ^= h(*s) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  }
  return seed;
}

}  // namespace wok::router
