#include "base/address_kind.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace wok::base {
namespace {

bool in_v4(uint32_t address, uint32_t network, int prefix) {
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (address & mask) == (network & mask);
}

constexpr uint32_t v4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

std::string v4_kind(uint32_t a) {
  // The metadata services of the clouds: AWS, GCP, Azure, OpenStack (and
  // Alibaba's 100.100.100.200): instance credentials for the asking.
  if (a == v4(169, 254, 169, 254) || a == v4(100, 100, 100, 200))
    return "the cloud metadata address";
  if (in_v4(a, v4(0, 0, 0, 0), 8)) return "an unspecified address";
  if (in_v4(a, v4(127, 0, 0, 0), 8)) return "a loopback address";
  if (in_v4(a, v4(169, 254, 0, 0), 16)) return "a link-local address";
  if (in_v4(a, v4(10, 0, 0, 0), 8) || in_v4(a, v4(172, 16, 0, 0), 12) ||
      in_v4(a, v4(192, 168, 0, 0), 16)) {
    return "a private address";
  }
  if (in_v4(a, v4(100, 64, 0, 0), 10)) return "a shared (carrier-grade NAT) address";
  if (in_v4(a, v4(224, 0, 0, 0), 3)) return "a multicast or reserved address";  // 224/4 and 240/4
  // IETF protocol assignments (192.0.0.0/24) and the benchmarking network
  // (198.18.0.0/15): never a public server.
  if (in_v4(a, v4(192, 0, 0, 0), 24) || in_v4(a, v4(198, 18, 0, 0), 15))
    return "a reserved address";
  return "";
}

std::string v6_kind(const in6_addr& address) {
  const uint8_t* b = address.s6_addr;
  static constexpr std::array<uint8_t, 16> kUnspecified{};
  static constexpr std::array<uint8_t, 16> kLoopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr std::array<uint8_t, 16> kAwsMetadata{0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
                                                        0,    0, 0,    0,    0, 0, 0x02, 0x54};
  auto equals = [b](const std::array<uint8_t, 16>& other) {
    return std::equal(other.begin(), other.end(), b);
  };
  auto embedded_v4 = [b] { return v4(b[12], b[13], b[14], b[15]); };
  if (equals(kUnspecified)) return "an unspecified address";
  if (equals(kLoopback)) return "a loopback address";
  if (equals(kAwsMetadata)) return "the cloud metadata address";
  const bool zero_80 = std::all_of(b, b + 10, [](uint8_t x) { return x == 0; });
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible) and 64:ff9b::a.b.c.d
  // (NAT64) reach an IPv4 address: judged as that address.
  if (zero_80 && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)))
    return v4_kind(embedded_v4());
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
      std::all_of(b + 4, b + 12, [](uint8_t x) { return x == 0; })) {
    return v4_kind(embedded_v4());
  }
  // Local-use NAT64 (64:ff9b:1::/48) reaches whatever the translator's
  // network holds.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1)
    return "a private address";
  // 6to4 (2002:V4ADDR::/48) reaches the IPv4 address it embeds.
  if (b[0] == 0x20 && b[1] == 0x02) {
    std::string kind = v4_kind(v4(b[2], b[3], b[4], b[5]));
    if (!kind.empty()) return kind;
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address";  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "a private address";  // fec0::/10 (site-local)
  if ((b[0] & 0xfe) == 0xfc) return "a private address";                  // fc00::/7
  if (b[0] == 0xff) return "a multicast or reserved address";
  return "";
}

}  // namespace

std::string forbidden_address_kind(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    return v4_kind(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6)
    return v6_kind(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  return "an address of an unknown family";
}

}  // namespace wok::base
