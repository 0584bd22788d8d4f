#pragma once
// Paths a Site names inside its own files (source.path, build.output,
// php.docroot, storage paths), resolved the only safe way: component by
// component from a directory descriptor, refusing every symlink. The files
// come from a tenant's repository and build; wok runs as root and must never
// follow a link a tenant planted (to `/`, to another site, to wok's data).
#include <filesystem>
#include <string>

namespace wok::controllers {

// Checks that `relative` ("", ".", "public", "a/b") names a directory
// beneath `base` reached through real directories only: no "..", no absolute
// path, no symlink at any component. With `create`, missing components are
// made (mode 0755, owned by root) by mkdirat from the parent's descriptor.
// Returns "" when fine, else a message naming the offending component, for
// the revision's status ("public/assets is a symlink").
std::string check_directory_beneath(const std::filesystem::path& base, const std::string& relative,
                                    bool create = false);

// lchown of every entry under `root` (root included), never following a
// symlink; "" or the first failure.
std::string chown_tree(const std::filesystem::path& root, unsigned uid);

}  // namespace wok::controllers
