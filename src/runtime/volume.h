#pragma once
// A storage volume of a declared size: its own ext4 file system in a sparse
// image file, loop-mounted (nosuid, nodev, noexec) on the volume directory
// the sandboxes bind-mount. A tenant that writes more than the size gets
// ENOSPC inside its sandbox instead of filling the host's disk.
//
// wok is root and the mounted tree is the tenant's: the directory and the
// image are reached from their parent's descriptor without following any
// symlink, the image is formatted and mounted through the loop device and
// /proc/self/fd, never through a path string a tenant could bend.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace wok::runtime {

// How far ensure_sized_volume may go to make a volume its size.
struct VolumeChange {
  // Stops the sandboxes using the volume, when a grow needs it unused.
  std::function<void()> stop_users;
  // A volume already larger than asked is fine as it is (a live revision
  // that a newer one grew past its own size), not refused.
  bool larger_is_fine = false;
  // Mounted without noexec: a build runs what it fetched and made there
  // (npm's .bin, a downloaded hugo). Still nosuid and nodev.
  bool executable = false;
};

// Makes `parent/name` (a directory) the mount point of the file system in
// `parent/name.img`, `bytes` large, whose root belongs to `uid`. Idempotent:
// - mounted from that image at that size: nothing to do;
// - image but no mount (wok restarted, host rebooted): mounted again;
// - no image: a new empty one is made (formatted under a temporary name, then
//   renamed, so a crash never leaves a half-made image behind);
// - `bytes` larger than the image: grown, the files stay. Online when wok
//   has CAP_SYS_RESOURCE (root on a normal host); without it, only a file
//   system no sandbox uses can grow: `change.stop_users` (when given) stops
//   the instances using the volume first, else the grow waits;
// - smaller: refused, shrinking is not supported.
// `parent` is wok's own directory and is created when missing. Returns "" or
// a message naming the volume ("storage \"data\": ..."); even then the
// volume may be mounted (at its old size): see is_volume_mounted.
std::string ensure_sized_volume(const std::filesystem::path& parent, const std::string& name,
                                uint64_t bytes, unsigned uid, const VolumeChange& change = {});

// Whether `parent/name` is the mount point of its image: sandboxes may use it.
bool is_volume_mounted(const std::filesystem::path& parent, const std::string& name);

// A read-only view of the directory `source` (a tenant's volume) at
// `target`, made if missing: no symlink is followed anywhere on it (a
// directory swapped for a link to / while root walks it leads nowhere:
// ELOOP), nothing on it runs or opens as a device. Linux 5.10 or later
// (MS_NOSYMFOLLOW). "" or why not.
std::string bind_read_only_no_symlinks(const std::filesystem::path& source,
                                       const std::filesystem::path& target);

// A copy of the mounted volume `parent/name` as it is at one point in
// time, mounted read-only at `target` (made if missing) as
// bind_read_only_no_symlinks views a directory: its file system frozen
// (FIFREEZE: what was written is on disk, new writes wait), its image
// copied into the file `copy` (wok's own directory; only the blocks it
// holds: a sparse copy), thawed at once; the copy loop-mounted. Writers
// wait for the length of the copy, as long as the data it holds takes to
// copy. A volume left frozen by a crash mid-copy is thawed by the next
// ensure_sized_volume. "" or why not.
std::string snapshot_volume(const std::filesystem::path& parent, const std::string& name,
                            const std::filesystem::path& copy, const std::filesystem::path& target);

// Unmounts every mount at or below `dir` (deepest first, detached so a
// sandbox still holding one cannot make it fail), before wok removes `dir`.
// "" or the first failure.
std::string release_volumes_under(const std::filesystem::path& dir);

}  // namespace wok::runtime
