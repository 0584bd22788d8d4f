// One refresh per site per window, and the last push of a burst never lost.
#include "hooks/refresh_coalescer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace wok::hooks {
namespace {

using namespace std::chrono_literals;
using Outcome = RefreshCoalescer::Outcome;

struct Counter {
  std::mutex mu;
  std::map<std::string, int> n;
  int get(const std::string& k) {
    std::lock_guard lock(mu);
    return n[k];
  }
};

bool eventually(const std::function<bool()>& pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(RefreshCoalescer, QuietSiteTriggersAtOnce) {
  Counter c;
  RefreshCoalescer co(200ms, [&](const std::string& k) {
    std::lock_guard lock(c.mu);
    ++c.n[k];
    return std::string();
  });
  EXPECT_EQ(co.request("a/www").outcome, Outcome::kNow);
  EXPECT_EQ(c.get("a/www"), 1);
  // Another site is not held back by this one.
  EXPECT_EQ(co.request("b/www").outcome, Outcome::kNow);
}

TEST(RefreshCoalescer, BurstBecomesOneTrailingTrigger) {
  Counter c;
  RefreshCoalescer co(200ms, [&](const std::string& k) {
    std::lock_guard lock(c.mu);
    ++c.n[k];
    return std::string();
  });
  EXPECT_EQ(co.request("a/www").outcome, Outcome::kNow);
  EXPECT_EQ(co.request("a/www").outcome, Outcome::kQueued);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(co.request("a/www").outcome, Outcome::kCoalesced);
  EXPECT_EQ(c.get("a/www"), 1);
  ASSERT_TRUE(eventually([&] { return c.get("a/www") == 2; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c.get("a/www"), 2);
}

TEST(RefreshCoalescer, ErrorOfATriggerNowIsReturned) {
  RefreshCoalescer co(200ms, [](const std::string&) { return std::string("store closed"); });
  auto a = co.request("a/www");
  EXPECT_EQ(a.outcome, Outcome::kNow);
  EXPECT_EQ(a.error, "store closed");
}

TEST(RefreshCoalescer, StopsWithATriggerPending) {
  std::atomic<int> n{0};
  {
    RefreshCoalescer co(10s, [&](const std::string&) {
      ++n;
      return std::string();
    });
    co.request("a/www");
    co.request("a/www");
  }  // returns at once, without waiting the window
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace wok::hooks
