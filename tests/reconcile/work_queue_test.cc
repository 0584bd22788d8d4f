#include "reconcile/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "eventually.h"

namespace wok::reconcile {
namespace {

using std::chrono::milliseconds;
using testing::eventually;

class WorkQueueTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  WorkQueue queue_{{.base = milliseconds(100), .cap = milliseconds(1000)}, clock_};

  std::string next() {
    std::string key;
    EXPECT_TRUE(queue_.get(&key));
    return key;
  }
};

TEST_F(WorkQueueTest, HoldsAKeyOnceInTheOrderKeysWereAdded) {
  queue_.add("b");
  queue_.add("a");
  queue_.add("b");
  EXPECT_EQ(queue_.depth(), 2u);
  EXPECT_EQ(queue_.adds(), 3u);
  EXPECT_EQ(next(), "b");
  EXPECT_EQ(next(), "a");
  EXPECT_EQ(queue_.depth(), 0u);
  EXPECT_EQ(queue_.in_flight(), 2u);
}

TEST_F(WorkQueueTest, TheEarliestScheduleWins) {
  queue_.add_after("a", milliseconds(5000));
  queue_.add_after("a", milliseconds(100));
  queue_.add_after("a", milliseconds(9000));
  EXPECT_EQ(queue_.scheduled_at("a"), clock_.now() + milliseconds(100));
  queue_.add("a");
  EXPECT_EQ(queue_.scheduled_at("a"), clock_.now());
  // A negative delay is "now", not earlier than every other key.
  queue_.add_after("b", milliseconds(-5000));
  EXPECT_EQ(queue_.scheduled_at("b"), clock_.now());
  EXPECT_EQ(next(), "a");
  EXPECT_EQ(next(), "b");
}

TEST_F(WorkQueueTest, AKeyAddedWhileInFlightComesBackAfterDone) {
  queue_.add("a");
  ASSERT_EQ(next(), "a");
  queue_.add("a");
  queue_.add("a");
  EXPECT_EQ(queue_.depth(), 0u) << "never handed out twice at once";
  EXPECT_FALSE(queue_.scheduled_at("a"));
  queue_.done("a");
  EXPECT_EQ(queue_.depth(), 1u) << "once more, however often it was added";
  EXPECT_EQ(next(), "a");
  queue_.done("a");
  EXPECT_EQ(queue_.depth(), 0u);
}

TEST_F(WorkQueueTest, ADelayedKeyIsHandedOutWhenTheClockGetsThere) {
  queue_.add_after("later", milliseconds(30'000));
  std::atomic<bool> got{false};
  std::thread worker([&] {
    std::string key;
    got = queue_.get(&key) && key == "later";
  });
  clock_.advance(milliseconds(29'999));
  EXPECT_FALSE(got) << "not due yet, whatever the worker looked at";
  clock_.advance(milliseconds(1));
  worker.join();
  EXPECT_TRUE(got);
}

TEST_F(WorkQueueTest, FailuresBackOffPerKeyUntilForgotten) {
  EXPECT_EQ(queue_.add_rate_limited("a"), milliseconds(100));
  EXPECT_EQ(queue_.scheduled_at("a"), clock_.now() + milliseconds(100));
  clock_.advance(milliseconds(100));
  ASSERT_EQ(next(), "a");
  queue_.done("a");
  EXPECT_EQ(queue_.add_rate_limited("a"), milliseconds(200));
  EXPECT_EQ(queue_.retries(), 2u);
  EXPECT_EQ(queue_.failures("a"), 2);
  queue_.forget("a");
  EXPECT_EQ(queue_.failures("a"), 0);
  EXPECT_EQ(queue_.add_rate_limited("b"), milliseconds(100));
}

TEST_F(WorkQueueTest, PausedHandsOutNothingUntilResumed) {
  queue_.pause();
  queue_.add("a");
  std::atomic<bool> got{false};
  std::thread worker([&] {
    std::string key;
    got = queue_.get(&key);
  });
  clock_.advance(milliseconds(60'000));
  EXPECT_FALSE(got);
  EXPECT_EQ(queue_.depth(), 1u);
  queue_.resume();
  worker.join();
  EXPECT_TRUE(got);
}

TEST_F(WorkQueueTest, ShutDownWakesEveryWaiterAndIgnoresAdds) {
  std::atomic<int> ended{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      std::string key;
      if (!queue_.get(&key)) ++ended;
    });
  }
  queue_.shut_down();
  for (auto& w : workers) w.join();
  EXPECT_EQ(ended, 3);
  queue_.add("a");
  queue_.add_rate_limited("a");
  EXPECT_EQ(queue_.depth(), 0u);
  EXPECT_EQ(queue_.adds(), 0u);
  std::string key;
  EXPECT_FALSE(queue_.get(&key));
}

TEST_F(WorkQueueTest, ShutDownAndDrainWaitsForTheKeysInFlight) {
  queue_.add("a");
  queue_.add("b");
  ASSERT_EQ(next(), "a");
  std::atomic<bool> drained{false};
  std::thread stopper([&] {
    queue_.shut_down_and_drain();
    drained = true;
  });
  ASSERT_TRUE(eventually([&] { return queue_.shutting_down(); }));
  EXPECT_FALSE(drained) << "\"a\" is still in flight";
  queue_.add("a");  // a watch event during the drain: ignored, not handed out again
  queue_.done("a");
  stopper.join();
  EXPECT_TRUE(drained);
  std::string key;
  EXPECT_FALSE(queue_.get(&key)) << "\"b\" never started: dropped";
}

}  // namespace
}  // namespace wok::reconcile
