#include "controllers/tree_paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace wok::controllers {

std::string check_directory_beneath(const std::filesystem::path& base, const std::string& relative,
                                    bool create) {
  std::filesystem::path rel(relative);
  if (rel.is_absolute()) return "\"" + relative + "\" must be relative";
  base::UniqueFd dir(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return "cannot open " + base.string() + ": " + std::strerror(errno);
  std::filesystem::path walked;
  for (const auto& part : rel) {
    std::string name = part.string();
    if (name.empty() || name == ".") continue;
    if (name == "..") return "\"" + relative + "\" must not contain ..";
    walked /= name;
    // O_NOFOLLOW on the last (and only) component: a symlink fails with ELOOP.
    int fd = ::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
        return "cannot create " + walked.string() + ": " + std::strerror(errno);
      fd = ::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int e = errno;
      struct stat st {};
      bool link =
          ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
      if (link || e == ELOOP)
        return walked.string() + " is a symlink (not followed: paths stay in the site's own files)";
      if (e == ENOENT) return walked.string() + " does not exist";
      if (e == ENOTDIR) return walked.string() + " is not a directory";
      return "cannot open " + walked.string() + ": " + std::strerror(e);
    }
    dir = base::UniqueFd(fd);
  }
  return "";
}

std::string chown_tree(const std::filesystem::path& root, unsigned uid) {
  std::error_code ec;
  if (::lchown(root.c_str(), uid, uid) != 0)
    return "cannot chown " + root.string() + ": " + std::strerror(errno);
  // The iterator does not follow directory symlinks unless asked to.
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (::lchown(it->path().c_str(), uid, uid) != 0)
      return "cannot chown " + it->path().string() + ": " + std::strerror(errno);
  }
  if (ec) return "cannot walk " + root.string() + ": " + ec.message();
  return "";
}

}  // namespace wok::controllers
