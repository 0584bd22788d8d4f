#include "controllers/site_controller.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>

#include "store/store.h"

namespace wok::controllers {

namespace {
std::string key_of(const std::string& ns, const std::string& name) { return ns + "/" + name; }
}  // namespace

SiteController::SiteController(store::Store& store, RoutePublisher& routes, PlatformConfig config, int workers)
    : store_(store), reconciler_(store, routes, std::move(config)), workers_(workers) {}

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
    queue_.add(key);
  }
  // Instances adopted after a restart whose site was deleted meanwhile; those
  // of old revisions are stopped by their site's first reconcile.
  reconciler_.sweep_instances(keys);
  threads_.emplace_back([this, from] { watch_loop(from); });
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { work_loop(); });
}

void SiteController::stop() {
  if (stopping_.exchange(true)) return;
  queue_.shut_down();
  store_.wake_watchers();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void SiteController::watch_loop(int64_t from) {
  while (!stopping_) {
    for (const auto& e : store_.events_since(from, std::chrono::seconds(1))) {
      from = e.resource_version;
      if (e.kind == "Site") queue_.add(key_of(e.ns, e.name));
      // Its host patterns may have changed: its sites route what they still may.
      if (e.kind == "Project") {
        for (const auto& site : store_.list("Site", e.name)) queue_.add(key_of(e.name, site["metadata"]["name"]));
      }
    }
  }
}

void SiteController::work_loop() {
  std::string key;
  while (queue_.get(&key)) {
    size_t slash = key.find('/');
    std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
    ReconcileResult result;
    try {
      result = reconciler_.reconcile(ns, name);
    } catch (const std::exception& e) {
      result.error = std::string("internal error: ") + e.what();
    }
    ++reconciles_;
    if (!result.error.empty()) {
      ++errors_;
      auto delay = backoff(key, true);
      spdlog::warn("site {}: {} (retry in {}s)", key, result.error, delay.count() / 1000.0);
      queue_.add(key, delay);
    } else {
      backoff(key, false);
      if (result.requeue_after.count() > 0) queue_.add(key, result.requeue_after);
    }
    queue_.done(key);
  }
}

std::chrono::milliseconds SiteController::backoff(const std::string& key, bool failed) {
  std::lock_guard lock(mu_);
  if (!failed) {
    failures_.erase(key);
    return {};
  }
  int n = std::min(++failures_[key], 9);
  // 1s, 2s, 4s ... capped at 5 minutes.
  return std::min(std::chrono::milliseconds(1000LL << (n - 1)), std::chrono::milliseconds(300'000));
}

std::string SiteController::metrics() const {
  return "# HELP wok_site_reconciles_total Site reconciliations run.\n"
         "# TYPE wok_site_reconciles_total counter\n"
         "wok_site_reconciles_total " + std::to_string(reconciles_.load()) + "\n"
         "# HELP wok_site_reconcile_errors_total Site reconciliations that failed and were retried.\n"
         "# TYPE wok_site_reconcile_errors_total counter\n"
         "wok_site_reconcile_errors_total " + std::to_string(errors_.load()) + "\n";
}

}  // namespace wok::controllers
