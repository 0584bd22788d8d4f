#pragma once
// What a fetch of a tenant's repository may cost and where it may connect:
// a wall-clock limit, a size cap, and no network destination inside the
// host or its networks (wok's own API on loopback, the cloud metadata
// address, other tenants' services), unless the admin allows them.
#include <chrono>
#include <cstdint>
#include <string>

struct sockaddr;

namespace wok::git {

struct FetchLimits {
  std::chrono::seconds timeout{300};       // the whole transfer
  uint64_t max_bytes = uint64_t{2} << 30;  // bytes received (the pack), 2 GiB
  // Loopback, link-local, private, shared (CGNAT), multicast and unspecified
  // addresses are refused unless this is set (the admin's choice).
  bool allow_private_networks = false;
};

// The host a network URL connects to: http(s)://, ssh://, git://,
// git+ssh:// and scp-like "user@host:path" ("[::1]" -> "::1"). "" for a
// local source (file://, a path) and schemes libgit2 does not fetch over.
std::string remote_host(const std::string& url);

// Why a fetch must not connect to `address` ("a loopback address",
// "the cloud metadata address", ...), or "" when it may.
std::string forbidden_address_kind(const sockaddr* address);

// "" when `address` (one that `host` resolved to) may be connected to under
// `limits`, else why not, naming both.
std::string refuse_address(const std::string& host, const sockaddr* address, unsigned length,
                           const FetchLimits& limits);

// "" when `url` is local, or every address its host resolves to may be
// fetched from under `limits`; otherwise the error, naming the host and
// the address ("host 127.0.0.1 resolves to 127.0.0.1, a loopback address").
std::string check_destination(const std::string& url, const FetchLimits& limits);

// The same for a host name or address literal ("registry.example.org",
// "127.0.0.1", "::1"): "" when every address it resolves to may be
// connected to, else why not; a name that does not resolve is refused.
std::string check_host(const std::string& host, const FetchLimits& limits);

// The budget of one transfer, checked from libgit2's progress callbacks.
class TransferBudget {
 public:
  using Clock = std::chrono::steady_clock;
  TransferBudget(const FetchLimits& limits, Clock::time_point start)
      : limits_(limits), start_(start) {}
  // "" while within the limits, else which limit the transfer went over;
  // the first such answer is kept in exceeded().
  std::string check(uint64_t received_bytes, Clock::time_point now);
  const std::string& exceeded() const { return exceeded_; }

 private:
  FetchLimits limits_;
  Clock::time_point start_;
  std::string exceeded_;
};

}  // namespace wok::git
