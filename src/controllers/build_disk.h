#pragma once
// The disk a site's builds write on: its own sized volume (runtime/volume.h),
// so a hostile build.command that writes without end gets ENOSPC inside its
// sandbox instead of filling the host's disk.
//
// One image per site, SITE_DIR/build-disk.img, mounted on SITE_DIR/build-disk
// only while a build runs. It holds the build's two writable places: cache/
// (the build's /cache and HOME, kept from one build to the next) and work-N/
// (revision N's checkout, the build's /src, removed when the build ends). One
// bound covers both: a build has the admin's --max-build-disk in all.
#include <cstdint>
#include <filesystem>
#include <string>

namespace wok::controllers {

// SITE_DIR/build-disk: where the build disk is mounted while a build runs.
std::filesystem::path build_disk_dir(const std::filesystem::path& site_dir);

// Mounts the site's build disk, `bytes` large: made, grown, or made anew
// (empty) when it cannot become that size (it only holds caches). Removes
// the work trees an earlier build left (wok stopped mid-build) and makes
// cache/ the project's (`uid`). "" or why not.
std::string open_build_disk(const std::filesystem::path& site_dir, uint64_t bytes, unsigned uid);

// "the build wrote more than its 2Gi of disk" when the mounted build disk is
// (nearly) full, else "": why a failed build failed, in its own words.
std::string build_disk_exceeded(const std::filesystem::path& site_dir);

// Ends a build's use of its disk: its work trees removed, their blocks given
// back to the host (the image is sparse), the disk unmounted; the cache is
// emptied too when the disk was full (else no next checkout would fit).
// Idempotent.
void close_build_disk(const std::filesystem::path& site_dir);

// Removes a build's work tree `work`: the whole build disk is closed when the
// tree is on it, else the plain directory (a site without a build) goes.
void discard_build_work(const std::filesystem::path& site_dir, const std::filesystem::path& work);

// At start: the build disks a stopped wok left mounted under
// DATA_DIR/sites/NS/NAME/UID are closed (their work trees were a build's
// that is no more).
void close_leftover_build_disks(const std::filesystem::path& data_dir);

// Moves a revision's files `from` to `to` (a new path). A rename when both
// are on the same file system; out of the build disk, a copy made from
// directory descriptors (runtime/fd_tree.h), owned by `uid`, of at most
// `max_bytes`: sparse files and hard links do not multiply on the host's
// disk. "" or why not (then `to` does not exist).
std::string move_revision_files(const std::filesystem::path& from, const std::filesystem::path& to,
                                unsigned uid, uint64_t max_bytes);

}  // namespace wok::controllers
