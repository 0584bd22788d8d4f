#pragma once
// Waits for a condition that other threads make true. The bound only keeps a
// broken test from hanging; no test asserts how long anything took.
#include <chrono>
#include <functional>
#include <thread>

namespace wok::reconcile::testing {

inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds bound = std::chrono::seconds(20)) {
  auto give_up = std::chrono::steady_clock::now() + bound;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace wok::reconcile::testing
