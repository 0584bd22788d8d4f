#pragma once
// A de-duplicating, delaying work queue for level-based reconcilers (the
// shape of client-go's workqueue): a key is never processed by two workers at
// once, and a key added while it is processed runs once more afterwards.
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace wok::controllers {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // Schedules key after delay; an earlier schedule of the same key wins.
  void add(const std::string& key, std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // Blocks for the next due key; false once shut down.
  bool get(std::string* key);
  void done(const std::string& key);
  void shut_down();
  size_t pending();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> scheduled_;  // key -> when due
  std::set<std::string> processing_;
  std::map<std::string, Clock::time_point> again_;  // added while processing
  bool shut_down_ = false;
};

}  // namespace wok::controllers
