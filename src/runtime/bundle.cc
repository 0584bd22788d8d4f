#include "runtime/bundle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "base/unique_fd.h"
#include "runtime/seccomp_profile.h"

namespace wok::runtime {
namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string>& default_base_dirs() {
  static const std::vector<std::string> dirs = {
      "/usr",
      "/lib",
      "/lib64",
      "/bin",
      "/sbin",
      "/etc/php",
      "/etc/ssl/certs",
      "/etc/ssl/openssl.cnf",
      "/etc/alternatives",
      "/etc/ld.so.cache",
      "/etc/localtime",
  };
  return dirs;
}

namespace {

// The files of the sandbox's /etc: only its own user, never the host's.
const char* kEtcFiles[] = {"passwd", "group", "hosts", "resolv.conf", "nsswitch.conf"};

json bind_mount(const std::string& src, const std::string& dst, bool ro) {
  json options = {"rbind", "nosuid", "nodev"};
  options.push_back(ro ? "ro" : "rw");
  return {{"destination", dst}, {"type", "bind"}, {"source", src}, {"options", options}};
}

json kernel_mounts(const InstanceSpec& spec) {
  return json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
      {{"destination", "/dev/shm"},
       {"type", "tmpfs"},
       {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      {{"destination", "/tmp"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options",
        {"nosuid", "nodev", "mode=1777", "size=" + std::to_string(spec.resources.tmp_bytes)}}},
  });
}

json process(const InstanceSpec& spec, uint32_t uid, const RootFs& root) {
  std::vector<std::string> args = spec.command.empty() ? root.args : spec.command;
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, {"HOME", "/tmp"}};
  for (const auto& kv : root.env) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : spec.env) env[k] = v;
  if (spec.port) env["PORT"] = std::to_string(spec.port);
  json env_list = json::array();
  for (const auto& [k, v] : env) env_list.push_back(k + "=" + v);
  std::string cwd = !spec.workdir.empty() ? spec.workdir : !root.cwd.empty() ? root.cwd : "/";
  // No capabilities at all: the workload runs as a plain user, and
  // noNewPrivileges keeps setuid binaries of the host's /usr from changing that.
  json none = json::array();
  return {{"terminal", false},
          {"user", {{"uid", uid}, {"gid", uid}}},
          {"args", args},
          {"env", env_list},
          {"cwd", cwd},
          {"capabilities",
           {{"bounding", none},
            {"effective", none},
            {"inheritable", none},
            {"permitted", none},
            {"ambient", none}}},
          {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 4096}, {"soft", 4096}}}},
          {"noNewPrivileges", true}};
}

json resources(const Resources& r) {
  json out = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  if (r.memory_bytes > 0) out["memory"] = {{"limit", r.memory_bytes}};
  if (r.cpu_millis > 0) {
    const int64_t period = 100000;
    out["cpu"] = {{"quota", std::max<int64_t>(1000, r.cpu_millis * period / 1000)},
                  {"period", period}};
  }
  if (r.pids > 0) out["pids"] = {{"limit", r.pids}};
  return out;
}

// The /tmp mount point of a root, mode 01777. runc creates a missing mount
// point 0755, and a tmpfs mounted there later takes the existing directory's
// mode over its mode=1777 option: every sandbox writing /tmp (php-fpm's lock
// file) failed from its first restart on. Made from descriptors, never
// following a symlink.
std::string make_tmp_mount_point(const fs::path& root) {
  base::UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return "cannot open " + root.string() + ": " + std::strerror(errno);
  if (::mkdirat(dir.get(), "tmp", 01777) != 0 && errno != EEXIST)
    return "cannot create " + (root / "tmp").string() + ": " + std::strerror(errno);
  base::UniqueFd tmp(::openat(dir.get(), "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!tmp.valid() || ::fchmod(tmp.get(), 01777) != 0)
    return (root / "tmp").string() + " is not a directory wok can use: " + std::strerror(errno);
  return "";
}

// A volume's mount point inside an image's files: runc would resolve a
// symlink there inside the root (never out of it), but a volume the spec
// puts at /data belongs at /data, not wherever the image points that name.
// Each existing component is opened without following links; a missing
// one is for runc to create.
std::string check_image_mount_point(const fs::path& root, const std::string& container_path) {
  base::UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid())
    return "cannot open the image's root " + root.string() + ": " + std::strerror(errno);
  fs::path walked = "/";
  for (const auto& part : fs::path(container_path).relative_path()) {
    walked /= part;
    struct stat st;
    if (::fstatat(dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return "";
      return "volume " + container_path + ": cannot inspect " + walked.string() +
             " in the image: " + std::strerror(errno);
    }
    if (S_ISLNK(st.st_mode))
      return "volume " + container_path + ": " + walked.string() +
             " is a symbolic link in the image (not followed)";
    if (!S_ISDIR(st.st_mode))
      return "volume " + container_path + ": " + walked.string() +
             " in the image is not a directory";
    dir = base::UniqueFd(
        ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid())
      return "volume " + container_path + ": cannot open " + walked.string() + " in the image";
  }
  return "";
}

std::string write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  return out ? "" : "cannot write " + path.string();
}

std::string etc_content(const std::string& name, const InstanceSpec& spec, uint32_t uid,
                        const Attachment* net) {
  std::string u = std::to_string(uid);
  if (name == "passwd") return "sandbox:x:" + u + ":" + u + ":sandbox:/tmp:/usr/sbin/nologin\n";
  if (name == "group") return "sandbox:x:" + u + ":\n";
  if (name == "hosts") {
    std::string hosts = "127.0.0.1\tlocalhost " + spec.id.substr(0, 63) + "\n::1\tlocalhost\n";
    // The site's services by name (the only names there are without egress).
    return net ? hosts + net->hosts : hosts;
  }
  if (name == "nsswitch.conf") return "passwd: files\ngroup: files\nhosts: files dns\n";
  // resolv.conf: the site network's resolver when it has egress; none
  // otherwise (the host's would be unreachable anyway).
  std::string out;
  if (net)
    for (const auto& ns : net->nameservers) out += "nameserver " + ns + "\n";
  return out;
}

}  // namespace

json oci_config(const InstanceSpec& spec, uint32_t uid, const RootFs& root,
                const InstancePaths& paths, const std::vector<std::string>& base_dirs,
                const Attachment* net) {
  json mounts = kernel_mounts(spec);
  if (root.base_image) {
    for (const auto& dir : base_dirs) {
      std::error_code ec;
      auto st = fs::symlink_status(dir, ec);
      if (ec || !fs::exists(st) || fs::is_symlink(st)) continue;  // symlinks are recreated
      mounts.push_back(bind_mount(dir, dir, true));
    }
  }
  for (const char* name : kEtcFiles)
    mounts.push_back(bind_mount((paths.etc() / name).string(), std::string("/etc/") + name, true));
  mounts.push_back(bind_mount(paths.files().string(), "/etc/wok", true));
  mounts.push_back(bind_mount(paths.run().string(), "/run/wok", false));
  for (const auto& v : spec.volumes)
    mounts.push_back(bind_mount(v.host_path, v.container_path, v.read_only));

  json annotations = {{"wok.dev/project", spec.project}};
  // A site network's instance joins the namespace wok plugged into it;
  // otherwise runc makes one with loopback only.
  json network = {{"type", "network"}};
  if (net) network["path"] = net->netns_path;
  for (const auto& [k, v] : spec.labels) annotations["wok.dev/label." + k] = v;

  return {
      {"ociVersion", "1.0.2"},
      {"process", process(spec, uid, root)},
      {"root", {{"path", root.path.string()}, {"readonly", true}}},
      {"hostname", spec.id.substr(0, 63)},
      {"mounts", mounts},
      {"annotations", annotations},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}}, network, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}},
        // Relative: under the cgroup of the wok process itself.
        {"cgroupsPath", "wok/" + spec.id},
        {"resources", resources(spec.resources)},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
          "/proc/scsi", "/sys/devices/virtual/powercap"}},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
        {"seccomp", seccomp_profile()}}},
  };
}

std::string write_bundle(const InstanceSpec& spec, uint32_t uid, const RootFs& root,
                         const InstancePaths& paths, const std::vector<std::string>& base_dirs,
                         const Attachment* net) {
  std::error_code ec;
  for (const auto& d : {paths.bundle(), paths.etc(), paths.files(), paths.run()}) {
    fs::create_directories(d, ec);
    if (ec) return "cannot create " + d.string() + ": " + ec.message();
  }
  // The sandbox user owns its socket directory and writable volumes.
  if (::chown(paths.run().c_str(), uid, uid) != 0)
    return "cannot chown " + paths.run().string() + " to uid " + std::to_string(uid);
  for (const auto& v : spec.volumes) {
    if (!fs::is_directory(v.host_path) && !fs::is_regular_file(v.host_path))
      return "volume " + v.container_path + ": host path " + v.host_path + " does not exist";
    if (!v.read_only && ::chown(v.host_path.c_str(), uid, uid) != 0)
      return "cannot chown volume " + v.host_path + " to uid " + std::to_string(uid);
    if (!root.base_image)
      if (auto err = check_image_mount_point(root.path, v.container_path); !err.empty()) return err;
  }
  if (root.base_image) {
    // An empty root with mount points; the binds bring the host's system dirs.
    fs::create_directories(root.path / "etc", ec);
    if (auto err = make_tmp_mount_point(root.path); !err.empty()) return err;
    for (const auto& dir : base_dirs) {
      auto st = fs::symlink_status(dir, ec);
      if (ec || !fs::is_symlink(st)) continue;
      fs::path link = root.path / fs::path(dir).relative_path();
      fs::create_directories(link.parent_path(), ec);
      if (!fs::is_symlink(fs::symlink_status(link, ec)))
        fs::create_symlink(fs::read_symlink(dir), link, ec);
      if (ec) return "cannot create " + link.string() + ": " + ec.message();
    }
  }
  for (const char* name : kEtcFiles)
    if (auto err = write_file(paths.etc() / name, etc_content(name, spec, uid, net)); !err.empty())
      return err;
  fs::remove_all(paths.files(), ec);
  fs::create_directories(paths.files(), ec);
  for (const auto& [name, content] : spec.files) {
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
      return "file name \"" + name + "\" must be a plain name";
    if (auto err = write_file(paths.files() / name, content); !err.empty()) return err;
  }
  json config = oci_config(spec, uid, root, paths, base_dirs, net);
  return write_file(paths.bundle() / "config.json", config.dump(2));
}

}  // namespace wok::runtime
