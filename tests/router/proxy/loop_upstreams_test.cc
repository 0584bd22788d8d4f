// LoopUpstreams on its own, with a loop that only keeps time: what it
// remembers about upstreams, and what it forgets.
#include "router/proxy/loop_upstreams.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace wok::router {
namespace {

class ClockLoop : public http::Loop {
 public:
  uint64_t watch(int, uint32_t, IoCallback) override { return 0; }
  void unwatch(uint64_t) override {}
  bool rewatch(uint64_t, IoCallback) override { return false; }
  uint64_t add_timer(int64_t, Callback) override { return 0; }
  void cancel_timer(uint64_t) override {}
  void defer(Callback) override {}
  void defer_next_turn(Callback) override {}
  int64_t now_ms() const override { return now; }
  std::shared_ptr<void>& local(const void* key) override { return locals[key]; }

  int64_t now = 1'000'000;
  std::unordered_map<const void*, std::shared_ptr<void>> locals;
};

UpstreamAddress sandbox(int pid) {
  UpstreamAddress a = *UpstreamAddress::parse("127.0.0.1:8080");
  a.netns = "/proc/" + std::to_string(pid) + "/ns/net";
  return a;
}

// Every rollout of a sandboxed app gives its instances new addresses (new
// network namespaces): a loop must not keep state for every one it saw.
TEST(LoopUpstreams, ForgetsUpstreamsWithNothingToRemember) {
  ClockLoop loop;
  LoopUpstreams upstreams(loop);
  UpstreamOptions options;
  options.max_fails = 2;
  const UpstreamAddress busy = sandbox(1), failing = sandbox(2);
  upstreams.begin_request(busy);  // a request in flight
  upstreams.report_failure(failing, options);
  upstreams.report_failure(failing, options);  // ejected
  ASSERT_TRUE(upstreams.ejected(failing));

  for (int pid = 100; pid < 5'100; ++pid) {
    UpstreamAddress old = sandbox(pid);
    upstreams.begin_request(old);
    upstreams.end_request(old);
    upstreams.report_success(old);
  }
  EXPECT_LE(upstreams.tracked(), 512u);  // 5,002 without forgetting
  // What still matters was kept through every sweep: the ejection (and the
  // request in flight, below: nothing in flight is forgotten).
  EXPECT_TRUE(upstreams.ejected(failing));
  // Least-connections counts in the pool, over every loop.
  UpstreamPool pool({busy, sandbox(3)}, BalancePolicy::kLeastConnections);
  pool.begin_request(0);
  EXPECT_EQ(upstreams.pick(pool, {false, false}), 1);
  EXPECT_EQ(upstreams.pick(pool, {false, false}), 1);
  pool.end_request(0);
  for (int pid = 10'000; pid < 10'600; ++pid) upstreams.begin_request(sandbox(pid));
  EXPECT_GE(upstreams.tracked(), 601u);  // all in flight: nothing to forget
}

}  // namespace
}  // namespace wok::router
