#pragma once
// Leader election with a coordination.k8s.io/v1 Lease, as client-go does it:
// the holder renews the lease every retry period; another candidate takes it
// over only when it has seen the same record unchanged for
// leaseDurationSeconds (measured on its own clock, so clocks need not agree).
// Every write is conditional on the resourceVersion read, so two candidates
// cannot both win.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "kube/client.h"

namespace wok::kube {

struct LeaseOptions {
  std::string ns = "wok-system";
  std::string name = "wok-operator";
  std::string identity;  // unique per process
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};  // give up leading when renewals fail this long
  std::chrono::milliseconds retry_period{2000};
};

class LeaderElector {
 public:
  // on_change(true) when this process becomes the leader, (false) when it
  // stops being one (renewal failed past the deadline, or stop()).
  LeaderElector(KubeClient& client, LeaseOptions options, std::function<void(bool)> on_change);
  ~LeaderElector();
  void start();
  // Stops and, if leading, releases the lease so a standby takes over at once.
  void stop();

  bool leading() const { return leading_; }
  // True once the lease has been read at least once (leader or standby).
  bool observed() const { return observed_; }
  std::string holder() const;

 private:
  void run();
  // One attempt to acquire or renew; true when we hold the lease after it.
  bool try_acquire_or_renew();
  void release();
  void set_leading(bool leading);

  KubeClient& client_;
  LeaseOptions options_;
  std::function<void(bool)> on_change_;
  std::atomic<bool> stopping_{false}, leading_{false}, observed_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::string observed_record_;  // holder + renewTime last seen
  std::chrono::steady_clock::time_point observed_at_;
  std::string holder_;
};

}  // namespace wok::kube
