#include "http/inline_function.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace wok::http {
namespace {

using Callback = InlineFunction<void()>;

TEST(InlineFunction, KeepsTheLoopsEverydayCallablesInside) {
  auto shared = std::make_shared<int>(1);
  auto holds_shared = [shared] { (void)shared; };
  int fd = 3;
  uint64_t id = 7;
  void* self = nullptr;
  auto poke = [self, fd, id] { (void)self, (void)fd, (void)id; };
  EXPECT_TRUE(Callback::fits_inline<decltype(holds_shared)>());
  EXPECT_TRUE(Callback::fits_inline<decltype(poke)>());
  std::array<char, 100> big{};
  auto large = [big] { (void)big; };
  EXPECT_FALSE(Callback::fits_inline<decltype(large)>());
}

TEST(InlineFunction, CallsMovesAndDestroysInlineAndHeapCallables) {
  auto token = std::make_shared<int>(0);
  std::array<char, 100> big{};
  std::vector<Callback> callbacks;
  callbacks.emplace_back([token] { ++*token; });
  callbacks.emplace_back([token, big] { *token += 10 + big[0]; });
  EXPECT_EQ(token.use_count(), 3);
  for (int i = 0; i < 20; ++i) callbacks.emplace_back(nullptr);  // reallocations move them
  for (auto& c : callbacks) {
    if (c) c();
  }
  EXPECT_EQ(*token, 11);
  Callback moved = std::move(callbacks[0]);
  EXPECT_FALSE(callbacks[0]);
  moved();
  EXPECT_EQ(*token, 12);
  callbacks.clear();
  EXPECT_EQ(token.use_count(), 2);  // the heap one is gone, `moved` holds one
  moved = nullptr;
  EXPECT_EQ(token.use_count(), 1);
}

TEST(InlineFunction, PassesArgumentsAndReturns) {
  InlineFunction<std::string(int, const std::string&)> f = [](int n, const std::string& s) {
    return std::to_string(n) + s;
  };
  EXPECT_EQ(f(4, "x"), "4x");
}

// The loop replaces a watcher's callback in place: the old callable may hold
// the last reference to whatever owns the slot, so it must be destroyed only
// once the new one is in place.
TEST(InlineFunction, AssignmentDestroysTheOldCallableLast) {
  auto slot = std::make_unique<Callback>();
  struct Owner {
    std::unique_ptr<Callback>* slot;
    bool* saw_new;
    ~Owner() { *saw_new = static_cast<bool>(**slot); }
  };
  bool saw_new = false;
  auto owner = std::make_shared<Owner>(Owner{&slot, &saw_new});
  *slot = [owner] {};
  owner.reset();
  *slot = [] {};
  EXPECT_TRUE(saw_new);
}

}  // namespace
}  // namespace wok::http
