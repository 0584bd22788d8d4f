#pragma once
// What a sandboxed workload instance is (InstanceSpec) and how it is doing
// (InstanceStatus). Plain data: the Site controller fills an InstanceSpec per
// replica and hands it to Runtime::start (runtime.h).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wok::runtime {

// A host directory made visible inside the sandbox. Nothing else of the host's
// file system is, apart from the base image's read-only system directories.
struct Volume {
  std::string host_path;       // must exist; chowned to the sandbox uid when writable
  std::string container_path;  // absolute
  bool read_only = false;      // source checkouts: true; storage: false
};

struct Resources {
  int64_t memory_bytes = 256ll << 20;  // memory cgroup limit (no swap on top); 0 = unlimited
  int64_t cpu_millis = 0;              // CFS quota: 500 = half a core; 0 = unlimited
  int64_t pids = 256;                  // pids cgroup limit: fork bombs stop here
  int64_t tmp_bytes = 64ll << 20;      // size of the tmpfs on /tmp
};

struct InstanceSpec {
  // Unique per runtime, also the runc container id and the directory name:
  // [a-z0-9][a-z0-9._-]*, at most 128 characters. E.g. "team-a.blog.web.r3.0".
  std::string id;
  std::string project;  // the owning project (labels, default uid)
  // Sandbox user (and group): the project's, handed out by the store
  // (Store::project_uid: unique, never reused). 0 picks sandbox_uid(project),
  // for tests only: two project names may hash to the same uid.
  uint32_t uid = 0;
  // Root file system: "" = the base image (host /usr, /lib... read-only);
  // "oci:DIR:TAG" = an OCI image layout on disk, unpacked with umoci;
  // anything else ("docker://...", "oci-archive:FILE") is copied with skopeo.
  std::string image;
  std::vector<std::string> command;  // empty = the image's entrypoint + cmd
  std::map<std::string, std::string> env;
  std::string workdir;  // empty = the image's, or "/"
  std::vector<Volume> volumes;
  // Small read-only files at /etc/wok/NAME inside (php-fpm.conf...).
  std::map<std::string, std::string> files;
  Resources resources;
  uint16_t port = 0;        // exported as $PORT; 0 = not routed, no probe
  std::string health_path;  // HTTP GET that must answer 2xx/3xx; "" = a TCP connect
  // Ready once something listens on 127.0.0.1:port or *:port inside (read
  // from /proc/PID/net/tcp): no connection is made. For php-fpm, whose
  // ondemand pool would fork a worker for every probe's connection and keep
  // it alive between probes.
  bool probe_listening = false;
  // The site network it joins (Runtime::ensure_network, site_network.h);
  // "" = a network namespace of its own with loopback only.
  std::string network;
  // The service (component) it backs once Ready: other instances of the
  // network reach it by that name. "" = none (workers, php-fpm, builds).
  std::string service;
  std::chrono::seconds grace{10};             // SIGTERM -> SIGKILL delay on stop
  std::map<std::string, std::string> labels;  // free-form, kept across restarts
};

enum class Phase {
  Starting,          // being launched, or waiting out a backoff after a crash
  Running,           // process up, not (yet) answering its health check
  Ready,             // process up and healthy: route traffic here
  CrashLoopBackOff,  // crashed repeatedly soon after start; waiting before the next try
  Stopping,          // SIGTERM sent, grace period running
  Stopped,           // not running and not coming back (stop() or shutdown())
};
const char* phase_name(Phase phase);

struct InstanceStatus {
  std::string id;
  Phase phase = Phase::Starting;
  int pid = 0;              // host pid of the container's init, 0 when not running
  int restarts = 0;         // relaunches after an exit, since start()
  int last_exit_code = -1;  // of the previous run; -1 when killed by a signal or unknown
  int last_signal = 0;      // e.g. 9 for SIGKILL
  bool oom_killed = false;  // the previous run was killed by the memory cgroup
  std::string last_error;   // why the previous launch or run failed, human readable
  bool adopted = false;     // found running at startup (a previous wok process launched it)
  std::chrono::system_clock::time_point started_at{};  // of the current run
};

// A uid derived from a project's name: base + hash(project) % span. Two names
// may share one, so the platform never relies on it: the store hands out each
// project's uid (Store::project_uid, which takes this one first when free).
uint32_t sandbox_uid(const std::string& project, uint32_t base = 100000, uint32_t span = 900000);

// "" when the id is usable, else why not.
std::string check_instance_id(const std::string& id);

}  // namespace wok::runtime
