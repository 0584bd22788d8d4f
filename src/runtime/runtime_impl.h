#pragma once
// Private to the runtime: the per-instance record and the supervisor loop
// (supervisor.cc) that drives every instance towards its desired state.
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/bundle.h"
#include "runtime/image_store.h"
#include "runtime/runc.h"
#include "runtime/runtime.h"

namespace wok::runtime {

using Clock = std::chrono::steady_clock;

// Fields are guarded by Impl::mu. Only the supervisor thread launches, kills
// and reaps, so runc is never driven twice at once for one instance.
struct Instance {
  InstanceSpec spec;
  std::string spec_json;  // identity for idempotent start()
  uint32_t uid = 0;
  RootFs root;
  InstancePaths paths;
  InstanceStatus status;
  bool want_running = true;
  bool own_child = false;     // launched by us: waitpid gives the exit status
  int pidfd = -1;             // adopted: readable when the process exits
  std::string memory_cgroup;  // host dir of its memory cgroup, for the OOM counter
  int quick_crashes = 0;
  bool term_sent = false, kill_sent = false;
  Clock::time_point launched_at{}, next_launch{}, kill_at{}, next_probe{}, next_rotate{};
};

struct Runtime::Impl {
  explicit Impl(RuntimeOptions o);

  RuntimeOptions options;
  Runc runc;
  ImageStore images;
  SiteNetworks networks;

  mutable std::mutex mu;
  mutable std::condition_variable changed;  // any status change; also wakes the loop
  std::map<std::string, std::shared_ptr<Instance>> instances;
  std::map<std::string, std::string> job_networks;  // running job id -> its network
  bool quitting = false;
  std::thread loop;

  InstancePaths paths_of(const std::string& id) const {
    return {options.data_dir / "instances" / id};
  }
  void adopt_existing();
  void run_loop();
  void step(Instance& inst);
  void launch(Instance& inst);
  void reap(Instance& inst, bool exited, int wait_status);
  void check_health(Instance& inst);
  // Plugs the instance into its site network, if it names one.
  std::string attach(const InstanceSpec& spec, Attachment* net);
  void stopped(Instance& inst);  // its network place is released
};

// Host directory of the memory cgroup `pid` is in (v1 or v2), "" if unknown.
std::string memory_cgroup_of(int pid);
int open_pidfd(int pid);  // -1 if gone or unsupported

// Delay before relaunch after the n-th quick crash in a row (n >= 1).
std::chrono::milliseconds crash_backoff(int n, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max);

}  // namespace wok::runtime
