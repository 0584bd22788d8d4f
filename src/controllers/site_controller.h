#pragma once
// Runs the Site reconciler: lists every Site at start, follows the store's
// watch feed, and feeds a reconcile::Controller (the loop the operator runs
// too): a de-duplicating work queue drained by a few workers, one pass per
// site at a time, exponential backoff with jitter on errors.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controllers/site_reconciler.h"
#include "reconcile/controller.h"

namespace wok::controllers {

class SiteController {
 public:
  SiteController(store::Store& store, RoutePublisher& routes, PlatformConfig config,
                 int workers = 2);
  ~SiteController();
  void start();
  void stop();
  std::string metrics() const;  // Prometheus text (its controller's: reconcile::metrics_text)
  const reconcile::Controller& controller() const { return controller_; }
  // The build under way for a site (SiteReconciler::build_output).
  std::optional<std::pair<int64_t, std::string>> build_output(const std::string& ns,
                                                              const std::string& name) {
    return reconciler_.build_output(ns, name);
  }
  // wok backup restore, in place (SiteReconciler::restore).
  std::optional<nlohmann::json> restore(const std::string& ns, const std::string& name,
                                        const BackupInfo& backup, const nlohmann::json& manifest,
                                        BackupError* error) {
    return reconciler_.restore(ns, name, backup, manifest, error);
  }

 private:
  void watch_loop(int64_t from);
  reconcile::Result pass(const std::string& key);

  store::Store& store_;
  SiteReconciler reconciler_;
  reconcile::Controller controller_;
  std::atomic<bool> stopping_{false};
  std::thread watcher_;
  std::atomic<uint64_t> reconciles_{0}, errors_{0};
};

}  // namespace wok::controllers
