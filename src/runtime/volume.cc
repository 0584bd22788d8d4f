#include "runtime/volume.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "runtime/fd_tree.h"
#include "runtime/subprocess.h"

namespace wok::runtime {

namespace fs = std::filesystem;
using base::UniqueFd;

namespace {

constexpr unsigned kLoopMajor = 7;
constexpr uint64_t kGrowSlack = 8ull << 20;
// The sandbox may not run set-uid programs, device nodes or binaries from a
// volume: it holds data, PHP reads its scripts from the revision's files.
constexpr unsigned long kMountFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
// Two reconcile workers may touch volumes at once: one mount table change at
// a time keeps "is it mounted? then mount" from racing itself.
std::mutex mount_table_mu;
// The file systems (st_dev) a snapshot_volume of this process holds frozen
// now; guarded by mount_table_mu. ensure_locked thaws what a crash left
// frozen, never one of these.
std::set<dev_t> frozen_by_us;

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string size_text(uint64_t bytes) {
  const char* units[] = {"", "Ki", "Mi", "Gi", "Ti"};
  int u = 0;
  while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + units[u];
}

// The magic link the kernel resolves to exactly the open file, whatever its
// path has become since: how tools and mount(2) get a file wok checked.
std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Attaches `image_fd` to a free loop device that frees itself once its last
// user (the mount) is gone. Returns the device's descriptor (hold it until
// the mount holds the device) and its path.
UniqueFd attach_loop(int image_fd, std::string* device, std::string* err) {
  UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control.valid()) {
    *err = sys_error("cannot open /dev/loop-control (is the loop module loaded?)");
    return {};
  }
  // Another process may take the free device between asking and using it.
  for (int attempt = 0; attempt < 20; ++attempt) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) {
      *err = sys_error("no free loop device");
      return {};
    }
    std::string path = "/dev/loop" + std::to_string(n);
    UniqueFd loop(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop.valid()) {
      *err = sys_error("cannot open " + path);
      return {};
    }
    loop_config config{};
    config.fd = static_cast<uint32_t>(image_fd);
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) {
      *device = path;
      return loop;
    }
    if (errno != EBUSY) {
      *err = sys_error("cannot attach the image to " + path);
      return {};
    }
  }
  *err = "every free loop device was taken by someone else, 20 times";
  return {};
}

// The loop device `image_fd` is already attached to, if any: a sandbox may
// still hold its file system though wok's own mount is gone (unmounted by
// hand, or wok's mount namespace is new). The same file behind a second loop
// device would be two file systems writing one image: it is reused instead.
UniqueFd loop_of(int image_fd, std::string* device) {
  struct stat st {};
  if (::fstat(image_fd, &st) != 0) return {};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/block", ec)) {
    std::string n = entry.path().filename().string();
    if (!n.starts_with("loop") || !fs::exists(entry.path() / "loop" / "backing_file", ec)) continue;
    std::string path = "/dev/" + n;
    UniqueFd loop(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    loop_info64 info{};
    if (loop.valid() && ::ioctl(loop.get(), LOOP_GET_STATUS64, &info) == 0 &&
        info.lo_inode == st.st_ino && info.lo_device == st.st_dev) {
      *device = path;
      return loop;
    }
  }
  return {};
}

// The size of the ext4 file system on `device_fd`, from its superblock.
uint64_t ext4_bytes(int device_fd) {
  unsigned char sb[1024];
  if (::pread(device_fd, sb, sizeof sb, 1024) != static_cast<ssize_t>(sizeof sb)) return 0;
  auto le32 = [&](size_t at) {
    return uint32_t(sb[at]) | uint32_t(sb[at + 1]) << 8 | uint32_t(sb[at + 2]) << 16 |
           uint32_t(sb[at + 3]) << 24;
  };
  if ((sb[0x38] | sb[0x39] << 8) != 0xEF53) return 0;
  uint64_t blocks = le32(0x4);
  if (le32(0x60) & 0x80) blocks |= uint64_t(le32(0x150)) << 32;  // INCOMPAT_64BIT
  return blocks * (uint64_t(1024) << le32(0x18));
}

// The loop device whose file system is mounted on `dir_fd`, if it is one:
// mounted when its device differs from its parent's.
UniqueFd mounted_loop(int parent_fd, int dir_fd, bool* mounted, std::string* err) {
  struct stat parent {
  }, dir{};
  if (::fstat(parent_fd, &parent) != 0 || ::fstat(dir_fd, &dir) != 0) {
    *err = sys_error("cannot stat the volume directory");
    return {};
  }
  *mounted = parent.st_dev != dir.st_dev;
  if (!*mounted) return {};
  if (major(dir.st_dev) != kLoopMajor) {
    *err = "something else than its image is mounted there (device " +
           std::to_string(major(dir.st_dev)) + ":" + std::to_string(minor(dir.st_dev)) + ")";
    return {};
  }
  std::string path = "/dev/loop" + std::to_string(minor(dir.st_dev));
  UniqueFd loop(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!loop.valid()) *err = sys_error("cannot open " + path);
  return loop;
}

// Opens parent/name as a directory, made if missing; a symlink or anything
// else there is refused, never followed.
UniqueFd open_mount_point(int parent_fd, const std::string& name, std::string* err) {
  if (::mkdirat(parent_fd, name.c_str(), 0755) != 0 && errno != EEXIST) {
    *err = sys_error("cannot create its directory");
    return {};
  }
  UniqueFd dir(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) {
    *err = errno == ELOOP || errno == ENOTDIR
               ? "its directory " + name + " is a symlink or not a directory (refused)"
               : sys_error("cannot open its directory");
  }
  return dir;
}

// Opens parent/name for reading and writing: a regular file of wok's only.
UniqueFd open_image(int parent_fd, const std::string& name, int flags, std::string* err) {
  // O_NONBLOCK: a fifo planted there must not hang us before the type check.
  UniqueFd fd(::openat(parent_fd, name.c_str(),
                       O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | flags, 0600));
  if (!fd.valid()) {
    if (errno != ENOENT)
      *err = errno == ELOOP ? "its image " + name + " is a symlink (refused)"
                            : sys_error("cannot open its image " + name);
    return {};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink != 1) {
    *err = "its image " + name + " is not a regular file of root's with a single link (refused)";
    return {};
  }
  int fl = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

// Mounts `device` on the directory `dir_fd`, reached through its descriptor.
std::string mount_on(int dir_fd, const std::string& device, bool executable = false) {
  const unsigned long flags = executable ? kMountFlags & ~MS_NOEXEC : kMountFlags;
  if (::mount(device.c_str(), fd_path(dir_fd).c_str(), "ext4", flags, nullptr) != 0)
    return sys_error("cannot mount " + device);
  return "";
}

// Files written to the bare directory before volumes had a size (an older
// wok) are copied into the new file system, mounted for that beside it, as
// the tenant's (fd_tree.h: no link followed).
std::string copy_in_old_files(int parent_fd, const fs::path& point, int dir_fd,
                              const std::string& device, uint64_t bytes, unsigned uid) {
  const fs::path stage = point.string() + ".img.mnt";
  const std::string stage_name = stage.filename().string();
  ::umount2(stage.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);  // left by a crash
  if (::mkdirat(parent_fd, stage_name.c_str(), 0700) != 0 && errno != EEXIST)
    return sys_error("cannot create " + stage_name);
  std::string err;
  {
    UniqueFd at(
        ::openat(parent_fd, stage_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!at.valid()) return sys_error("cannot open " + stage_name);
    if (std::string e = mount_on(at.get(), device); !e.empty()) return e;
    UniqueFd root(
        ::openat(parent_fd, stage_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) err = sys_error("cannot open " + stage_name);
    if (err.empty()) {
      ::unlinkat(root.get(), "lost+found", AT_REMOVEDIR);
      err = copy_tree(dir_fd, root.get(), uid);
    }
  }
  if (::umount2(stage.c_str(), UMOUNT_NOFOLLOW) != 0 && err.empty())
    err = sys_error("cannot unmount " + stage_name);
  ::unlinkat(parent_fd, stage_name.c_str(), AT_REMOVEDIR);
  if (err.find(std::strerror(ENOSPC)) != std::string::npos)
    return "the files in its directory from before sizes were enforced do not fit in " +
           size_text(bytes) + ": raise its size";
  return err.empty()
             ? ""
             : "cannot copy the files in its directory from before sizes were enforced: " + err;
}

// A new image, formatted (and given the directory's old files) under a
// temporary name and renamed into place when whole. Returns the attached loop
// device of the new image; `*copied`: old files were copied in.
UniqueFd create_image(int parent_fd, const fs::path& point, int dir_fd, uint64_t bytes,
                      unsigned uid, UniqueFd* image_fd, std::string* device, bool* copied,
                      std::string* err) {
  const std::string image = point.filename().string() + ".img";
  const std::string tmp = image + ".tmp";
  if (::unlinkat(parent_fd, tmp.c_str(), 0) != 0 && errno != ENOENT) {
    *err = sys_error("cannot remove the half-made " + tmp);
    return {};
  }
  *image_fd = open_image(parent_fd, tmp, O_CREAT | O_EXCL, err);
  if (!image_fd->valid()) {
    if (err->empty()) *err = sys_error("cannot create " + tmp);
    return {};
  }
  // Sparse: the host's disk is used as the tenant writes, up to `bytes`.
  if (::ftruncate(image_fd->get(), static_cast<off_t>(bytes)) != 0) {
    *err = sys_error("cannot size " + tmp);
    return {};
  }
  UniqueFd loop = attach_loop(image_fd->get(), device, err);
  if (!loop.valid()) return {};
  // -m 0: no blocks kept for root, nobody is root inside; the image reads as
  // zeros, so nothing needs zeroing (no background writes filling it up).
  auto r = run_command(
      {"mkfs.ext4", "-q", "-F", "-m", "0", "-E", "assume_storage_prezeroed=1,nodiscard", *device},
      std::chrono::minutes(5));
  if (!r.ok()) {
    *err = r.describe("mkfs.ext4");
    return {};
  }
  *copied = has_entries(dir_fd);
  if (*copied) {
    *err = copy_in_old_files(parent_fd, point, dir_fd, *device, bytes, uid);
    if (!err->empty()) {
      ::unlinkat(parent_fd, tmp.c_str(), 0);  // a copy's worth of blocks: not kept for the next try
      return {};
    }
  }
  if (::renameat(parent_fd, tmp.c_str(), parent_fd, image.c_str()) != 0) {
    *err = sys_error("cannot rename " + tmp + " to " + image);
    return {};
  }
  return loop;
}

// Growing a mounted ext4 takes CAP_SYS_RESOURCE (its resize ioctl checks
// it); some hosts and CI machines drop it even for root.
bool grows_online() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32));
}

// The image and its loop device `bytes` large: the file system follows.
std::string grow_device(int image_fd, int loop_fd, const std::string& device, uint64_t bytes) {
  if (::ftruncate(image_fd, static_cast<off_t>(bytes)) != 0)
    return sys_error("cannot grow the image");
  if (::ioctl(loop_fd, LOOP_SET_CAPACITY, 0) != 0) return sys_error("cannot grow " + device);
  return "";
}

// Offline: unmounted, checked that no sandbox still has it (a mount
// anywhere holds the device exclusively), grown, mounted again.
std::string grow_offline(int parent_fd, const fs::path& point, int image_fd, int loop_fd,
                         const std::string& device, uint64_t bytes, bool executable) {
  if (::umount2(point.c_str(), UMOUNT_NOFOLLOW) != 0)
    return sys_error("cannot unmount it to grow it");
  std::string err;
  // A sandbox just stopped may take a moment to let go of its namespace.
  for (int attempt = 0;; ++attempt) {
    UniqueFd alone(::open(device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
    if (alone.valid()) break;
    if (errno != EBUSY) {
      err = sys_error("cannot open " + device);
      break;
    }
    if (attempt == 50) {
      err = "a sandbox still uses it";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (err.empty()) err = grow_device(image_fd, loop_fd, device, bytes);
  if (err.empty()) {
    auto check = run_command({"e2fsck", "-f", "-p", device}, std::chrono::minutes(10));
    if (check.exit_code > 1) err = check.describe("e2fsck");  // 1: errors corrected
  }
  if (err.empty()) {
    auto r = run_command({"resize2fs", device}, std::chrono::minutes(10));
    if (!r.ok()) err = r.describe("resize2fs");
  }
  // Mounted again in every case: the files stay reachable, at the old size
  // if the grow failed.
  UniqueFd dir(::openat(parent_fd, point.filename().c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return sys_error("cannot open its directory again");
  if (std::string e = mount_on(dir.get(), device, executable); !e.empty())
    return err.empty() ? e : err + "; " + e;
  return err;
}

std::string ensure_locked(int parent_fd, const fs::path& point, uint64_t bytes, unsigned uid,
                          const VolumeChange& change) {
  std::string err;
  const std::string name = point.filename().string(), image = name + ".img";
  UniqueFd dir = open_mount_point(parent_fd, name, &err);
  if (!dir.valid()) return err;
  bool mounted = false;
  UniqueFd loop = mounted_loop(parent_fd, dir.get(), &mounted, &err);
  if (!err.empty()) return err;
  UniqueFd image_fd = open_image(parent_fd, image, 0, &err);
  if (!err.empty()) return err;
  std::string device;
  bool fresh = false, copied = false;
  if (mounted) {
    // A snapshot cut short by a crash may have left it frozen: thawed
    // (EINVAL when it is not), unless a snapshot of ours holds it now.
    if (struct stat fs_st{}; ::fstat(dir.get(), &fs_st) == 0 && !frozen_by_us.count(fs_st.st_dev))
      ::ioctl(dir.get(), FITHAW, 0);
    // Mounted: it must be this image, not another one.
    loop_info64 info{};
    struct stat st {};
    if (!image_fd.valid()) return "its directory is mounted but its image " + image + " is gone";
    if (::ioctl(loop.get(), LOOP_GET_STATUS64, &info) != 0)
      return sys_error("cannot read its loop device");
    if (::fstat(image_fd.get(), &st) != 0 || info.lo_inode != st.st_ino ||
        info.lo_device != st.st_dev)
      return "its directory is mounted from another file than its image " + image;
    struct stat dir_st {};
    ::fstat(dir.get(), &dir_st);
    device = "/dev/loop" + std::to_string(minor(dir_st.st_dev));
  } else {
    if (!image_fd.valid()) {
      loop =
          create_image(parent_fd, point, dir.get(), bytes, uid, &image_fd, &device, &copied, &err);
      fresh = true;
    } else {
      loop = loop_of(image_fd.get(), &device);
      if (!loop.valid()) loop = attach_loop(image_fd.get(), &device, &err);  // after a reboot
    }
    if (!loop.valid()) return err;
    if (std::string e = mount_on(dir.get(), device, change.executable); !e.empty()) return e;
    // Copied into the volume: the originals, hidden below it now, go.
    if (copied)
      if (std::string e = empty_tree(dir.get()); !e.empty())
        spdlog::warn("storage {}: {}", point.string(), e);
  }
  // The mount's root now: the directory reopened through the mount.
  UniqueFd root(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return sys_error("cannot open its mounted root");
  if (fresh)
    ::unlinkat(root.get(), "lost+found", AT_REMOVEDIR);  // e2fsck makes it again if ever needed
  if (::fchown(root.get(), uid, uid) != 0)
    return sys_error("cannot hand its root to uid " + std::to_string(uid));

  struct stat st {};
  if (::fstat(image_fd.get(), &st) != 0) return sys_error("cannot stat its image");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (bytes < size && change.larger_is_fine) return "";
  if (bytes < size) {
    struct statvfs vfs {};
    std::string used;
    if (::fstatvfs(root.get(), &vfs) == 0) {
      char mib[32];
      std::snprintf(mib, sizeof mib, " (%.1f MiB used)",
                    double((vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize) / (1 << 20));
      used = mib;
    }
    return "size " + size_text(bytes) + " is smaller than the volume's " + size_text(size) + used +
           ": shrinking a volume is not supported; keep size at " + size_text(size) + " or more";
  }
  // A grow cut short (resize2fs killed) left the image bigger than its file
  // system: grown again. mkfs and resize2fs themselves leave a last block
  // group too small to be worth it unused: less than kGrowSlack.
  const uint64_t fs_bytes = ext4_bytes(loop.get());
  if (bytes == size && !(fs_bytes && fs_bytes + kGrowSlack < size)) return "";
  if (grows_online()) {
    if (std::string e = grow_device(image_fd.get(), loop.get(), device, bytes); !e.empty())
      return e;
    auto r = run_command({"resize2fs", device}, std::chrono::minutes(10));
    return r.ok() ? "" : r.describe("resize2fs");
  }
  const std::string offline =
      "growing it to " + size_text(bytes) +
      " needs it unused (wok lacks CAP_SYS_RESOURCE to grow a mounted file system)";
  if (!change.stop_users)
    return offline + ": it stays " + size_text(size) + " until the site's next deploy";
  root.reset();
  dir.reset();
  change.stop_users();
  if (std::string e = grow_offline(parent_fd, point, image_fd.get(), loop.get(), device, bytes,
                                   change.executable);
      !e.empty())
    return offline + ": " + e + "; it stays " + size_text(size) + " for now";
  return "";
}

// Mount points below `dir` in our mount table, deepest first.
std::vector<std::string> mounts_under(const fs::path& dir) {
  std::vector<std::string> out;
  std::ifstream table("/proc/self/mountinfo");
  const std::string prefix = dir.string();
  for (std::string line; std::getline(table, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    fields >> id >> parent >> devno >> root >> point;
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    std::string path;
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        path += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        path += point[i];
      }
    }
    if (path == prefix || path.starts_with(prefix + "/")) out.push_back(path);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace

std::string ensure_sized_volume(const fs::path& parent, const std::string& name, uint64_t bytes,
                                unsigned uid, const VolumeChange& change) {
  const std::string what = "storage \"" + name + "\": ";
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    return what + "not a volume name";
  if (bytes < (1u << 20))
    return what + "size " + std::to_string(bytes) + " is below 1Mi, too small for a file system";
  std::error_code ec;
  fs::create_directories(parent, ec);
  UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent_fd.valid()) return what + sys_error("cannot open " + parent.string());
  std::lock_guard lock(mount_table_mu);
  std::string err = ensure_locked(parent_fd.get(), parent / name, bytes, uid, change);
  return err.empty() ? "" : what + err;
}

bool is_volume_mounted(const fs::path& parent, const std::string& name) {
  UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent_fd.valid()) return false;
  UniqueFd dir(
      ::openat(parent_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return false;
  std::string err;
  bool mounted = false;
  UniqueFd loop = mounted_loop(parent_fd.get(), dir.get(), &mounted, &err);
  return mounted && loop.valid();
}

std::string bind_read_only_no_symlinks(const fs::path& source, const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target, ec);
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return "cannot bind " + source.string() + ": " + std::strerror(errno);
  if (::mount(nullptr, target.c_str(), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSYMFOLLOW | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0) {
    std::string err = "cannot make " + target.string() +
                      " read-only without symlinks (Linux 5.10 or later): " + std::strerror(errno);
    ::umount2(target.c_str(), MNT_DETACH);
    return err;
  }
  return "";
}

namespace {

// The data of `from` into `to` (empty, as large), hole by hole: a
// sparse image copies as what it holds.
std::string sparse_copy(int from, int to) {
  struct stat st {};
  if (::fstat(from, &st) != 0) return sys_error("cannot stat the image");
  if (::ftruncate(to, st.st_size) != 0) return sys_error("cannot size the copy");
  off_t at = 0;
  while (at < st.st_size) {
    off_t data = ::lseek(from, at, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // holes to the end
      return sys_error("cannot find the image's data");
    }
    off_t hole = ::lseek(from, data, SEEK_HOLE);
    if (hole < 0) return sys_error("cannot find the image's holes");
    loff_t in = data, out = data;
    while (in < hole) {
      ssize_t n = ::copy_file_range(from, &in, to, &out, static_cast<size_t>(hole - in), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return n == 0 ? "the image ended while copied" : sys_error("cannot copy the image");
    }
    at = hole;
  }
  return "";
}

}  // namespace

std::string snapshot_volume(const fs::path& parent, const std::string& name, const fs::path& copy,
                            const fs::path& target) {
  const std::string what = "snapshot of volume \"" + name + "\": ";
  UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent_fd.valid()) return what + sys_error("cannot open " + parent.string());
  UniqueFd copy_fd(::open(copy.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!copy_fd.valid()) return what + sys_error("cannot make " + copy.string());
  UniqueFd root, image;
  dev_t device_id = 0;
  {
    // Found mounted from its image under the lock; then held by descriptor
    // (the file system and the image stay whatever the mount table does),
    // so that other volumes' mounts do not wait for the copy.
    std::lock_guard lock(mount_table_mu);
    std::string err;
    UniqueFd dir = open_mount_point(parent_fd.get(), name, &err);
    if (!dir.valid()) return what + err;
    bool mounted = false;
    UniqueFd loop = mounted_loop(parent_fd.get(), dir.get(), &mounted, &err);
    if (!mounted || !loop.valid()) return what + (err.empty() ? "it is not mounted" : err);
    image = open_image(parent_fd.get(), name + ".img", 0, &err);
    if (!image.valid()) return what + (err.empty() ? "its image is gone" : err);
    loop_info64 info{};
    struct stat st {};
    if (::ioctl(loop.get(), LOOP_GET_STATUS64, &info) != 0 || ::fstat(image.get(), &st) != 0 ||
        info.lo_inode != st.st_ino || info.lo_device != st.st_dev)
      return what + "it is mounted from another file than its image";
    // The mounted root, through the mount.
    root = UniqueFd(
        ::openat(parent_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) return what + sys_error("cannot open its mounted root");
    struct stat root_st {};
    if (::fstat(root.get(), &root_st) != 0) return what + sys_error("cannot stat its root");
    if (!frozen_by_us.insert(root_st.st_dev).second)
      return what + "another snapshot of it is under way";
    device_id = root_st.st_dev;
  }
  std::string copied;
  if (::ioctl(root.get(), FIFREEZE, 0) != 0) {
    copied = sys_error("cannot freeze it");
  } else {
    copied = sparse_copy(image.get(), copy_fd.get());
    if (::ioctl(root.get(), FITHAW, 0) != 0 && copied.empty()) copied = sys_error("cannot thaw it");
  }
  {
    std::lock_guard lock(mount_table_mu);
    frozen_by_us.erase(device_id);
  }
  if (!copied.empty()) return what + copied;
  // The copy, read-only (a loop device on a file opened read-only is), on a
  // loop device of its own that goes with the mount.
  UniqueFd ro(::open(fd_path(copy_fd.get()).c_str(), O_RDONLY | O_CLOEXEC));
  if (!ro.valid()) return what + sys_error("cannot reopen the copy");
  copy_fd.reset();
  std::string device, err;
  UniqueFd loop = attach_loop(ro.get(), &device, &err);
  if (!loop.valid()) return what + err;
  std::error_code ec;
  fs::create_directories(target, ec);
  // noload: no journal replay (the frozen file system left none to do).
  if (::mount(device.c_str(), target.c_str(), "ext4",
              MS_RDONLY | MS_NOSYMFOLLOW | MS_NOSUID | MS_NODEV | MS_NOEXEC, "noload") != 0)
    return what + sys_error("cannot mount its copy");
  return "";
}

std::string release_volumes_under(const fs::path& dir) {
  std::lock_guard lock(mount_table_mu);
  for (const auto& point : mounts_under(dir)) {
    // Detached: a sandbox still stopping keeps its own view; the loop
    // device frees itself when the last one goes.
    if (::umount2(point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
        errno != ENOENT)
      return sys_error("cannot unmount " + point);
  }
  return "";
}

}  // namespace wok::runtime
