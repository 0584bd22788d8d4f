// The supervision loop: launches instances, reaps them, restarts them with
// backoff, probes readiness, stops them gracefully, rotates their logs.
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>

#include "runtime/health_probe.h"
#include "runtime/log_files.h"
#include "runtime/runtime_impl.h"

namespace wok::runtime {

std::chrono::milliseconds crash_backoff(int n, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max) {
  auto delay = initial;
  for (int i = 1; i < n && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

namespace {

// The kernel's count of OOM kills in a memory cgroup (v1 memory.oom_control,
// v2 memory.events).
int oom_kills(const std::string& cgroup) {
  if (cgroup.empty()) return 0;
  for (const char* file : {"/memory.oom_control", "/memory.events"}) {
    std::ifstream in(cgroup + file);
    std::string key;
    long long value = 0;
    while (in >> key >> value)
      if (key == "oom_kill") return static_cast<int>(value);
  }
  return 0;
}

std::string describe_exit(const InstanceStatus& s) {
  if (s.oom_killed) return "killed by the memory limit (OOM, signal 9)";
  if (s.last_signal)
    return std::string("killed by signal ") + std::to_string(s.last_signal) + " (" +
           ::strsignal(s.last_signal) + ")";
  if (s.last_exit_code >= 0) return "exited with code " + std::to_string(s.last_exit_code);
  return "exited (status unknown: adopted from an earlier wok process)";
}

}  // namespace

void Runtime::Impl::run_loop() {
  std::unique_lock lock(mu);
  while (!quitting) {
    std::vector<std::shared_ptr<Instance>> all;
    for (auto& [id, inst] : instances) all.push_back(inst);
    lock.unlock();
    for (auto& inst : all) step(*inst);
    lock.lock();
    // Services route to Ready instances only, as a cluster's endpoints do.
    std::set<std::string> ready;
    for (auto& [id, inst] : instances)
      if (inst->status.phase == Phase::Ready && !inst->spec.network.empty()) ready.insert(id);
    lock.unlock();
    networks.sync(ready);
    lock.lock();
    changed.notify_all();
    changed.wait_for(lock, options.tick);
  }
}

void Runtime::Impl::step(Instance& inst) {
  std::unique_lock lock(mu);
  auto now = Clock::now();
  int pid = inst.status.pid;
  if (pid > 0) {
    // Has it exited?
    int wait_status = 0;
    bool exited = false;
    if (inst.own_child) {
      exited = ::waitpid(pid, &wait_status, WNOHANG) == pid;
    } else if (inst.pidfd >= 0) {
      pollfd p{inst.pidfd, POLLIN, 0};
      exited = ::poll(&p, 1, 0) == 1;
    } else {
      exited = ::kill(pid, 0) != 0 && errno == ESRCH;
    }
    if (exited) {
      lock.unlock();
      reap(inst, inst.own_child, wait_status);
      return;
    }
    if (!inst.want_running) {
      std::string error;
      if (!inst.term_sent) {
        inst.term_sent = true;
        inst.kill_at = now + inst.spec.grace;
        inst.status.phase = Phase::Stopping;
        lock.unlock();
        if (!runc.kill(inst.spec.id, SIGTERM, &error)) ::kill(pid, SIGTERM);
      } else if (!inst.kill_sent && now >= inst.kill_at) {
        inst.kill_sent = true;
        lock.unlock();
        spdlog::info("runtime: {} did not stop within {}s, sending SIGKILL", inst.spec.id,
                     inst.spec.grace.count());
        // The pid namespace dies with its init: SIGKILL to it ends them all.
        ::kill(pid, SIGKILL);
      }
      return;
    }
    if (now >= inst.next_rotate) {
      inst.next_rotate = now + std::chrono::seconds(5);
      auto paths = inst.paths;
      lock.unlock();
      rotate_log_if_larger(paths.stdout_log(), options.log_max_bytes);
      rotate_log_if_larger(paths.stderr_log(), options.log_max_bytes);
      lock.lock();
    }
    if (now >= inst.next_probe) {
      inst.next_probe = now + options.probe_period;
      lock.unlock();
      check_health(inst);
    }
    return;
  }
  // Not running.
  if (!inst.want_running) {
    if (inst.status.phase != Phase::Stopped) {
      lock.unlock();
      stopped(inst);
      lock.lock();
      inst.status.phase = Phase::Stopped;
      changed.notify_all();
    }
    return;
  }
  if (now >= inst.next_launch) {
    lock.unlock();
    launch(inst);
  }
}

void Runtime::Impl::launch(Instance& inst) {
  std::unique_lock lock(mu);
  std::string id = inst.spec.id;
  InstancePaths paths = inst.paths;
  uint32_t uid = inst.uid;
  inst.status.phase =
      inst.status.phase == Phase::CrashLoopBackOff ? Phase::CrashLoopBackOff : Phase::Starting;
  lock.unlock();

  std::string error;
  runc.remove(id, &error);  // a leftover of a previous run, if any
  error.clear();
  begin_run_log(paths.stdout_log(),
                options.log_max_bytes);  // where this run starts (wok logs --previous)
  begin_run_log(paths.stderr_log(), options.log_max_bytes);
  int out = open_log(paths.stdout_log()), err = open_log(paths.stderr_log());
  int pid = 0;
  if (out < 0 || err < 0) {
    error = "cannot open log files in " + paths.dir.string() + ": " + std::strerror(errno);
  } else {
    // Owned by the sandbox user: php-fpm reopens its stderr via /proc/self/fd/2.
    if (::fchown(out, uid, uid) != 0 || ::fchown(err, uid, uid) != 0)
      spdlog::warn("runtime: cannot chown logs of {}", id);
    pid = runc.run_detached(id, paths.bundle(), out, err, paths.runc_log(), &error);
  }
  if (out >= 0) ::close(out);
  if (err >= 0) ::close(err);
  std::string cgroup = pid > 0 ? memory_cgroup_of(pid) : "";

  lock.lock();
  auto now = Clock::now();
  if (pid <= 0) {
    // Counts as a crash: same backoff, same CrashLoopBackOff.
    inst.status.last_error = error;
    inst.quick_crashes++;
    inst.next_launch =
        now + crash_backoff(inst.quick_crashes, options.backoff_initial, options.backoff_max);
    inst.status.phase =
        inst.quick_crashes >= options.crash_loop_after ? Phase::CrashLoopBackOff : Phase::Starting;
    spdlog::warn("runtime: {}", error);
    return;
  }
  inst.status.pid = pid;
  inst.status.phase = Phase::Running;
  inst.status.started_at = std::chrono::system_clock::now();
  inst.own_child = true;
  inst.memory_cgroup = cgroup;
  inst.term_sent = inst.kill_sent = false;
  inst.launched_at = now;
  inst.next_probe = now;
  spdlog::info("runtime: started {} (pid {})", id, pid);
  changed.notify_all();
}

void Runtime::Impl::reap(Instance& inst, bool own_child, int wait_status) {
  std::unique_lock lock(mu);
  std::string id = inst.spec.id;
  bool oom = oom_kills(inst.memory_cgroup) > 0;
  lock.unlock();
  std::string error;
  if (!runc.remove(id, &error)) spdlog::warn("runtime: {}", error);
  lock.lock();
  auto& s = inst.status;
  s.last_exit_code = -1;
  s.last_signal = 0;
  // An adopted init may still have been reparented to us (we are a
  // subreaper): reap it too, and learn its status after all.
  if (!own_child && s.pid > 0 && ::waitpid(s.pid, &wait_status, WNOHANG) == s.pid) own_child = true;
  if (own_child && WIFEXITED(wait_status)) s.last_exit_code = WEXITSTATUS(wait_status);
  if (own_child && WIFSIGNALED(wait_status)) s.last_signal = WTERMSIG(wait_status);
  s.oom_killed = oom;
  if (oom && !s.last_signal) s.last_signal = SIGKILL;
  s.pid = 0;
  if (inst.pidfd >= 0) ::close(inst.pidfd);
  inst.pidfd = -1;
  inst.own_child = false;
  changed.notify_all();
  if (!inst.want_running) {
    lock.unlock();
    stopped(inst);
    lock.lock();
    s.phase = Phase::Stopped;
    spdlog::info("runtime: stopped {}", id);
    return;
  }
  auto now = Clock::now();
  s.restarts++;
  s.last_error = describe_exit(s);
  inst.quick_crashes = now - inst.launched_at < options.stable_after ? inst.quick_crashes + 1 : 1;
  auto delay = crash_backoff(inst.quick_crashes, options.backoff_initial, options.backoff_max);
  inst.next_launch = now + delay;
  s.phase =
      inst.quick_crashes >= options.crash_loop_after ? Phase::CrashLoopBackOff : Phase::Starting;
  spdlog::warn("runtime: {} {}; restart {} in {}ms", id, s.last_error, s.restarts, delay.count());
}

void Runtime::Impl::check_health(Instance& inst) {
  std::unique_lock lock(mu);
  int pid = inst.status.pid;
  uint16_t port = inst.spec.port;
  std::string path = inst.spec.health_path;
  bool listening = inst.spec.probe_listening;
  lock.unlock();
  ProbeResult r;
  if (port == 0) {
    r.ok = true;  // nothing to route to: running is ready
  } else if (listening) {
    r = probe_listening(pid, port);
  } else {
    r = probe_http(pid, port, path);
  }
  lock.lock();
  if (inst.status.pid != pid || !inst.want_running) return;
  Phase next = r.ok ? Phase::Ready : Phase::Running;
  if (next != inst.status.phase) {
    inst.status.phase = next;
    changed.notify_all();
  }
}

}  // namespace wok::runtime
