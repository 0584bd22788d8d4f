#include "router/proxy/loop_upstreams.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <memory>
#include <utility>

namespace wok::router {
namespace {
const char kSlotKey = 0;
}

LoopUpstreams& LoopUpstreams::of(http::Loop& loop) {
  std::shared_ptr<void>& slot = loop.local(&kSlotKey);
  if (!slot) slot = std::make_shared<LoopUpstreams>(loop);
  return *static_cast<LoopUpstreams*>(slot.get());
}

LoopUpstreams::~LoopUpstreams() {
  for (auto& [key, st] : states_) {
    for (Idle& i : st.idle) close_connection(i.connection);
  }
}

void LoopUpstreams::close_connection(Handle connection) {
  loop_.unwatch(connection.token);
  close(connection.fd);
}

LoopUpstreams::State& LoopUpstreams::add_or_find(const UpstreamAddress& address) {
  auto it = states_.find(address);
  if (it == states_.end()) {
    if (states_.size() >= sweep_at_) sweep();
    it = states_.try_emplace(address).first;
  }
  last_ = &*it;
  return it->second;
}

void LoopUpstreams::sweep() {
  const int64_t now = loop_.now_ms();
  for (auto it = states_.begin(); it != states_.end();) {
    const State& st = it->second;
    bool forgettable =
        st.idle.empty() && st.active == 0 && st.fails == 0 && st.ejected_until_ms <= now;
    it = forgettable ? states_.erase(it) : std::next(it);
  }
  last_ = nullptr;
  // Upstreams that are all in use are not swept again at every new one.
  sweep_at_ = std::max<size_t>(256, states_.size() * 2);
}

bool LoopUpstreams::ejected(const UpstreamAddress& address) {
  return state(address).ejected_until_ms > loop_.now_ms();
}

int LoopUpstreams::pick(const UpstreamPool& pool, const std::vector<bool>& tried) {
  const auto& addresses = pool.addresses();
  const size_t n = addresses.size();
  if (n == 0) return -1;
  // Least-connections starts from the turn too: ties go round.
  const size_t start = pool.next_turn() % n;
  int best = -1;
  int best_active = std::numeric_limits<int>::max();
  int fallback = -1;  // every candidate ejected: the one back soonest
  int64_t fallback_until = std::numeric_limits<int64_t>::max();
  for (size_t k = 0; k < n; ++k) {
    size_t i = (start + k) % n;
    if (tried[i]) continue;
    State& st = state(addresses[i]);
    if (st.ejected_until_ms > loop_.now_ms()) {
      if (st.ejected_until_ms < fallback_until) {
        fallback_until = st.ejected_until_ms;
        fallback = static_cast<int>(i);
      }
      continue;
    }
    if (pool.policy() == BalancePolicy::kRoundRobin) return static_cast<int>(i);
    // Counted by the pool over every loop: a request in flight on another
    // loop counts too.
    if (int active = pool.in_flight(i); active < best_active) {
      best_active = active;
      best = static_cast<int>(i);
    }
  }
  return best >= 0 ? best : fallback;
}

LoopUpstreams::Handle LoopUpstreams::take_idle(const UpstreamAddress& address) {
  State& st = state(address);
  if (st.idle.empty()) return {};
  Handle connection = st.idle.back().connection;
  st.idle.pop_back();
  return connection;
}

void LoopUpstreams::put_idle(const UpstreamAddress& address, Handle connection,
                             const UpstreamOptions& options) {
  State& st = state(address);
  // Oldest first out: they are the likeliest to be closed by the upstream soon.
  while (!st.idle.empty() &&
         (static_cast<int>(st.idle.size()) >= options.max_idle ||
          loop_.now_ms() - st.idle.front().since_ms >= options.idle_timeout_ms)) {
    close_connection(st.idle.front().connection);
    st.idle.erase(st.idle.begin());
  }
  // An idle connection that becomes readable was closed (or spoke out of
  // turn): it is dropped at once rather than handed to the next request.
  uint64_t token = connection.token;
  auto on_idle_event = [this, token](uint32_t events) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) drop_idle(token);
  };
  if (options.max_idle <= 0 || !loop_.rewatch(token, std::move(on_idle_event))) {
    close_connection(connection);
    return;
  }
  st.idle.push_back({connection, loop_.now_ms()});
}

// Rare (an upstream closing a kept-alive connection): a scan is cheaper
// than an index kept up to date on every request.
void LoopUpstreams::drop_idle(uint64_t token) {
  for (auto& [key, st] : states_) {
    for (size_t i = 0; i < st.idle.size(); ++i) {
      if (st.idle[i].connection.token == token) {
        close_connection(st.idle[i].connection);
        st.idle.erase(st.idle.begin() + static_cast<long>(i));
        return;
      }
    }
  }
}

void LoopUpstreams::report_failure(const UpstreamAddress& address, const UpstreamOptions& options) {
  State& st = state(address);
  if (++st.fails >= options.max_fails) {
    st.ejected_until_ms = loop_.now_ms() + options.fail_timeout_ms;
    st.fails = 0;  // after the cool-down it gets max_fails new chances
  }
}

}  // namespace wok::router
