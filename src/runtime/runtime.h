#pragma once
// The embedded runtime: runs sandboxed workload instances under runc and keeps
// them running. How the Site controller uses it (one InstanceSpec per replica;
// a new revision uses new ids, so old and new can run side by side):
//
//   wok::runtime::Runtime rt({.data_dir = DATA / "runtime"});   // adopts survivors
//   InstanceSpec spec{.id = "team-a.api.web.r3.0", .project = "team-a",
//                     .image = "oci:/srv/images/api:1.4", .port = 8080,
//                     .health_path = "/healthz"};                // app mode
//   // php mode: configure_php_fpm(pool, &spec, &err) (php_fpm.h), base image.
//   if (!rt.start(spec, &err)) ...        // bad spec, image not found: nothing started
//   rt.wait_until(spec.id, is_ready, 60s) // rollout: switch the router after this
//   router upstream: [&rt, id] { return rt.connect_to(id, 8080); }  // app
//                    rt.run_dir(id) / kPhpSocketName                 // php (FastCGI)
//   rt.status(id) / rt.list()             // -> Site status, `wok get`
//   rt.stop(old_id)                       // SIGTERM, grace, SIGKILL, cleanup
//   tail_lines(rt.log_path(id, LogStream::Stdout), 100)  // `wok logs` (log_files.h)
//
// start() is idempotent for an identical spec (level-based reconcilers can
// call it every time). After a restart of wok, instances found running are
// adopted (status().adopted) with their saved spec; the controller stops those
// it no longer wants. Thread-safe; connect_to() never waits for runc.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/instance.h"
#include "runtime/site_network.h"

namespace wok::runtime {

struct RuntimeOptions {
  std::filesystem::path data_dir;  // runc/ (runc --root), instances/ID/, images/
  std::string runc = "runc";
  std::string umoci = "umoci";
  std::string skopeo = "skopeo";
  std::vector<std::string> base_dirs;               // empty = default_base_dirs() (bundle.h)
  std::chrono::milliseconds backoff_initial{1000};  // 1s, 2s, 4s... after crashes
  std::chrono::milliseconds backoff_max{60000};
  int crash_loop_after = 3;                       // quick crashes in a row -> CrashLoopBackOff
  std::chrono::milliseconds stable_after{10000};  // a run at least this long resets the count
  std::chrono::milliseconds probe_period{1000};
  std::chrono::milliseconds tick{100};  // supervision loop period
  uint64_t log_max_bytes = 10u << 20;   // per stream, one rotated file kept
  EgressPolicy egress;                  // what site networks may reach beyond the public internet
};

enum class LogStream { Stdout, Stderr };

class Runtime {
 public:
  // Makes this process a child subreaper (exit statuses of container inits
  // reach it), then adopts running containers under data_dir/runc and deletes
  // the stopped ones.
  explicit Runtime(RuntimeOptions options);
  ~Runtime();  // shutdown()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Validates, resolves the image (may unpack or pull: slow), writes the
  // bundle; the supervisor then launches it and restarts it when it exits.
  // False with `error` when nothing was started.
  bool start(const InstanceSpec& spec, std::string* error);
  // Graceful stop; blocks until the container is gone. False if unknown id.
  bool stop(const std::string& id);
  // Stops every instance (in parallel), the supervisor, and removes the
  // site networks. Idempotent.
  void shutdown();
  // Deletes a stopped instance's directory (logs included).
  bool forget(const std::string& id);

  std::optional<InstanceStatus> status(const std::string& id) const;
  std::vector<InstanceStatus> list() const;
  // Waits until pred(status) holds; false on timeout or unknown id.
  bool wait_until(const std::string& id, const std::function<bool(const InstanceStatus&)>& pred,
                  std::chrono::milliseconds timeout) const;

  // One-shot jobs (site builds, cron jobs): the sandbox of an instance (its image,
  // the project's uid, seccomp, cgroup limits, own pid and network
  // namespaces), run once in the foreground, never supervised. prepare_job
  // validates, writes the bundle and returns the command line that runs the
  // job: its stdout/stderr are the job's, its exit status the job's (empty
  // with `error` on failure). end_job, always called after, kills whatever is
  // left (the pid namespace dies with its init: a setsid child too), deletes
  // the container, its cgroup and its files.
  std::vector<std::string> prepare_job(const InstanceSpec& spec, std::string* error);
  void end_job(const std::string& id);
  // The ids of the jobs running in a network (cron jobs, database jobs).
  std::vector<std::string> networked_jobs();

  // CPU time the instance's processes used since it started (its cgroup's
  // cpuacct.usage, or cpu.stat on cgroup v2); nullopt when not running.
  std::optional<uint64_t> cpu_usage_ns(const std::string& id) const;

  // Site networks (site_network.h): ensure before starting the instances
  // whose spec names it; remove once the site is gone. "" or why not.
  std::string ensure_network(const NetworkSpec& spec);
  void remove_network(const std::string& name);
  std::vector<std::string> networks() const;

  // A connected non-blocking TCP socket to 127.0.0.1:port inside the
  // instance's network namespace, or -1 with errno (ESRCH: not running).
  int connect_to(const std::string& id, uint16_t port) const;
  // Host side of the instance's /run/wok (tenant-writable: never follow it).
  std::filesystem::path run_dir(const std::string& id) const;
  std::filesystem::path log_path(const std::string& id, LogStream stream) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Same as Runtime::connect_to, from a status snapshot (uses its pid).
int connect_to(const InstanceStatus& instance, uint16_t port);

}  // namespace wok::runtime
