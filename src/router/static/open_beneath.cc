#include "router/static/open_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wok::router {

base::UniqueFd open_root(const std::string& root) {
  // Roots are canonical paths (the controllers resolve wok's own part): a
  // symlink on the way can only come from a site's files, and is refused.
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  return base::UniqueFd(
      static_cast<int>(syscall(SYS_openat2, AT_FDCWD, root.c_str(), &how, sizeof how)));
}

base::UniqueFd open_beneath(int root_fd, const std::string& relative, struct stat* st) {
  open_how how{};
  // O_NONBLOCK: a FIFO planted in a site must not block the loop thread on
  // open (it is then refused as not a regular file). Site builds cannot
  // create device nodes, so opening is otherwise free of side effects.
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* name = relative.empty() ? "." : relative.c_str();
  base::UniqueFd fd(static_cast<int>(syscall(SYS_openat2, root_fd, name, &how, sizeof how)));
  if (!fd.valid() || fstat(fd.get(), st) != 0) return {};
  return fd;
}

}  // namespace wok::router
