#include "router/loop_upstreams.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <limits>
#include <memory>

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
    for (Idle& i : st.idle) {
      loop_.unwatch(i.token);
      close(i.fd);
    }
  }
}

bool LoopUpstreams::ejected(const UpstreamAddress& address) {
  return state(address).ejected_until_ms > loop_.now_ms();
}

int LoopUpstreams::pick(const UpstreamPool& pool, const std::vector<bool>& tried) {
  const auto& addresses = pool.addresses();
  const size_t n = addresses.size();
  if (n == 0) return -1;
  const size_t start = pool.policy() == BalancePolicy::kRoundRobin ? pool.next_turn() % n : 0;
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
    if (st.active < best_active) {
      best_active = st.active;
      best = static_cast<int>(i);
    }
  }
  return best >= 0 ? best : fallback;
}

int LoopUpstreams::take_idle(const UpstreamAddress& address) {
  State& st = state(address);
  while (!st.idle.empty()) {
    Idle i = st.idle.back();
    st.idle.pop_back();
    loop_.unwatch(i.token);
    return i.fd;
  }
  return -1;
}

void LoopUpstreams::put_idle(const UpstreamAddress& address, int fd, const UpstreamOptions& options) {
  State& st = state(address);
  // Oldest first out: they are the likeliest to be closed by the upstream soon.
  while (!st.idle.empty() &&
         (static_cast<int>(st.idle.size()) >= options.max_idle ||
          loop_.now_ms() - st.idle.front().since_ms >= options.idle_timeout_ms)) {
    loop_.unwatch(st.idle.front().token);
    close(st.idle.front().fd);
    st.idle.erase(st.idle.begin());
  }
  if (options.max_idle <= 0) {
    close(fd);
    return;
  }
  // An idle connection that becomes readable was closed (or spoke out of
  // turn): it is dropped at once rather than handed to the next request.
  std::string key = address.key();
  uint64_t token = loop_.watch(fd, EPOLLIN | EPOLLRDHUP, [this, key, fd](uint32_t) { drop_idle(key, fd); });
  if (token == 0) {
    close(fd);
    return;
  }
  st.idle.push_back({fd, token, loop_.now_ms()});
}

void LoopUpstreams::drop_idle(const std::string& key, int fd) {
  auto it = states_.find(key);
  if (it == states_.end()) return;
  auto& idle = it->second.idle;
  for (size_t i = 0; i < idle.size(); ++i) {
    if (idle[i].fd == fd) {
      loop_.unwatch(idle[i].token);
      close(fd);
      idle.erase(idle.begin() + static_cast<long>(i));
      return;
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
