#pragma once
// At most one refresh per site per window, and never a push lost: the first
// request of a quiet site triggers at once (push -> live stays short); the
// requests that follow within the window become one trailing trigger at its
// end, which fetches whatever was pushed last. A burst of N pushes thus costs
// two fetches, and a replayed hook at most one per window.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace wok::hooks {

class RefreshCoalescer {
 public:
  // Returns "" or why the refresh could not be requested.
  using Trigger = std::function<std::string(const std::string& key)>;

  enum class Outcome {
    kNow,        // triggered by this request
    kQueued,     // a trigger at the end of the window (this request scheduled it)
    kCoalesced,  // that trigger was already scheduled
  };
  struct Answer {
    Outcome outcome;
    std::string error;  // of a trigger run now
  };

  RefreshCoalescer(std::chrono::milliseconds window, Trigger trigger);
  ~RefreshCoalescer();  // drops pending triggers
  RefreshCoalescer(const RefreshCoalescer&) = delete;
  RefreshCoalescer& operator=(const RefreshCoalescer&) = delete;

  Answer request(const std::string& key);

 private:
  using Clock = std::chrono::steady_clock;
  struct State {
    Clock::time_point last;  // the last trigger
    bool pending = false;    // a trailing trigger at last + window
  };
  void timer_loop();

  const std::chrono::milliseconds window_;
  const Trigger trigger_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, State> keys_;
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace wok::hooks
