#include "reconcile/backoff.h"

#include <gtest/gtest.h>

namespace wok::reconcile {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsPerKeyCapsAndResetsOnSuccess) {
  Backoff backoff({.base = milliseconds(100), .cap = milliseconds(1000)});
  EXPECT_EQ(backoff.next("a"), milliseconds(100));
  EXPECT_EQ(backoff.next("a"), milliseconds(200));
  EXPECT_EQ(backoff.next("a"), milliseconds(400));
  EXPECT_EQ(backoff.next("b"), milliseconds(100)) << "keys back off independently";
  EXPECT_EQ(backoff.next("a"), milliseconds(800));
  EXPECT_EQ(backoff.next("a"), milliseconds(1000));
  EXPECT_EQ(backoff.next("a"), milliseconds(1000));
  EXPECT_EQ(backoff.failures("a"), 6);
  backoff.reset("a");
  EXPECT_EQ(backoff.failures("a"), 0);
  EXPECT_EQ(backoff.next("a"), milliseconds(100));
  EXPECT_EQ(backoff.failures("b"), 1);
}

TEST(Backoff, NeverOverflowsHoweverLongAKeyFails) {
  Backoff backoff({.base = milliseconds(250), .cap = milliseconds(120'000)});
  milliseconds last{0};
  for (int i = 0; i < 10'000; ++i) last = backoff.next("broken");
  EXPECT_EQ(last, milliseconds(120'000));
}

TEST(Backoff, AZeroBaseStillWaits) {
  // A policy of 0 would make a failing key spin a worker.
  Backoff backoff({.base = milliseconds(0), .cap = milliseconds(50)});
  EXPECT_EQ(backoff.next("a"), milliseconds(1));
  EXPECT_EQ(backoff.next("a"), milliseconds(2));
}

}  // namespace
}  // namespace wok::reconcile
