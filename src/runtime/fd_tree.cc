#include "runtime/fd_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"

namespace wok::runtime {

using base::UniqueFd;

namespace {

constexpr int kMaxDepth = 128;
constexpr uint64_t kEntryCost = 4096;

// The names in `dir_fd` (read through a duplicate: the caller's descriptor
// keeps its offset and stays open).
bool list(int dir_fd, std::vector<std::string>* names) {
  int copy = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return false;
  DIR* d = ::fdopendir(copy);
  if (!d) {
    ::close(copy);
    return false;
  }
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names->push_back(n);
  }
  ::closedir(d);
  return true;
}

std::string failed(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string copy_file(int src_dir, int dst_dir, const std::string& name, const std::string& path,
                      mode_t mode, unsigned uid, uint64_t* budget) {
  // O_NONBLOCK: a fifo swapped in after the stat must not hang us.
  UniqueFd in(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!in.valid()) return errno == ELOOP ? "" : failed("cannot open", path);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";  // changed under us: skipped
  UniqueFd out(
      ::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return failed("cannot create", path);
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("cannot read", path);
    if (n == 0) break;
    if (static_cast<uint64_t>(n) > *budget)
      return "the files are larger than the most allowed, at " + path;
    *budget -= static_cast<uint64_t>(n);
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failed("cannot write", path);
      done += w;
    }
  }
  if (::fchown(out.get(), uid, uid) != 0 || ::fchmod(out.get(), mode & 0777) != 0)
    return failed("cannot set the owner of", path);
  return "";
}

std::string copy_below(int src_fd, int dst_fd, unsigned uid, const std::string& prefix, int depth,
                       uint64_t* budget) {
  if (depth > kMaxDepth) return prefix + " is nested too deep";
  std::vector<std::string> names;
  if (!list(src_fd, &names)) return failed("cannot list", prefix.empty() ? "." : prefix);
  for (const auto& name : names) {
    const std::string path = prefix.empty() ? name : prefix + "/" + name;
    struct stat st {};
    if (::fstatat(src_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    // Every entry made costs the destination an inode and a block, about:
    // millions of hard links to one empty file must not copy for free.
    if (*budget < kEntryCost) return "the files are larger than the most allowed, at " + path;
    *budget -= kEntryCost;
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dst_fd, name.c_str(), 0700) != 0) return failed("cannot create", path);
      UniqueFd from(
          ::openat(src_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd to(::openat(dst_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!to.valid()) return failed("cannot open", path);
      if (!from.valid()) continue;  // replaced by a link meanwhile: left out
      if (std::string err = copy_below(from.get(), to.get(), uid, path, depth + 1, budget);
          !err.empty())
        return err;
      if (::fchown(to.get(), uid, uid) != 0 || ::fchmod(to.get(), st.st_mode & 0777) != 0)
        return failed("cannot set the owner of", path);
    } else if (S_ISREG(st.st_mode)) {
      if (std::string err = copy_file(src_fd, dst_fd, name, path, st.st_mode, uid, budget);
          !err.empty())
        return err;
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlinkat(src_fd, name.c_str(), target, sizeof target - 1);
      if (n < 0) continue;
      target[n] = '\0';
      if (::symlinkat(target, dst_fd, name.c_str()) != 0 ||
          ::fchownat(dst_fd, name.c_str(), uid, uid, AT_SYMLINK_NOFOLLOW) != 0)
        return failed("cannot create the link", path);
    }
  }
  return "";
}

std::string empty_below(int dir_fd, const std::string& prefix, int depth) {
  if (depth > kMaxDepth) return prefix + " is nested too deep";
  std::vector<std::string> names;
  if (!list(dir_fd, &names)) return failed("cannot list", prefix.empty() ? "." : prefix);
  for (const auto& name : names) {
    const std::string path = prefix.empty() ? name : prefix + "/" + name;
    UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.valid()) {
      if (std::string err = empty_below(sub.get(), path, depth + 1); !err.empty()) return err;
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        return failed("cannot remove", path);
    } else if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return failed("cannot remove", path);
    }
  }
  return "";
}

}  // namespace

std::string copy_tree(int src_fd, int dst_fd, unsigned uid, uint64_t max_bytes) {
  return copy_below(src_fd, dst_fd, uid, "", 0, &max_bytes);
}

std::string empty_tree(int dir_fd) { return empty_below(dir_fd, "", 0); }

std::vector<std::string> entry_names(int dir_fd) {
  std::vector<std::string> names;
  if (!list(dir_fd, &names)) names.clear();
  return names;
}

bool has_entries(int dir_fd) {
  std::vector<std::string> names;
  return list(dir_fd, &names) && !names.empty();
}

}  // namespace wok::runtime
