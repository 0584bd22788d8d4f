#pragma once
// A route's upstreams: where a proxied site's requests go and how they are
// spread. Immutable, shared by route tables; the per-loop state (idle
// connections, health) lives in LoopUpstreams.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wok::router {

struct UpstreamAddress {
  std::string host;  // TCP: numeric IPv4/IPv6 address or name resolved at connect
  uint16_t port = 0;
  std::string unix_path;  // non-empty: a unix socket
  // Non-empty: a network namespace file (/proc/PID/ns/net of a sandboxed
  // instance); the TCP connection to host:port is made inside it.
  std::string netns;

  // "127.0.0.1:8080", "[::1]:8080", "unix:/run/app.sock"; nullopt if malformed.
  static std::optional<UpstreamAddress> parse(std::string_view text);
  // Identifies the upstream across tables (per-loop idle connections and
  // health are keyed by it). The netns is part of it: every sandbox listens
  // on the same 127.0.0.1:PORT in its own namespace.
  bool operator==(const UpstreamAddress&) const = default;
  size_t hash() const;
};

enum class BalancePolicy { kRoundRobin, kLeastConnections };

struct UpstreamOptions {
  int connect_timeout_ms = 5'000;  // then 502
  int read_timeout_ms = 60'000;    // silence from the upstream; then 504
  int max_fails = 3;               // consecutive failures before ejection
  int fail_timeout_ms = 10'000;    // ejection time; then it is tried again
  int max_idle = 256;              // idle keep-alive connections per upstream per loop
  int idle_timeout_ms = 30'000;    // an idle connection older than this is not reused
};

class UpstreamPool {
 public:
  UpstreamPool(std::vector<UpstreamAddress> addresses,
               BalancePolicy policy = BalancePolicy::kRoundRobin, UpstreamOptions options = {})
      : addresses_(std::move(addresses)),
        policy_(policy),
        options_(options),
        in_flight_(std::make_unique<std::atomic<int>[]>(addresses_.size())) {}

  const std::vector<UpstreamAddress>& addresses() const { return addresses_; }
  BalancePolicy policy() const { return policy_; }
  const UpstreamOptions& options() const { return options_; }
  // Round-robin cursor shared by all loops: a relaxed counter, not a lock.
  uint32_t next_turn() const { return turn_.fetch_add(1, std::memory_order_relaxed); }
  // Requests in flight to upstream i from every loop (least-connections
  // only: round robin does not count, and so does not share a cache line).
  void begin_request(size_t i) const {
    if (policy_ == BalancePolicy::kLeastConnections)
      in_flight_[i].fetch_add(1, std::memory_order_relaxed);
  }
  void end_request(size_t i) const {
    if (policy_ == BalancePolicy::kLeastConnections)
      in_flight_[i].fetch_sub(1, std::memory_order_relaxed);
  }
  int in_flight(size_t i) const { return in_flight_[i].load(std::memory_order_relaxed); }

 private:
  std::vector<UpstreamAddress> addresses_;
  BalancePolicy policy_;
  UpstreamOptions options_;
  mutable std::atomic<uint32_t> turn_{0};
  std::unique_ptr<std::atomic<int>[]> in_flight_;  // counters, not configuration
};

}  // namespace wok::router
