#pragma once
// Runs the Site reconciler: lists every Site at start, follows the store's
// watch feed, and feeds a de-duplicating work queue drained by a few workers,
// with exponential backoff on errors.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controllers/site_reconciler.h"
#include "controllers/work_queue.h"

namespace wok::controllers {

class SiteController {
 public:
  SiteController(store::Store& store, RoutePublisher& routes, PlatformConfig config, int workers = 2);
  ~SiteController();
  void start();
  void stop();
  std::string metrics() const;  // Prometheus text

 private:
  void watch_loop(int64_t from);
  void work_loop();
  std::chrono::milliseconds backoff(const std::string& key, bool failed);

  store::Store& store_;
  SiteReconciler reconciler_;
  WorkQueue queue_;
  int workers_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::map<std::string, int> failures_;
  std::atomic<uint64_t> reconciles_{0}, errors_{0};
};

}  // namespace wok::controllers
