#include "controllers/build_disk.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"
#include "runtime/fd_tree.h"
#include "runtime/volume.h"

namespace wok::controllers {

namespace fs = std::filesystem;
using base::UniqueFd;

namespace {

constexpr const char* kName = "build-disk";

std::string size_text(uint64_t bytes) {
  const char* units[] = {"", "Ki", "Mi", "Gi", "Ti"};
  int u = 0;
  while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + units[u];
}

UniqueFd open_dir_at(int parent_fd, const char* name) {
  return UniqueFd(::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// Removes the work-N trees on the mounted disk `root_fd` (the tenant's
// files: from descriptors, no link followed).
void remove_work_trees(int root_fd, const fs::path& dir) {
  std::error_code ec;
  std::vector<std::string> doomed;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().starts_with("work-"))
      doomed.push_back(entry.path().filename().string());
  for (const auto& name : doomed) {
    if (UniqueFd work = open_dir_at(root_fd, name.c_str()); work.valid())
      if (std::string err = runtime::empty_tree(work.get()); !err.empty())
        spdlog::warn("build disk {}: {}", (dir / name).string(), err);
    if (::unlinkat(root_fd, name.c_str(), AT_REMOVEDIR) != 0 &&
        ::unlinkat(root_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      spdlog::warn("build disk {}: cannot remove {}: {}", dir.string(), name, std::strerror(errno));
  }
}

std::string open_disk(const fs::path& site_dir, uint64_t bytes) {
  runtime::VolumeChange change;
  change.executable = true;
  change.stop_users = [] {};  // only a build uses it, and none runs while it is opened
  return runtime::ensure_sized_volume(site_dir, kName, bytes, 0, change);
}

}  // namespace

fs::path build_disk_dir(const fs::path& site_dir) { return site_dir / kName; }

std::string open_build_disk(const fs::path& site_dir, uint64_t bytes, unsigned uid) {
  const fs::path dir = build_disk_dir(site_dir);
  std::error_code ec;
  // An older wok kept the cache in a plain directory: only a cache, dropped.
  fs::remove_all(site_dir / "build-cache", ec);
  if (std::string err = open_disk(site_dir, bytes); !err.empty()) {
    // Smaller than it was (the admin lowered the bound), damaged, or unable
    // to grow now: it holds nothing but caches, so it is made anew.
    spdlog::info("build disk of {}: {}; made anew, empty", site_dir.string(), err);
    runtime::release_volumes_under(dir);
    fs::remove(site_dir / (std::string(kName) + ".img"), ec);
    fs::remove_all(dir, ec);
    if (std::string again = open_disk(site_dir, bytes); !again.empty())
      return "cannot make the build's disk: " + again;
  }
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return "cannot open the build's disk: " + std::string(std::strerror(errno));
  remove_work_trees(root.get(), dir);
  if (::mkdirat(root.get(), "cache", 0755) != 0 && errno != EEXIST)
    return "cannot create the build cache: " + std::string(std::strerror(errno));
  UniqueFd cache = open_dir_at(root.get(), "cache");
  if (!cache.valid() || ::fchown(cache.get(), uid, uid) != 0)
    return "cannot hand the build cache to uid " + std::to_string(uid) + ": " +
           std::strerror(errno);
  return "";
}

std::string build_disk_exceeded(const fs::path& site_dir) {
  if (!runtime::is_volume_mounted(site_dir, kName)) return "";
  struct statvfs vfs {};
  struct stat image {};
  if (::statvfs(build_disk_dir(site_dir).c_str(), &vfs) != 0 ||
      ::stat((site_dir / (std::string(kName) + ".img")).c_str(), &image) != 0)
    return "";
  const uint64_t size = static_cast<uint64_t>(image.st_size);
  const uint64_t free = uint64_t(vfs.f_bavail) * vfs.f_frsize;
  // Full, give or take the few blocks a write that failed left over.
  if (free >= (1u << 20) + size / 64 && vfs.f_favail > 0) return "";
  return "the build wrote more than its " + size_text(size) + " of disk";
}

void close_build_disk(const fs::path& site_dir) {
  const fs::path dir = build_disk_dir(site_dir);
  if (runtime::is_volume_mounted(site_dir, kName)) {
    // A build that filled its disk may have filled it from its cache: the
    // next one would find no room for its checkout. Caches are rebuilt.
    const bool full = !build_disk_exceeded(site_dir).empty();
    if (UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        root.valid()) {
      remove_work_trees(root.get(), dir);
      if (UniqueFd cache = open_dir_at(root.get(), "cache"); full && cache.valid())
        if (std::string err = runtime::empty_tree(cache.get()); !err.empty())
          spdlog::warn("build cache of {}: {}", site_dir.string(), err);
      // The freed blocks are holes in the image again: the host keeps what
      // the cache holds, not the high-water mark of every build.
      fstrim_range range{0, UINT64_MAX, 0};
      ::ioctl(root.get(), FITRIM, &range);
    }
  }
  if (std::string err = runtime::release_volumes_under(dir); !err.empty())
    spdlog::warn("build disk of {}: {}", site_dir.string(), err);
}

void discard_build_work(const fs::path& site_dir, const fs::path& work) {
  if (work.parent_path() == build_disk_dir(site_dir)) {
    close_build_disk(site_dir);
    return;
  }
  std::error_code ec;
  fs::remove_all(work, ec);
}

void close_leftover_build_disks(const fs::path& data_dir) {
  std::error_code ec;
  for (const auto& ns : fs::directory_iterator(data_dir / "sites", ec))
    for (const auto& site : fs::directory_iterator(ns.path(), ec))
      for (const auto& uid : fs::directory_iterator(site.path(), ec))
        if (runtime::is_volume_mounted(uid.path(), kName)) close_build_disk(uid.path());
}

std::string move_revision_files(const fs::path& from, const fs::path& to, unsigned uid,
                                uint64_t max_bytes) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (!ec) return "";
  if (ec != std::errc::cross_device_link) return "cannot publish the revision: " + ec.message();
  // The build is over and every process of it killed: nothing of the
  // tenant's moves these paths while they are opened.
  UniqueFd src(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!src.valid()) return "cannot open the build output: " + std::string(std::strerror(errno));
  if (::mkdir(to.c_str(), 0755) != 0)
    return "cannot create " + to.string() + ": " + std::strerror(errno);
  UniqueFd dst(::open(to.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  std::string err = dst.valid() ? runtime::copy_tree(src.get(), dst.get(), uid, max_bytes)
                                : "cannot open " + to.string() + ": " + std::strerror(errno);
  if (err.empty() && ::fchown(dst.get(), uid, uid) != 0)
    err = "cannot hand the revision to uid " + std::to_string(uid) + ": " + std::strerror(errno);
  if (err.empty()) return "";
  dst.reset();
  fs::remove_all(to, ec);
  if (err.starts_with("the files are larger than the most allowed"))
    return "the build output takes more than its " + size_text(max_bytes) +
           " of disk once copied out (sparse files or hard links?): " + err;
  return "cannot copy the build output out of its disk: " + err;
}

}  // namespace wok::controllers
