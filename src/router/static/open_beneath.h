#pragma once
// Opens files of a site strictly inside its root: the kernel, not string
// checks, guarantees that no "..", symlink or magic link resolves outside.
#include <sys/stat.h>

#include <string>

#include "base/unique_fd.h"

namespace wok::router {

// The root as an O_PATH directory handle to resolve beneath; invalid on
// error, and when any component of the (absolute, canonical) path is a symlink.
base::UniqueFd open_root(const std::string& root);

// Opens relative (no leading '/') for reading beneath root_fd with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) and fills *st. Relative
// symlinks that stay inside the root work; anything leaving it, absolute
// symlinks included, fails. Invalid on any failure (treat as not found).
base::UniqueFd open_beneath(int root_fd, const std::string& relative, struct stat* st);

}  // namespace wok::router
