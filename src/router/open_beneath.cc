#include "router/open_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wok::router {

http::UniqueFd open_root(const std::string& root) {
  return http::UniqueFd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

http::UniqueFd open_beneath(int root_fd, const std::string& relative, struct stat* st) {
  open_how how{};
  // O_NONBLOCK: a FIFO planted in a site must not block the loop thread on
  // open (it is then refused as not a regular file). Site builds cannot
  // create device nodes, so opening is otherwise free of side effects.
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* name = relative.empty() ? "." : relative.c_str();
  http::UniqueFd fd(static_cast<int>(syscall(SYS_openat2, root_fd, name, &how, sizeof how)));
  if (!fd.valid() || fstat(fd.get(), st) != 0) return {};
  return fd;
}

}  // namespace wok::router
