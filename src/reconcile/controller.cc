#include "reconcile/controller.h"

#include <spdlog/spdlog.h>

#include <sstream>

namespace wok::reconcile {

Controller::Controller(ControllerOptions options, Reconcile reconcile)
    : options_(std::move(options)),
      reconcile_(std::move(reconcile)),
      clock_(options_.clock ? *options_.clock : steady_clock()),
      queue_(options_.backoff, clock_) {}

Controller::~Controller() { stop(); }

void Controller::start() {
  if (started_.exchange(true)) return;
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] {
      while (process_next()) {
      }
    });
  }
}

void Controller::stop() {
  if (stopped_.exchange(true)) return;
  queue_.shut_down();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void Controller::enqueue(const std::string& key) { queue_.add(key); }

void Controller::enqueue_after(const std::string& key, std::chrono::milliseconds delay) {
  queue_.add_after(key, delay);
}

bool Controller::process_next() {
  std::string key;
  if (!queue_.get(&key)) return false;
  if (options_.ready && !options_.ready()) {
    // Acting on half a picture would re-apply (or fail to prune) objects.
    queue_.add_after(key, options_.not_ready_delay);
    queue_.done(key);
    return true;
  }
  auto start = clock_.now();
  Result result;
  try {
    result = reconcile_(key);
  } catch (const std::exception& e) {
    result = Result::failed(std::string("internal error: ") + e.what());
  }
  record(clock_.now() - start, !result.ok());
  if (!result.ok()) {
    auto delay = queue_.add_rate_limited(key);
    spdlog::warn("{} {}: {} (retry in {}ms)", options_.name, key, result.error, delay.count());
  } else {
    queue_.forget(key);
    if (result.requeue_after.count() > 0)
      queue_.add_after(key, result.requeue_after);
    else if (options_.resync.count() > 0)
      queue_.add_after(key, options_.resync);
  }
  queue_.done(key);
  return true;
}

void Controller::record(std::chrono::duration<double> took, bool failed) {
  double seconds = std::max(took.count(), 0.0);
  size_t bucket = 0;
  while (bucket < kDurationBuckets.size() && seconds > kDurationBuckets[bucket]) ++bucket;
  std::lock_guard lock(stats_mu_);
  ++stats_.reconciles;
  if (failed) ++stats_.errors;
  ++stats_.duration_counts[bucket];
  stats_.duration_seconds_sum += seconds;
}

ControllerStats Controller::stats() const {
  ControllerStats out;
  {
    std::lock_guard lock(stats_mu_);
    out = stats_;
  }
  out.adds = queue_.adds();
  out.retries = queue_.retries();
  out.depth = queue_.depth();
  out.in_flight = queue_.in_flight();
  return out;
}

std::string Controller::metrics() const { return metrics_text({this}); }

namespace {

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

std::string metrics_text(const std::vector<const Controller*>& controllers) {
  std::vector<std::pair<std::string, ControllerStats>> all;
  for (const auto* c : controllers) all.emplace_back(c->name(), c->stats());
  std::ostringstream out;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    for (const auto& [controller, s] : all)
      out << name << "{controller=\"" << controller << "\"} " << value(s) << "\n";
  };
  family("wok_reconcile_total", "counter", "Reconcile passes run.",
         [](const ControllerStats& s) { return s.reconciles; });
  family("wok_reconcile_errors_total", "counter",
         "Reconcile passes that failed (retried with backoff).",
         [](const ControllerStats& s) { return s.errors; });
  family("wok_workqueue_depth", "gauge", "Keys scheduled in the work queue, due now or later.",
         [](const ControllerStats& s) { return s.depth; });
  family("wok_workqueue_in_flight", "gauge", "Keys being reconciled.",
         [](const ControllerStats& s) { return s.in_flight; });
  family("wok_workqueue_adds_total", "counter",
         "Keys added to the work queue (de-duplicated or not).",
         [](const ControllerStats& s) { return s.adds; });
  family("wok_workqueue_retries_total", "counter", "Keys added back after a failure, with backoff.",
         [](const ControllerStats& s) { return s.retries; });
  const char* h = "wok_reconcile_duration_seconds";
  out << "# HELP " << h << " Time of one reconcile pass.\n# TYPE " << h << " histogram\n";
  for (const auto& [controller, s] : all) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kDurationBuckets.size(); ++i) {
      cumulative += s.duration_counts[i];
      std::string le = i < kDurationBuckets.size() ? number(kDurationBuckets[i]) : "+Inf";
      out << h << "_bucket{controller=\"" << controller << "\",le=\"" << le << "\"} " << cumulative
          << "\n";
    }
    out << h << "_sum{controller=\"" << controller << "\"} " << number(s.duration_seconds_sum)
        << "\n";
    out << h << "_count{controller=\"" << controller << "\"} " << s.reconciles << "\n";
  }
  return out.str();
}

}  // namespace wok::reconcile
