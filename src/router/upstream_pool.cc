#include "router/upstream_pool.h"

#include <charconv>

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

std::string UpstreamAddress::key() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace wok::router
