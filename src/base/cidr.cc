#include "base/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace wok::base {

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress out;
  if (inet_pton(AF_INET, buf, out.bytes.data()) == 1) return out;
  if (inet_pton(AF_INET6, buf, out.bytes.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.bytes.data(), kMapped, 12) == 0) {
    std::memmove(out.bytes.data(), out.bytes.data() + 12, 4);
    std::memset(out.bytes.data() + 4, 0, 12);
    return out;
  }
  out.v6 = true;
  return out;
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* error) {
  const size_t slash = text.find('/');
  auto address = parse_ip(text.substr(0, slash));
  if (!address) {
    *error = "is not an IP network (10.0.0.0/8, 2001:db8::/32) or address";
    return std::nullopt;
  }
  // An IPv4-mapped network is not one a client is matched against as such.
  const int max = address->v6 ? 128 : 32;
  Cidr out{*address, max};
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), out.prefix);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || out.prefix < 0 ||
        out.prefix > max) {
      *error = "has a prefix length that is not 0 to " + std::to_string(max);
      return std::nullopt;
    }
  }
  for (int bit = out.prefix; bit < max; ++bit) {
    if (out.network.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      *error = "has bits set past its prefix length (the network's first address was meant?)";
      return std::nullopt;
    }
  }
  return out;
}

bool Cidr::contains(const IpAddress& address) const {
  if (address.v6 != network.v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(address.bytes.data(), network.bytes.data(), static_cast<size_t>(full)) != 0)
    return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes[full] & mask) == (network.bytes[full] & mask);
}

}  // namespace wok::base
