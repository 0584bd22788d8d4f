// The disk of a site's builds: real ext4 images on real loop devices (needs
// root, like the volume tests; every mount is undone in TearDown).
#include "controllers/build_disk.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/volume.h"

namespace wok::controllers {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMi = 1 << 20;

// Writes up to `limit` bytes to `path`; the errno that stopped it, or 0.
int write_until(const fs::path& path, uint64_t limit) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  std::string chunk(64 * 1024, 'x');
  int error = 0;
  for (uint64_t n = 0; n < limit; n += chunk.size())
    if (::write(fd, chunk.data(), chunk.size()) < 0) {
      error = errno;
      break;
    }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  ::close(fd);
  return error;
}

uint64_t disk_bytes(const fs::path& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0 ? uint64_t(st.st_blocks) * 512 : 0;
}

class BuildDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "build disk tests need root (loop devices and mount)";
    char tmpl[] = "/tmp/wok-build-disk-test-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    data_ = tmpl;
    site_ = data_ / "sites" / "team-a" / "www" / "uid-1";
    fs::create_directories(site_);
  }
  void TearDown() override {
    if (data_.empty()) return;
    EXPECT_EQ(runtime::release_volumes_under(data_), "");
    std::error_code ec;
    fs::remove_all(data_, ec);
  }
  bool mounted() { return runtime::is_volume_mounted(site_, "build-disk"); }
  fs::path data_, site_;
};

TEST_F(BuildDiskTest, ABuildWritingPastItsDiskGetsEnospcAndTheNextBuildHasRoom) {
  ASSERT_EQ(open_build_disk(site_, 16 * kMi, 4321), "");
  ASSERT_TRUE(mounted());
  const fs::path disk = build_disk_dir(site_);
  struct stat st {};
  ASSERT_EQ(::stat((disk / "cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(build_disk_exceeded(site_), "");

  fs::create_directories(disk / "work-1" / "src");
  EXPECT_EQ(write_until(disk / "cache" / "half", 6 * kMi), 0);
  EXPECT_EQ(write_until(disk / "work-1" / "src" / "big", 200 * kMi), ENOSPC);
  EXPECT_EQ(build_disk_exceeded(site_), "the build wrote more than its 16Mi of disk");
  EXPECT_LE(disk_bytes(site_ / "build-disk.img"), 16 * kMi);

  close_build_disk(site_);
  EXPECT_FALSE(mounted());
  EXPECT_EQ(build_disk_exceeded(site_), "");  // nothing to say once unmounted
  // Full: the cache went with the checkout, and their blocks back to the host.
  ASSERT_EQ(open_build_disk(site_, 16 * kMi, 4321), "");
  EXPECT_FALSE(fs::exists(disk / "work-1"));
  EXPECT_FALSE(fs::exists(disk / "cache" / "half"));
  EXPECT_EQ(write_until(disk / "cache" / "fits", 4 * kMi), 0);
  close_build_disk(site_);
  EXPECT_LE(disk_bytes(site_ / "build-disk.img"), 8 * kMi);
}

TEST_F(BuildDiskTest, TheCacheStaysBetweenBuildsAndWorkTreesDoNot) {
  ASSERT_EQ(open_build_disk(site_, 16 * kMi, 4321), "");
  const fs::path disk = build_disk_dir(site_);
  std::ofstream(disk / "cache" / "kept") << "npm";
  fs::create_directories(disk / "work-3" / "src" / "deep");
  discard_build_work(site_, disk / "work-3");
  EXPECT_FALSE(mounted());
  ASSERT_EQ(open_build_disk(site_, 16 * kMi, 4321), "");
  EXPECT_TRUE(fs::exists(disk / "cache" / "kept"));
  EXPECT_FALSE(fs::exists(disk / "work-3"));
  // A build may run what it made there (noexec would break npm's .bin).
  std::ofstream(disk / "cache" / "run.sh") << "#!/bin/sh\nexit 7\n";
  fs::permissions(disk / "cache" / "run.sh", fs::perms::owner_all);
  EXPECT_EQ(std::system((disk / "cache" / "run.sh").c_str()) >> 8, 7);
  close_build_disk(site_);
}

TEST_F(BuildDiskTest, ALowerBoundMakesTheDiskAnewAndAHigherOneGrowsIt) {
  ASSERT_EQ(open_build_disk(site_, 32 * kMi, 4321), "");
  close_build_disk(site_);
  ASSERT_EQ(open_build_disk(site_, 16 * kMi, 4321), "");
  EXPECT_EQ(fs::file_size(site_ / "build-disk.img"), 16 * kMi);
  close_build_disk(site_);
  ASSERT_EQ(open_build_disk(site_, 24 * kMi, 4321), "");
  EXPECT_EQ(fs::file_size(site_ / "build-disk.img"), 24 * kMi);
  close_build_disk(site_);
}

TEST_F(BuildDiskTest, DisksLeftMountedByAStoppedWokAreClosedAtStart) {
  // An older wok's plain cache directory goes at the first open.
  fs::create_directories(site_ / "build-cache" / "npm");
  ASSERT_EQ(open_build_disk(site_, 16 * kMi, 4321), "");
  EXPECT_FALSE(fs::exists(site_ / "build-cache"));
  fs::create_directories(build_disk_dir(site_) / "work-9" / "src");
  close_leftover_build_disks(data_);
  EXPECT_FALSE(mounted());
  ASSERT_EQ(open_build_disk(site_, 16 * kMi, 4321), "");
  EXPECT_FALSE(fs::exists(build_disk_dir(site_) / "work-9"));
  close_build_disk(site_);
}

TEST_F(BuildDiskTest, AnOutputOfHardLinksOrSparseFilesIsNotMultipliedOnTheHost) {
  ASSERT_EQ(open_build_disk(site_, 16 * kMi, 4321), "");
  const fs::path out = build_disk_dir(site_) / "work-1" / "src" / "out";
  fs::create_directories(out);
  ASSERT_EQ(write_until(out / "one", 1 * kMi), 0);
  for (int i = 0; i < 40; ++i)
    fs::create_hard_link(out / "one", out / ("link" + std::to_string(i)));
  const fs::path root = site_ / "revisions" / "1";
  fs::create_directories(root.parent_path());
  std::string err = move_revision_files(out, root, 4321, 16 * kMi);
  EXPECT_NE(err.find("takes more than its 16Mi of disk once copied out"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(root));

  // A fitting output is copied out, the tenant's, set-id bits dropped.
  for (int i = 0; i < 40; ++i) fs::remove(out / ("link" + std::to_string(i)));
  fs::permissions(out / "one", fs::perms::set_uid | fs::perms::owner_all);
  fs::create_symlink("/etc/shadow", out / "shadow");
  ASSERT_EQ(move_revision_files(out, root, 4321, 16 * kMi), "");
  struct stat st {};
  ASSERT_EQ(::stat((root / "one").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(st.st_mode & S_ISUID, 0u);
  EXPECT_TRUE(fs::is_symlink(root / "shadow"));
  EXPECT_EQ(fs::read_symlink(root / "shadow"), "/etc/shadow");
  close_build_disk(site_);
}

}  // namespace
}  // namespace wok::controllers
