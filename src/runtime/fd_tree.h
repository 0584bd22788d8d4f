#pragma once
// Copying and removing a tree a tenant wrote, as root, from directory
// descriptors only: every entry is opened with O_NOFOLLOW relative to its
// parent's descriptor, so a symlink (even one swapped in while we walk) is
// copied or removed as a link and never leads out of the tree.
#include <cstdint>
#include <string>
#include <vector>

namespace wok::runtime {

// Copies the entries of the directory `src_fd` into the directory `dst_fd`:
// directories, regular files (contents and permission bits, set-id bits
// dropped) and symlinks (as links); fifos, sockets and devices are skipped.
// Everything made belongs to `uid`. "" or the first failure, naming the entry.
// At most `max_bytes` are written in all (file contents, and 4Ki for each
// entry): a tree a tenant made in a small file system may copy far larger
// (sparse files, hard links).
std::string copy_tree(int src_fd, int dst_fd, unsigned uid, uint64_t max_bytes = UINT64_MAX);

// Removes every entry below the directory `dir_fd` (not the directory
// itself). "" or the first failure.
std::string empty_tree(int dir_fd);

// Whether the directory `dir_fd` has any entry but "." and "..".
bool has_entries(int dir_fd);

// The names in the directory `dir_fd` but "." and ".." (read through a
// duplicate: the caller's descriptor keeps its offset); empty on failure.
std::vector<std::string> entry_names(int dir_fd);

}  // namespace wok::runtime
