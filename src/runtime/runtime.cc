#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/instance_json.h"
#include "runtime/netns.h"
#include "runtime/runtime_impl.h"

namespace wok::runtime {
namespace fs = std::filesystem;
using nlohmann::json;

Runtime::Impl::Impl(RuntimeOptions o)
    : options(std::move(o)),
      runc(options.runc, options.data_dir / "runc"),
      images(options.data_dir / "images", options.umoci, options.skopeo),
      networks(options.data_dir / "networks", options.egress) {
  if (options.base_dirs.empty()) options.base_dirs = default_base_dirs();
}

namespace {

std::string validate(const InstanceSpec& spec) {
  if (auto err = check_instance_id(spec.id); !err.empty()) return err;
  if (spec.project.empty()) return "instance " + spec.id + ": project is required";
  if (spec.image.empty() && spec.command.empty())
    return "instance " + spec.id + ": the base image needs a command";
  for (const auto& v : spec.volumes) {
    fs::path p(v.container_path);
    if (!p.is_absolute() || p == "/" || v.container_path.find("..") != std::string::npos)
      return "volume " + v.container_path + ": path must be absolute, not /, without ..";
    for (const char* reserved : {"/proc", "/sys", "/dev", "/etc/wok", "/run/wok"})
      if (v.container_path.rfind(reserved, 0) == 0)
        return "volume " + v.container_path + ": " + reserved + " is reserved";
  }
  if (spec.resources.memory_bytes < 0 || spec.resources.cpu_millis < 0 || spec.resources.pids < 0 ||
      spec.resources.tmp_bytes <= 0)
    return "instance " + spec.id + ": resources must not be negative, /tmp size must be set";
  return "";
}

}  // namespace

int open_pidfd(int pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::string memory_cgroup_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line, unified;
  while (std::getline(in, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers == "memory" || controllers.find(",memory") != std::string::npos ||
        controllers.rfind("memory,", 0) == 0)
      return "/sys/fs/cgroup/memory" + path;
    if (line.rfind("0::", 0) == 0) unified = "/sys/fs/cgroup" + path;
  }
  return unified;
}

void Runtime::Impl::adopt_existing() {
  std::string error;
  for (const auto& c : runc.list(&error)) {
    auto inst = std::make_shared<Instance>();
    inst->paths = paths_of(c.id);
    std::ifstream in(inst->paths.spec_json());
    json saved = json::parse(in, nullptr, false);
    bool known = !saved.is_discarded() && spec_from_json(saved.value("spec", json()), &inst->spec);
    if (c.status != "running" || !known || c.pid <= 0) {
      std::string err;
      if (!runc.remove(c.id, &err)) spdlog::warn("runtime: {}", err);
      spdlog::info("runtime: deleted leftover container {} ({})", c.id, c.status);
      continue;
    }
    inst->spec_json = saved["spec"].dump();
    inst->uid = saved.value("uid", 0u);
    inst->root = rootfs_from_json(saved.value("root", json::object()));
    inst->pidfd = open_pidfd(c.pid);
    inst->memory_cgroup = memory_cgroup_of(c.pid);
    inst->status.id = c.id;
    inst->status.pid = c.pid;
    inst->status.phase = Phase::Running;
    inst->status.adopted = true;
    inst->status.started_at = std::chrono::system_clock::now();
    inst->launched_at = Clock::now();
    spdlog::info("runtime: adopted running container {} (pid {})", c.id, c.pid);
    instances[c.id] = inst;
  }
  if (!error.empty()) spdlog::warn("runtime: {}", error);
}

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  // Container inits are reparented to us when runc exits: we then reap them
  // and learn how they ended (exit code, signal, OOM kill).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::error_code ec;
  fs::create_directories(impl_->options.data_dir / "instances", ec);
  fs::create_directories(impl_->options.data_dir / "runc", ec);
  impl_->adopt_existing();
  // Places in site networks of what did not survive (a build interrupted by
  // a crash of wok, an instance that exited meanwhile).
  for (const auto& [net, id] : impl_->networks.attached())
    if (!impl_->instances.count(id)) impl_->networks.detach(net, id);
  impl_->loop = std::thread([impl = impl_.get()] { impl->run_loop(); });
}

Runtime::~Runtime() { shutdown(); }

bool Runtime::start(const InstanceSpec& spec, std::string* error) {
  if (auto err = validate(spec); !err.empty()) {
    *error = err;
    return false;
  }
  std::string spec_json = spec_to_json(spec).dump();
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->quitting) {
      *error = "runtime is shutting down";
      return false;
    }
    auto it = impl_->instances.find(spec.id);
    if (it != impl_->instances.end() && it->second->status.phase != Phase::Stopped) {
      if (it->second->spec_json == spec_json && it->second->want_running) return true;
      *error = "instance " + spec.id + " already runs another spec; stop it first";
      return false;
    }
  }
  InstancePaths paths = impl_->paths_of(spec.id);
  RootFs root;
  if (spec.image.empty()) {
    root.path = paths.base_rootfs();
    root.base_image = true;
  } else if (!impl_->images.resolve(spec.project, spec.image, &root, error)) {
    return false;
  }
  uint32_t uid = spec.uid ? spec.uid : sandbox_uid(spec.project);
  Attachment net;
  if (auto err = impl_->attach(spec, &net); !err.empty()) {
    *error = "instance " + spec.id + ": " + err;
    return false;
  }
  if (auto err = write_bundle(spec, uid, root, paths, impl_->options.base_dirs,
                              spec.network.empty() ? nullptr : &net);
      !err.empty()) {
    *error = "instance " + spec.id + ": " + err;
    return false;
  }
  json saved = {{"spec", spec_to_json(spec)}, {"uid", uid}, {"root", rootfs_to_json(root)}};
  std::ofstream(paths.spec_json()) << saved.dump(2);

  std::lock_guard lock(impl_->mu);
  auto& slot = impl_->instances[spec.id];
  if (!slot) slot = std::make_shared<Instance>();
  // Reset in place: the supervisor may hold a reference to this record.
  Instance& inst = *slot;
  inst.spec = spec;
  inst.spec_json = spec_json;
  inst.uid = uid;
  inst.root = root;
  inst.paths = paths;
  inst.status = InstanceStatus{};
  inst.status.id = spec.id;
  inst.want_running = true;
  inst.quick_crashes = 0;
  inst.next_launch = Clock::now();
  impl_->changed.notify_all();
  return true;
}

std::vector<std::string> Runtime::prepare_job(const InstanceSpec& spec, std::string* error) {
  if (auto err = validate(spec); !err.empty()) {
    *error = err;
    return {};
  }
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->instances.count(spec.id)) {
      *error = "job " + spec.id + ": an instance has this id";
      return {};
    }
  }
  InstancePaths paths = impl_->paths_of(spec.id);
  std::string ignored;
  impl_->runc.remove(spec.id, &ignored);  // a leftover of a crash of wok
  RootFs root;
  if (spec.image.empty()) {
    root.path = paths.base_rootfs();
    root.base_image = true;
  } else if (!impl_->images.resolve(spec.project, spec.image, &root, error)) {
    return {};  // a job of an image component (cron jobs): as start() resolves it
  }
  uint32_t uid = spec.uid ? spec.uid : sandbox_uid(spec.project);
  Attachment net;
  if (auto err = impl_->attach(spec, &net); !err.empty()) {
    *error = "job " + spec.id + ": " + err;
    return {};
  }
  if (auto err = write_bundle(spec, uid, root, paths, impl_->options.base_dirs,
                              spec.network.empty() ? nullptr : &net);
      !err.empty()) {
    *error = "job " + spec.id + ": " + err;
    if (!spec.network.empty()) impl_->networks.detach(spec.network, spec.id);
    return {};
  }
  if (!spec.network.empty()) {
    std::lock_guard lock(impl_->mu);
    impl_->job_networks[spec.id] = spec.network;
  }
  return impl_->runc.run_foreground_command(spec.id, paths.bundle(), paths.runc_log());
}

std::vector<std::string> Runtime::networked_jobs() {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& [id, network] : impl_->job_networks) out.push_back(id);
  return out;
}

void Runtime::end_job(const std::string& id) {
  if (!check_instance_id(id).empty()) return;
  std::string network;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->job_networks.find(id);
    if (it != impl_->job_networks.end()) {
      network = it->second;
      impl_->job_networks.erase(it);
    }
  }
  int pid = impl_->runc.pid_of(id);
  std::string error;
  // SIGKILL to the init of the job's pid namespace ends every process in it.
  if (!impl_->runc.remove(id, &error)) spdlog::warn("runtime: job {}: {}", id, error);
  // Its init was reparented to us (subreaper) if runc was killed first.
  if (pid > 0) {
    for (int i = 0; i < 100 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) ::usleep(10000);
  }
  if (!network.empty()) impl_->networks.detach(network, id);
  std::error_code ec;
  fs::remove_all(impl_->paths_of(id).dir, ec);
}

std::string Runtime::Impl::attach(const InstanceSpec& spec, Attachment* net) {
  if (spec.network.empty()) return "";
  return networks.attach(spec.network, spec.id, spec.service, net);
}

void Runtime::Impl::stopped(Instance& inst) {
  if (!inst.spec.network.empty()) networks.detach(inst.spec.network, inst.spec.id);
}

std::optional<uint64_t> Runtime::cpu_usage_ns(const std::string& id) const {
  int pid = 0;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->instances.find(id);
    if (it != impl_->instances.end()) pid = it->second->status.pid;
  }
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",", path = line.substr(b + 1);
    if (controllers.find(",cpuacct,") != std::string::npos) {
      std::ifstream usage("/sys/fs/cgroup/" + controllers.substr(1, controllers.size() - 2) + path +
                          "/cpuacct.usage");
      uint64_t ns = 0;
      if (usage >> ns) return ns;
    }
    if (line.rfind("0::", 0) == 0) {
      std::ifstream stat("/sys/fs/cgroup" + path + "/cpu.stat");
      std::string key;
      uint64_t value = 0;
      while (stat >> key >> value)
        if (key == "usage_usec") return value * 1000;
    }
  }
  return std::nullopt;
}

std::string Runtime::ensure_network(const NetworkSpec& spec) {
  return impl_->networks.ensure(spec);
}
void Runtime::remove_network(const std::string& name) { impl_->networks.remove(name); }
std::vector<std::string> Runtime::networks() const { return impl_->networks.names(); }

bool Runtime::stop(const std::string& id) {
  std::unique_lock lock(impl_->mu);
  auto it = impl_->instances.find(id);
  if (it == impl_->instances.end()) return false;
  auto inst = it->second;
  inst->want_running = false;
  impl_->changed.notify_all();
  // The supervisor does the work; give it the grace period plus time for runc.
  auto deadline = Clock::now() + inst->spec.grace + std::chrono::seconds(30);
  return impl_->changed.wait_until(lock, deadline,
                                   [&] { return inst->status.phase == Phase::Stopped; });
}

void Runtime::shutdown() {
  std::unique_lock lock(impl_->mu);
  if (!impl_->loop.joinable()) return;
  std::chrono::seconds longest{0};
  for (auto& [id, inst] : impl_->instances) {
    inst->want_running = false;
    longest = std::max(longest, inst->spec.grace);
  }
  impl_->changed.notify_all();
  auto deadline = Clock::now() + longest + std::chrono::seconds(30);
  bool all = impl_->changed.wait_until(lock, deadline, [&] {
    for (auto& [id, inst] : impl_->instances)
      if (inst->status.phase != Phase::Stopped) return false;
    return true;
  });
  if (!all) spdlog::error("runtime: some instances did not stop in time");
  impl_->quitting = true;
  impl_->changed.notify_all();
  lock.unlock();
  impl_->loop.join();
  // A clean stop leaves no network behind (the next start makes them
  // again); after a crash they stay, and the next runtime adopts them with
  // the instances still running in them.
  if (all)
    for (const auto& net : impl_->networks.names()) impl_->networks.remove(net);
}

bool Runtime::forget(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->instances.find(id);
  if (it != impl_->instances.end()) {
    if (it->second->status.phase != Phase::Stopped) return false;
    impl_->instances.erase(it);
  }
  std::error_code ec;
  fs::remove_all(impl_->paths_of(id).dir, ec);
  return !ec;
}

std::optional<InstanceStatus> Runtime::status(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->instances.find(id);
  if (it == impl_->instances.end()) return std::nullopt;
  return it->second->status;
}

std::vector<InstanceStatus> Runtime::list() const {
  std::lock_guard lock(impl_->mu);
  std::vector<InstanceStatus> out;
  for (const auto& [id, inst] : impl_->instances) out.push_back(inst->status);
  return out;
}

bool Runtime::wait_until(const std::string& id,
                         const std::function<bool(const InstanceStatus&)>& pred,
                         std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->changed.wait_for(lock, timeout, [&] {
    auto it = impl_->instances.find(id);
    return it != impl_->instances.end() && pred(it->second->status);
  });
}

int Runtime::connect_to(const std::string& id, uint16_t port) const {
  int pid = 0;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->instances.find(id);
    if (it != impl_->instances.end()) pid = it->second->status.pid;
  }
  return connect_in_netns(pid, port);
}

fs::path Runtime::run_dir(const std::string& id) const { return impl_->paths_of(id).run(); }

fs::path Runtime::log_path(const std::string& id, LogStream stream) const {
  auto p = impl_->paths_of(id);
  return stream == LogStream::Stdout ? p.stdout_log() : p.stderr_log();
}

int connect_to(const InstanceStatus& instance, uint16_t port) {
  return connect_in_netns(instance.pid, port);
}

}  // namespace wok::runtime
