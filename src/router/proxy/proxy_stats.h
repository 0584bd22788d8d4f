#pragma once
// Process-wide proxy counters (relaxed atomics: statistics, not
// synchronisation). Tests read them to check reuse and bounded buffering.
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wok::router {

struct ProxyStats {
  std::atomic<uint64_t> upstream_connects{0};  // new upstream connections opened
  std::atomic<uint64_t> upstream_reuses{0};    // requests sent on a kept-alive connection
  std::atomic<uint64_t> retries{0};
  // Largest number of body bytes one exchange held in the proxy's buffers
  // (towards the upstream plus queued for the client).
  std::atomic<size_t> peak_buffered_bytes{0};

  void note_buffered(size_t bytes) {
    size_t seen = peak_buffered_bytes.load(std::memory_order_relaxed);
    while (bytes > seen &&
           !peak_buffered_bytes.compare_exchange_weak(seen, bytes, std::memory_order_relaxed)) {
    }
  }
};

ProxyStats& proxy_stats();

}  // namespace wok::router
