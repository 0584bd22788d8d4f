#include "kube/leader_election.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "kube/kinds.h"

namespace wok::kube {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// MicroTime, as Lease.spec.renewTime wants it.
std::string micro_time_now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()) %
                std::chrono::seconds(1);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%06ldZ", buf, static_cast<long>(micros.count()));
  return out;
}

}  // namespace

LeaderElector::LeaderElector(KubeClient& client, LeaseOptions options,
                             std::function<void(bool)> on_change)
    : client_(client), options_(std::move(options)), on_change_(std::move(on_change)) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (leading_) {
    set_leading(false);
    release();
  }
}

std::string LeaderElector::holder() const {
  std::lock_guard lock(mu_);
  return holder_;
}

void LeaderElector::set_leading(bool leading) {
  if (leading_.exchange(leading) == leading) return;
  spdlog::info("leader election: {} the leader ({}/{})", leading ? "became" : "no longer",
               options_.ns, options_.name);
  if (on_change_) on_change_(leading);
}

void LeaderElector::run() {
  auto last_renewal = Clock::now();
  while (!stopping_) {
    bool held = false;
    try {
      held = try_acquire_or_renew();
    } catch (const std::exception& e) {
      spdlog::warn("leader election: {}", e.what());
    }
    if (held) {
      last_renewal = Clock::now();
      set_leading(true);
    } else if (leading_ && Clock::now() - last_renewal > options_.renew_deadline) {
      set_leading(false);  // could not renew in time: someone else may take over now
    } else if (leading_) {
      // Renewal failed but the deadline has not passed: keep leading, retry soon.
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, options_.retry_period, [this] { return stopping_.load(); });
  }
}

bool LeaderElector::try_acquire_or_renew() {
  const KindInfo& kind = lease_kind();
  std::string path = kind.object_path(options_.ns, options_.name);
  Reply got = client_.request("GET", path);
  std::string now = micro_time_now();
  json spec = {{"holderIdentity", options_.identity},
               {"leaseDurationSeconds", options_.lease_duration.count()},
               {"acquireTime", now},
               {"renewTime", now},
               {"leaseTransitions", 0}};
  if (got.status == 404) {
    json lease = {{"apiVersion", kind.api_version},
                  {"kind", kind.kind},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                  {"spec", spec}};
    Reply created = client_.request("POST", kind.collection_path(options_.ns), lease.dump());
    observed_ = true;
    if (created.ok()) {
      std::lock_guard lock(mu_);
      holder_ = options_.identity;
      return true;
    }
    if (created.status != 409)
      spdlog::warn("leader election: create lease: {}", created.describe());
    return false;
  }
  if (!got.ok()) {
    spdlog::warn("leader election: read lease: {}", got.describe());
    return false;
  }
  json lease = json::parse(got.body, nullptr, false);
  if (!lease.is_object()) return false;
  json old = lease.value("spec", json::object());
  std::string holder = old.value("holderIdentity", "");
  std::string record = holder + "|" + old.value("renewTime", "");
  auto duration = std::chrono::seconds(old.value("leaseDurationSeconds", 15));
  {
    std::lock_guard lock(mu_);
    if (record != observed_record_) {
      observed_record_ = record;
      observed_at_ = Clock::now();
    }
    holder_ = holder;
  }
  observed_ = true;
  bool mine = holder == options_.identity;
  bool expired = Clock::now() - observed_at_ > duration;
  if (!mine && !holder.empty() && !expired) return false;  // someone else leads

  int transitions = old.value("leaseTransitions", 0);
  if (mine) {
    spec["acquireTime"] = old.value("acquireTime", now);
  } else {
    ++transitions;
  }
  spec["leaseTransitions"] = transitions;
  lease["spec"] = spec;  // metadata.resourceVersion stays: the update is conditional on it
  Reply put = client_.request("PUT", path, lease.dump());
  if (!put.ok()) {
    if (put.status != 409) spdlog::warn("leader election: update lease: {}", put.describe());
    return false;
  }
  std::lock_guard lock(mu_);
  holder_ = options_.identity;
  auto written = json::parse(put.body, nullptr, false);
  if (written.is_object()) {
    observed_record_ = options_.identity + "|" + now;
    observed_at_ = Clock::now();
  }
  return true;
}

void LeaderElector::release() {
  const KindInfo& kind = lease_kind();
  std::string path = kind.object_path(options_.ns, options_.name);
  Reply got = client_.request("GET", path);
  if (!got.ok()) return;
  json lease = json::parse(got.body, nullptr, false);
  if (!lease.is_object() || lease["spec"].value("holderIdentity", "") != options_.identity) return;
  // An empty holder lets a standby acquire without waiting for expiry.
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = micro_time_now();
  Reply put = client_.request("PUT", path, lease.dump());
  if (put.ok())
    spdlog::info("leader election: released the lease");
  else
    spdlog::warn("leader election: release: {}", put.describe());
}

}  // namespace wok::kube
