#include "controllers/site_controller.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>

#include "store/site_events.h"
#include "store/store.h"

namespace wok::controllers {

namespace {
std::string key_of(const std::string& ns, const std::string& name) { return ns + "/" + name; }
}  // namespace

SiteController::SiteController(store::Store& store, RoutePublisher& routes, PlatformConfig config,
                               int workers)
    : store_(store),
      reconciler_(store, routes,
                  [this](PlatformConfig c) {
                    // A certificate ordered in the background is published by a pass.
                    c.wake_site = [this](const std::string& ns, const std::string& name) {
                      if (!stopping_) controller_.enqueue(key_of(ns, name));
                    };
                    return c;
                  }(std::move(config))),
      controller_(
          [workers] {
            reconcile::ControllerOptions options;
            options.name = "site";
            options.workers = workers;
            options.backoff = {std::chrono::seconds(1), std::chrono::minutes(5)};
            return options;
          }(),
          [this](const std::string& key) { return pass(key); }) {}

SiteController::~SiteController() { stop(); }

void SiteController::start() {
  if (int n = store_.fail_pending_revisions(); n > 0) {
    spdlog::warn("{} rollout(s) were interrupted by a stop; they will be retried", n);
  }
  int64_t from = store_.resource_version();
  std::set<std::string> keys;
  for (const auto& site : store_.list("Site")) {
    std::string key = key_of(site["metadata"]["namespace"], site["metadata"]["name"]);
    keys.insert(key);
    reconciler_.serve_live(site);
    controller_.enqueue(key);
  }
  // Instances adopted after a restart whose site was deleted meanwhile; those
  // of old revisions are stopped by their site's first reconcile.
  reconciler_.sweep_instances(keys);
  watcher_ = std::thread([this, from] { watch_loop(from); });
  controller_.start();
}

void SiteController::stop() {
  if (stopping_.exchange(true)) return;
  controller_.stop();
  reconciler_.stop_background();  // the ACME thread, which wakes passes
  store_.wake_watchers();
  if (watcher_.joinable()) watcher_.join();
}

void SiteController::watch_loop(int64_t from) {
  auto next_prune = std::chrono::steady_clock::now();
  while (!stopping_) {
    // Events last seen over a day ago go, looked at once a minute.
    if (std::chrono::steady_clock::now() >= next_prune) {
      store::prune_events(store_, store::kEventRetention);
      next_prune = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    }
    for (const auto& e : store_.events_since(from, std::chrono::seconds(1))) {
      from = e.resource_version;
      if (e.kind == "Site") controller_.enqueue(key_of(e.ns, e.name));
      // Its host patterns may have changed: its sites route what they still may.
      if (e.kind == "Project") {
        for (const auto& site : store_.list("Site", e.name))
          controller_.enqueue(key_of(e.name, site["metadata"]["name"]));
      }
    }
  }
}

reconcile::Result SiteController::pass(const std::string& key) {
  size_t slash = key.find('/');
  ReconcileResult result;
  try {
    result = reconciler_.reconcile(key.substr(0, slash), key.substr(slash + 1));
  } catch (const std::exception& e) {
    result.error = std::string("internal error: ") + e.what();
  }
  ++reconciles_;
  if (!result.error.empty()) {
    ++errors_;
    return reconcile::Result::failed(std::move(result.error));
  }
  return reconcile::Result::after(result.requeue_after);
}

std::string SiteController::metrics() const {
  return "# HELP wok_site_reconciles_total Site reconciliations run.\n"
         "# TYPE wok_site_reconciles_total counter\n"
         "wok_site_reconciles_total " +
         std::to_string(reconciles_.load()) +
         "\n"
         "# HELP wok_site_reconcile_errors_total Site reconciliations that failed and were "
         "retried.\n"
         "# TYPE wok_site_reconcile_errors_total counter\n"
         "wok_site_reconcile_errors_total " +
         std::to_string(errors_.load()) + "\n";
}

}  // namespace wok::controllers
