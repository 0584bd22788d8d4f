#pragma once
// IP networks in CIDR notation (10.0.0.0/8, 2001:db8::/32), and whether an
// address is in one: what spec.access's ipAllow and ipDeny hold, checked by
// the validator and matched by the router. IPv4 and IPv6; an IPv4-mapped
// IPv6 address (::ffff:10.1.2.3, what a dual-stack socket reports) is the
// IPv4 address.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wok::base {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4: the first 4
};

struct Cidr {
  IpAddress network;
  int prefix = 0;  // 0..32 (v4), 0..128 (v6)
  bool contains(const IpAddress& address) const;
};

// "10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3" (as IPv4); nullopt if not one.
std::optional<IpAddress> parse_ip(std::string_view text);

// "10.0.0.0/8", "2001:db8::/32", or an address alone (/32, /128). nullopt
// and *error (what is wrong, never the text itself) when it is not one, or
// when bits are set past the prefix ("10.0.0.1/8": 10.0.0.0/8 was meant?).
std::optional<Cidr> parse_cidr(std::string_view text, std::string* error);

}  // namespace wok::base
