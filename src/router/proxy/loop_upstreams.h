#pragma once
// One loop's view of the upstreams it talks to: idle keep-alive
// connections, requests in flight (what it must remember of an upstream;
// least-connections counts in the pool, over all loops) and passive health.
// Kept in the loop's local storage and keyed by address, so it survives
// route table swaps; only that loop's thread touches it: no locks.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/loop.h"
#include "router/proxy/upstream_pool.h"

namespace wok::router {

class LoopUpstreams {
 public:
  explicit LoopUpstreams(http::Loop& loop) : loop_(loop) {}
  ~LoopUpstreams();  // closes idle connections
  LoopUpstreams(const LoopUpstreams&) = delete;
  LoopUpstreams& operator=(const LoopUpstreams&) = delete;

  static LoopUpstreams& of(http::Loop& loop);

  // Index of the upstream to try next, skipping those already tried and
  // those ejected (unless every candidate is ejected: then the one whose
  // ejection ends first); -1 when all were tried.
  int pick(const UpstreamPool& pool, const std::vector<bool>& tried);

  // A connection is handed over with its watch token: it stays registered
  // with the loop while pooled, only its callback changes (no epoll_ctl).
  struct Handle {
    int fd = -1;
    uint64_t token = 0;  // watched with EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET
  };
  // An idle connection to address; fd -1 when there is none.
  Handle take_idle(const UpstreamAddress& address);
  // Keeps a connection that finished a response cleanly for reuse (or
  // closes it when the pool is full).
  void put_idle(const UpstreamAddress& address, Handle connection, const UpstreamOptions& options);

  void begin_request(const UpstreamAddress& address) { ++state(address).active; }
  void end_request(const UpstreamAddress& address) { --state(address).active; }
  void report_success(const UpstreamAddress& address) { state(address).fails = 0; }
  void report_failure(const UpstreamAddress& address, const UpstreamOptions& options);
  bool ejected(const UpstreamAddress& address);
  // Upstreams this loop keeps state for (tests).
  size_t tracked() const { return states_.size(); }

 private:
  struct Idle {
    Handle connection;
    int64_t since_ms;
  };
  struct State {
    int active = 0;
    int fails = 0;
    int64_t ejected_until_ms = 0;
    std::vector<Idle> idle;
  };
  struct AddressHash {
    size_t operator()(const UpstreamAddress& a) const { return a.hash(); }
  };
  // Several lookups per request, nearly always of the same upstream: the
  // last entry is compared first (its key lives in the map, so the
  // comparison is safe whatever became of the caller's address), then the
  // map is keyed by the address itself.
  State& state(const UpstreamAddress& address) {
    if (last_ != nullptr && last_->first == address) return last_->second;
    return add_or_find(address);
  }
  State& add_or_find(const UpstreamAddress& address);
  // Forgets upstreams with nothing to remember (no idle connection, no
  // request in flight, no failure): sandboxed instances get a new address
  // (their network namespace) at every rollout.
  void sweep();
  void drop_idle(uint64_t token);
  void close_connection(Handle connection);

  http::Loop& loop_;
  std::unordered_map<UpstreamAddress, State, AddressHash> states_;
  std::pair<const UpstreamAddress, State>* last_ = nullptr;  // nodes are stable until sweep()
  size_t sweep_at_ = 256;
};

}  // namespace wok::router
