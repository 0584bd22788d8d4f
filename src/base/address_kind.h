#pragma once
// Which network destinations a connection a tenant asks for must not reach
// unless the admin allows it: loopback, link-local, private, shared
// (CGNAT), multicast and unspecified addresses, and the clouds' metadata
// services (wok's own API, instance credentials, other tenants' services).
// One judgement for git fetches, image pulls and a site's OpenID provider.
#include <string>

struct sockaddr;

namespace wok::base {

// Why `address` must not be connected to ("a loopback address", "the cloud
// metadata address", ...), or "" when it may. IPv4 addresses inside IPv6
// (mapped, compatible, NAT64) are judged as the IPv4 address.
std::string forbidden_address_kind(const sockaddr* address);

}  // namespace wok::base
