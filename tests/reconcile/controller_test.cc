#include "reconcile/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "eventually.h"

namespace wok::reconcile {
namespace {

using std::chrono::milliseconds;
using testing::eventually;

// A gate the reconcile function waits at until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.wait(lock, [this] { return open_; });
    --waiting_;
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// Counts passes per key and how many ran at once for one key.
class Passes {
 public:
  void begin(const std::string& key) {
    std::lock_guard lock(mu_);
    int now = ++running_[key];
    max_running_[key] = std::max(max_running_[key], now);
    ++count_[key];
  }
  void end(const std::string& key) {
    std::lock_guard lock(mu_);
    --running_[key];
  }
  int count(const std::string& key) {
    std::lock_guard lock(mu_);
    return count_[key];
  }
  int max_running(const std::string& key) {
    std::lock_guard lock(mu_);
    return max_running_[key];
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> running_, max_running_, count_;
};

ControllerOptions options(const char* name, int workers, Clock* clock = nullptr) {
  ControllerOptions o;
  o.name = name;
  o.workers = workers;
  o.clock = clock;
  return o;
}

ControllerOptions with_backoff(ControllerOptions o, BackoffPolicy backoff) {
  o.backoff = backoff;
  return o;
}

bool quiet(const Controller& c) { return c.stats().in_flight == 0; }

TEST(Controller, AKeyIsNeverReconciledByTwoWorkersAtOnce) {
  Passes passes;
  Gate gate;
  Controller c(options("test", 2), [&](const std::string& key) {
    passes.begin(key);
    if (key == "a" && passes.count("a") == 1) gate.wait();
    passes.end(key);
    return Result::done();
  });
  c.start();
  c.enqueue("a");
  ASSERT_TRUE(eventually([&] { return gate.waiting() == 1; }));
  c.enqueue("a");  // changed while reconciled: must be looked at again, after
  c.enqueue("b");
  // The second worker is free: it takes "b", never the second pass of "a".
  ASSERT_TRUE(eventually([&] { return passes.count("b") == 1; }));
  EXPECT_EQ(passes.count("a"), 1);
  gate.open();
  ASSERT_TRUE(eventually([&] { return passes.count("a") == 2 && quiet(c); }));
  EXPECT_EQ(passes.max_running("a"), 1);
  c.stop();
  EXPECT_EQ(passes.count("a"), 2) << "added twice while in flight: one more pass, not two";
}

TEST(Controller, UnderConcurrentAddsEveryKeyEndsWithAPassAfterItsLastAdd) {
  // Level-based: whatever the interleaving, a key's last pass starts after
  // its last change, and passes over one key never overlap.
  constexpr int kKeys = 20, kAddsPerThread = 500, kThreads = 4;
  std::mutex mu;
  std::map<std::string, int> version, seen;  // bumped before each add; read at each pass
  Passes passes;
  Controller c(options("stress", 4), [&](const std::string& key) {
    passes.begin(key);
    {
      std::lock_guard lock(mu);
      seen[key] = version[key];
    }
    std::this_thread::yield();
    passes.end(key);
    return Result::done();
  });
  c.start();
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kAddsPerThread; ++i) {
        std::string key = "k" + std::to_string(rng() % kKeys);
        {
          std::lock_guard lock(mu);
          ++version[key];
        }
        c.enqueue(key);
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_TRUE(eventually([&] { return c.stats().depth == 0 && quiet(c); }));
  c.stop();
  std::lock_guard lock(mu);
  for (const auto& [key, v] : version) {
    EXPECT_EQ(seen[key], v) << key << " missed its last change";
    EXPECT_EQ(passes.max_running(key), 1) << key;
  }
  EXPECT_EQ(c.stats().adds, uint64_t(kThreads * kAddsPerThread));
  EXPECT_LE(c.stats().reconciles, uint64_t(kThreads * kAddsPerThread)) << "de-duplicated";
}

TEST(Controller, BackoffGrowsCapsAndResetsOnSuccess) {
  ManualClock clock;
  std::atomic<bool> fail{true};
  Passes passes;
  Controller c(with_backoff(options("test", 1, &clock),
                            {.base = milliseconds(100), .cap = milliseconds(800)}),
               [&](const std::string& key) {
                 passes.begin(key);
                 passes.end(key);
                 return fail ? Result::failed("the cluster said no") : Result::done();
               });
  c.start();
  c.enqueue("a");
  auto retry_in = [&] {
    auto at = c.queue().scheduled_at("a");
    return at ? std::chrono::duration_cast<milliseconds>(*at - clock.now()) : milliseconds(-1);
  };
  // After pass n, the key is due again after min(100ms * 2^(n-1), 800ms).
  std::vector<milliseconds> expected = {milliseconds(100), milliseconds(200), milliseconds(400),
                                        milliseconds(800), milliseconds(800), milliseconds(800)};
  for (size_t n = 1; n <= expected.size(); ++n) {
    ASSERT_TRUE(eventually([&] { return passes.count("a") == int(n) && retry_in().count() >= 0; }))
        << n;
    EXPECT_EQ(retry_in(), expected[n - 1]) << "after failure " << n;
    // The pass the last advance makes due succeeds: said before the clock
    // moves, since the worker may run it at once.
    if (n == expected.size()) fail = false;
    clock.advance(expected[n - 1]);
  }
  ASSERT_TRUE(eventually([&] { return passes.count("a") == 7 && quiet(c); }));
  EXPECT_FALSE(c.queue().scheduled_at("a")) << "a success without requeue_after: not scheduled";
  EXPECT_EQ(c.queue().failures("a"), 0);
  fail = true;
  c.enqueue("a");
  ASSERT_TRUE(eventually([&] { return passes.count("a") == 8 && retry_in().count() >= 0; }));
  EXPECT_EQ(retry_in(), milliseconds(100)) << "reset by the success";
  EXPECT_EQ(c.stats().errors, 7u);
  EXPECT_EQ(c.stats().retries, 7u);
}

TEST(Controller, AnEventDuringBackoffIsReconciledAtOnce) {
  // A fix by the user must not wait out the backoff of the broken spec.
  ManualClock clock;
  Passes passes;
  Controller c(with_backoff(options("test", 1, &clock),
                            {.base = milliseconds(60'000), .cap = milliseconds(60'000)}),
               [&](const std::string& key) {
                 passes.begin(key);
                 passes.end(key);
                 return passes.count(key) == 1 ? Result::failed("broken") : Result::done();
               });
  c.start();
  c.enqueue("a");
  ASSERT_TRUE(eventually([&] { return c.stats().errors == 1 && quiet(c); }));
  c.enqueue("a");
  ASSERT_TRUE(eventually([&] { return passes.count("a") == 2; }));
}

TEST(Controller, RequeueAfterFiresWhenTheClockGetsThere) {
  ManualClock clock;
  Passes passes;
  Controller c(options("test", 2, &clock), [&](const std::string& key) {
    passes.begin(key);
    passes.end(key);
    return Result::after(milliseconds(30'000));  // a git interval
  });
  c.start();
  c.enqueue("site");
  ASSERT_TRUE(
      eventually([&] { return passes.count("site") == 1 && c.queue().scheduled_at("site"); }));
  EXPECT_EQ(*c.queue().scheduled_at("site"), clock.now() + milliseconds(30'000));
  clock.advance(milliseconds(29'999));
  EXPECT_EQ(passes.count("site"), 1) << "not due yet";
  clock.advance(milliseconds(1));
  ASSERT_TRUE(eventually([&] { return passes.count("site") == 2; }));
  EXPECT_EQ(c.stats().retries, 0u) << "a requeue is no retry";
}

TEST(Controller, ResyncBringsBackKeysThatAskedForNothing) {
  ManualClock clock;
  std::atomic<int> calls{0};
  auto opts = options("test", 1, &clock);
  opts.resync = milliseconds(600'000);
  Controller c(opts, [&](const std::string& key) {
    ++calls;
    return key == "soon" ? Result::after(milliseconds(5'000)) : Result::done();
  });
  c.start();
  c.enqueue("idle");
  c.enqueue("soon");
  ASSERT_TRUE(eventually([&] { return calls == 2 && c.stats().depth == 2 && quiet(c); }));
  EXPECT_EQ(*c.queue().scheduled_at("idle"), clock.now() + milliseconds(600'000));
  EXPECT_EQ(*c.queue().scheduled_at("soon"), clock.now() + milliseconds(5'000))
      << "requeue_after beats resync";
}

TEST(Controller, KeysWaitWhileNotReadyWithoutCountingPasses) {
  ManualClock clock;
  std::atomic<bool> ready{false};
  std::atomic<int> calls{0};
  auto opts = options("test", 1, &clock);
  opts.ready = [&] { return ready.load(); };
  Controller c(opts, [&](const std::string&) {
    ++calls;
    return Result::done();
  });
  c.start();
  c.enqueue("a");
  ASSERT_TRUE(
      eventually([&] { return c.queue().scheduled_at("a") == clock.now() + milliseconds(200); }));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(c.stats().reconciles, 0u);
  ready = true;
  clock.advance(milliseconds(200));
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
}

TEST(Controller, AThrowingReconcileIsAnErrorNotACrash) {
  ManualClock clock;
  Controller c(options("test", 1, &clock), [&](const std::string&) -> Result {
    throw std::runtime_error("json: type must be string, but is null");
  });
  c.start();
  c.enqueue("a");
  ASSERT_TRUE(eventually([&] { return c.stats().errors == 1 && quiet(c); }));
  EXPECT_EQ(c.stats().retries, 1u);
  EXPECT_TRUE(c.queue().scheduled_at("a").has_value());
}

TEST(Controller, StopLetsPassesInFlightEndAndStartsNoOther) {
  Gate gate;
  Passes passes;
  Controller c(options("test", 2), [&](const std::string& key) {
    passes.begin(key);
    gate.wait();
    passes.end(key);
    return Result::after(milliseconds(1));
  });
  c.start();
  for (const char* key : {"a", "b", "c", "d"}) c.enqueue(key);
  ASSERT_TRUE(eventually([&] { return gate.waiting() == 2; }));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    c.stop();
    stopped = true;
  });
  ASSERT_TRUE(eventually([&] { return c.queue().shutting_down(); }));
  EXPECT_FALSE(stopped) << "two passes are still running";
  c.enqueue("e");  // an event during the stop: ignored
  gate.open();
  stopper.join();
  EXPECT_TRUE(stopped);
  auto s = c.stats();
  EXPECT_EQ(s.reconciles, 2u) << "the passes in flight ended and were counted; no other started";
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(passes.count("c") + passes.count("d") + passes.count("e"), 0);
}

TEST(Controller, MetricsCountPassesErrorsRetriesAndDurations) {
  ManualClock clock;
  Controller c(options("site", 1, &clock), [&](const std::string& key) {
    if (key == "slow") clock.advance(milliseconds(3'000));  // lands in the le="10" bucket
    if (key == "bad") return Result::failed("no");
    return Result::done();
  });
  c.start();
  c.enqueue("fast");
  c.enqueue("slow");
  c.enqueue("bad");
  c.enqueue("fast");  // de-duplicated, still an add
  ASSERT_TRUE(eventually([&] { return c.stats().reconciles == 3 && quiet(c); }));
  std::string text = c.metrics();
  for (const char* line :
       {"wok_reconcile_total{controller=\"site\"} 3\n",
        "wok_reconcile_errors_total{controller=\"site\"} 1\n",
        "wok_workqueue_adds_total{controller=\"site\"} 5\n",  // 4 enqueues, 1 retry
        "wok_workqueue_retries_total{controller=\"site\"} 1\n",
        "wok_workqueue_depth{controller=\"site\"} 1\n",  // "bad", backing off
        "wok_workqueue_in_flight{controller=\"site\"} 0\n",
        "wok_reconcile_duration_seconds_bucket{controller=\"site\",le=\"2.5\"} 2\n",
        "wok_reconcile_duration_seconds_bucket{controller=\"site\",le=\"10\"} 3\n",
        "wok_reconcile_duration_seconds_bucket{controller=\"site\",le=\"+Inf\"} 3\n",
        "wok_reconcile_duration_seconds_sum{controller=\"site\"} 3\n",
        "wok_reconcile_duration_seconds_count{controller=\"site\"} 3\n",
        "# TYPE wok_reconcile_duration_seconds histogram\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
}

TEST(Controller, SeveralControllersShareEachFamilyOnce) {
  Controller a(options("site", 1), [](const std::string&) { return Result::done(); });
  Controller b(options("cron", 1), [](const std::string&) { return Result::done(); });
  a.enqueue("x");
  std::string text = metrics_text({&a, &b});
  size_t first = text.find("# TYPE wok_reconcile_total counter");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(text.find("# TYPE wok_reconcile_total counter", first + 1), std::string::npos);
  EXPECT_NE(text.find("wok_workqueue_depth{controller=\"site\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("wok_workqueue_depth{controller=\"cron\"} 0\n"), std::string::npos) << text;
}

TEST(Controller, PausedKeepsItsKeysUntilResumed) {
  std::atomic<int> calls{0};
  Controller c(options("standby", 1), [&](const std::string&) {
    ++calls;
    return Result::done();
  });
  c.pause();
  c.start();
  c.enqueue("a");
  c.enqueue("b");
  EXPECT_EQ(c.stats().depth, 2u);
  c.resume();
  ASSERT_TRUE(eventually([&] { return calls == 2; }));
}

}  // namespace
}  // namespace wok::reconcile
