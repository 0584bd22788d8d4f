// Sized storage volumes: real ext4 images on real loop devices (needs root,
// like the sandbox tests; every mount is undone in TearDown).
#include "runtime/volume.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace wok::runtime {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMi = 1 << 20;

// Mount table lines whose mount point is `dir`.
std::vector<std::string> mounts_at(const fs::path& dir) {
  std::vector<std::string> out;
  std::ifstream table("/proc/self/mountinfo");
  for (std::string line; std::getline(table, line);)
    if (line.find(" " + dir.string() + " ") != std::string::npos) out.push_back(line);
  return out;
}

struct WriteResult {
  uint64_t bytes = 0;
  int error = 0;  // errno of the write that failed, 0 if all went
};

// Writes up to `limit` bytes to a new file `path`, stopping at the first error.
WriteResult write_until(const fs::path& path, uint64_t limit) {
  WriteResult r;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return {0, errno};
  std::string chunk(64 * 1024, 'x');
  while (r.bytes < limit) {
    ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n < 0) {
      r.error = errno;
      break;
    }
    r.bytes += static_cast<uint64_t>(n);
  }
  if (r.error == 0 && ::fsync(fd) != 0) r.error = errno;
  ::close(fd);
  return r;
}

class VolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not a skip: this machine runs wok as root, and so must this test.
    ASSERT_EQ(::geteuid(), 0u) << "volume tests need root (loop devices and mount)";
    char tmpl[] = "/tmp/wok-volume-test-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
    storage_ = dir_ / "storage";
  }
  void TearDown() override {
    if (dir_.empty()) return;
    EXPECT_EQ(release_volumes_under(dir_), "");
    EXPECT_TRUE(mounts_at(storage_ / "data").empty()) << "a mount was left behind";
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool is_mount_point(const fs::path& p) {
    struct stat a {
    }, b{};
    return ::lstat(p.c_str(), &a) == 0 && ::lstat(p.parent_path().c_str(), &b) == 0 &&
           a.st_dev != b.st_dev;
  }
  fs::path dir_, storage_;
};

TEST_F(VolumeTest, NewVolumeIsItsOwnFileSystemOfTheDeclaredSize) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 123456), "");
  fs::path data = storage_ / "data";
  EXPECT_TRUE(is_mount_point(data));
  EXPECT_EQ(fs::file_size(storage_ / "data.img"), 8 * kMi);
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 123456u);
  EXPECT_FALSE(fs::exists(data / "lost+found"));  // the volume looks like an empty directory
  auto lines = mounts_at(data);
  ASSERT_EQ(lines.size(), 1u);
  for (const char* option : {"nosuid", "nodev", "noexec"})
    EXPECT_NE(lines[0].find(option), std::string::npos) << option;

  // The attack: 50 MiB into an 8 MiB volume stops with ENOSPC before 8 MiB,
  // and the host's disk holds at most the image.
  WriteResult w = write_until(data / "fill", 50 * kMi);
  EXPECT_EQ(w.error, ENOSPC);
  EXPECT_GT(w.bytes, 5 * kMi);  // the file system's own metadata takes the rest
  EXPECT_LE(w.bytes, 8 * kMi);
  ASSERT_EQ(::stat((storage_ / "data.img").c_str(), &st), 0);
  EXPECT_LE(static_cast<uint64_t>(st.st_blocks) * 512, 8 * kMi);
}

TEST_F(VolumeTest, AgainIsNothingToDoAndKeepsTheFiles) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  ASSERT_EQ(write_until(storage_ / "data" / "kept", 1 * kMi).error, 0);
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  EXPECT_EQ(mounts_at(storage_ / "data").size(), 1u) << "mounted twice";
  EXPECT_EQ(fs::file_size(storage_ / "data" / "kept"), 1 * kMi);
}

TEST_F(VolumeTest, AfterAnUnmountLikeARebootTheSameFilesComeBack) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  ASSERT_EQ(write_until(storage_ / "data" / "kept", 1 * kMi).error, 0);
  ASSERT_EQ(release_volumes_under(storage_), "");
  EXPECT_FALSE(is_mount_point(storage_ / "data"));
  EXPECT_FALSE(is_volume_mounted(storage_, "data"));
  EXPECT_FALSE(fs::exists(storage_ / "data" / "kept"));
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  EXPECT_TRUE(is_mount_point(storage_ / "data"));
  EXPECT_EQ(fs::file_size(storage_ / "data" / "kept"), 1 * kMi);
}

// Loop devices backed by `image`.
int loops_of(const fs::path& image) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
    std::ifstream backing(e.path() / "loop" / "backing_file");
    std::string path;
    if (std::getline(backing, path) && path == image.string()) ++n;
  }
  return n;
}

TEST_F(VolumeTest, ABiggerSizeGrowsItWithItsFiles) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  ASSERT_EQ(write_until(storage_ / "data" / "kept", 1 * kMi).error, 0);
  EXPECT_EQ(write_until(storage_ / "data" / "fill", 50 * kMi).error, ENOSPC);
  int stops = 0;
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 16 * kMi, 1000, {[&] { ++stops; }}), "");
  EXPECT_LE(stops, 1);  // only without CAP_SYS_RESOURCE (offline grow)
  EXPECT_EQ(fs::file_size(storage_ / "data.img"), 16 * kMi);
  EXPECT_EQ(fs::file_size(storage_ / "data" / "kept"), 1 * kMi);
  WriteResult more = write_until(storage_ / "data" / "more", 50 * kMi);
  EXPECT_EQ(more.error, ENOSPC);
  EXPECT_GT(more.bytes, 6 * kMi);  // what the grow added
  EXPECT_EQ(mounts_at(storage_ / "data").size(), 1u);
  EXPECT_EQ(ensure_sized_volume(storage_, "data", 16 * kMi, 1000,
                                {[&] { ADD_FAILURE() << "stopped again"; }}),
            "");
}

// A sandbox's own mount namespace holding the volume, as runc's would.
class Holder {
 public:
  explicit Holder(const fs::path& dir) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("unshare", "unshare", "-m", "--propagation", "private", "sh", "-c",
               ("cd " + dir.string() + " && exec sleep 60").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::usleep(300 * 1000);  // its namespace is made
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  ~Holder() { stop(); }

 private:
  pid_t pid_ = -1;
};

TEST_F(VolumeTest, AGrowThatNeedsTheVolumeUnusedStopsItsUsersFirst) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  ASSERT_EQ(write_until(storage_ / "data" / "kept", 1 * kMi).error, 0);
  Holder sandbox(storage_ / "data");
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 16 * kMi, 1000, {[&] { sandbox.stop(); }}), "");
  EXPECT_EQ(fs::file_size(storage_ / "data.img"), 16 * kMi);
  EXPECT_EQ(fs::file_size(storage_ / "data" / "kept"), 1 * kMi);
  EXPECT_GT(write_until(storage_ / "data" / "more", 50 * kMi).bytes, 12 * kMi);
}

TEST_F(VolumeTest, MountedAgainWhileASandboxHoldsItTheSameDeviceIsReused) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  ASSERT_EQ(write_until(storage_ / "data" / "kept", 1 * kMi).error, 0);
  Holder sandbox(storage_ / "data");
  ASSERT_EQ(release_volumes_under(storage_), "");  // wok's mount gone, the sandbox's not
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  EXPECT_EQ(loops_of(storage_ / "data.img"), 1) << "one image behind two file systems";
  EXPECT_EQ(fs::file_size(storage_ / "data" / "kept"), 1 * kMi);
}

TEST_F(VolumeTest, AGrowWhileASandboxStillHoldsItNeverCorruptsIt) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  ASSERT_EQ(write_until(storage_ / "data" / "kept", 1 * kMi).error, 0);
  Holder sandbox(storage_ / "data");
  // Without CAP_SYS_RESOURCE the grow must wait; with it, it is online.
  std::string err = ensure_sized_volume(storage_, "data", 16 * kMi, 1000, {[] {}});
  if (!err.empty()) {
    EXPECT_NE(err.find("a sandbox still uses it"), std::string::npos) << err;
    std::string later = ensure_sized_volume(storage_, "data", 16 * kMi, 1000);
    EXPECT_NE(later.find("needs it unused"), std::string::npos) << later;
  }
  EXPECT_TRUE(is_mount_point(storage_ / "data"));  // mounted again either way
  EXPECT_EQ(fs::file_size(storage_ / "data" / "kept"), 1 * kMi);
  sandbox.stop();
  EXPECT_EQ(ensure_sized_volume(storage_, "data", 16 * kMi, 1000, {[] {}}), "");
  EXPECT_EQ(fs::file_size(storage_ / "data.img"), 16 * kMi);
}

TEST_F(VolumeTest, ASmallerSizeIsRefusedShrinkingIsNotSupported) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 16 * kMi, 1000), "");
  std::string err = ensure_sized_volume(storage_, "data", 8 * kMi, 1000);
  EXPECT_NE(err.find("storage \"data\""), std::string::npos) << err;
  EXPECT_NE(err.find("size 8Mi is smaller than the volume's 16Mi"), std::string::npos) << err;
  EXPECT_NE(err.find("shrinking a volume is not supported"), std::string::npos) << err;
  EXPECT_EQ(fs::file_size(storage_ / "data.img"), 16 * kMi);
  EXPECT_TRUE(is_mount_point(storage_ / "data"));
  // A live revision that declared less than a newer one grew it to runs on.
  EXPECT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000, {{}, true}), "");
  EXPECT_TRUE(is_volume_mounted(storage_, "data"));
}

TEST_F(VolumeTest, ASymlinkWhereTheMountPointGoesIsRefusedNotFollowed) {
  fs::create_directories(storage_);
  fs::create_directories(dir_ / "elsewhere");
  fs::create_directory_symlink(dir_ / "elsewhere", storage_ / "data");
  std::string err = ensure_sized_volume(storage_, "data", 8 * kMi, 1000);
  EXPECT_NE(err.find("storage \"data\""), std::string::npos) << err;
  EXPECT_NE(err.find("symlink"), std::string::npos) << err;
  EXPECT_TRUE(mounts_at(dir_ / "elsewhere").empty());
  EXPECT_TRUE(fs::is_symlink(storage_ / "data"));
}

TEST_F(VolumeTest, ASymlinkWhereTheImageGoesIsRefusedNotFollowed) {
  fs::create_directories(storage_ / "data");
  { std::ofstream(dir_ / "precious") << "host file"; }
  fs::create_symlink(dir_ / "precious", storage_ / "data.img");
  std::string err = ensure_sized_volume(storage_, "data", 8 * kMi, 1000);
  EXPECT_NE(err.find("symlink"), std::string::npos) << err;
  EXPECT_EQ(fs::file_size(dir_ / "precious"), 9u);  // neither sized nor formatted
  EXPECT_FALSE(is_mount_point(storage_ / "data"));
}

TEST_F(VolumeTest, AHalfMadeImageFromACrashIsMadeAgain) {
  fs::create_directories(storage_);
  { std::ofstream(storage_ / "data.img.tmp") << "cut short by a kill -9 during mkfs"; }
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  EXPECT_FALSE(fs::exists(storage_ / "data.img.tmp"));
  EXPECT_TRUE(is_mount_point(storage_ / "data"));
}

// A volume that was a bare directory under an older wok: its files move in.
TEST_F(VolumeTest, FilesOfTheBareDirectoryFromBeforeAreCopiedInNoLinkFollowed) {
  fs::path data = storage_ / "data";
  fs::create_directories(data / "a" / "b");
  { std::ofstream(data / "a" / "b" / "photo.jpg") << "jpeg bytes"; }
  fs::create_symlink("/etc/shadow", data / "shadow");
  fs::create_directory_symlink("/etc", data / "etc");
  ASSERT_EQ(::mkfifo((data / "pipe").c_str(), 0644), 0);
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 4242), "");
  ASSERT_TRUE(is_mount_point(data));
  std::ifstream photo(data / "a" / "b" / "photo.jpg");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(photo), {}), "jpeg bytes");
  struct stat st {};
  ASSERT_EQ(::lstat((data / "a" / "b" / "photo.jpg").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_TRUE(fs::is_symlink(data / "shadow"));  // a link, not the host's file
  EXPECT_EQ(fs::read_symlink(data / "shadow"), "/etc/shadow");
  EXPECT_TRUE(fs::is_symlink(data / "etc"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(data / "pipe")));
  EXPECT_FALSE(fs::exists(storage_ / "data.img.mnt"));
  // The originals below the mount are gone (no hidden copy on the host's disk).
  ASSERT_EQ(release_volumes_under(storage_), "");
  EXPECT_TRUE(fs::is_empty(data));
}

TEST_F(VolumeTest, FilesFromBeforeThatDoNotFitAreKeptAndTheSizeRefused) {
  fs::create_directories(storage_ / "data");
  ASSERT_EQ(write_until(storage_ / "data" / "big", 10 * kMi).error, 0);
  std::string err = ensure_sized_volume(storage_, "data", 8 * kMi, 1000);
  EXPECT_NE(err.find("do not fit in 8Mi: raise its size"), std::string::npos) << err;
  EXPECT_FALSE(is_mount_point(storage_ / "data"));
  EXPECT_FALSE(fs::exists(storage_ / "data.img"));
  EXPECT_FALSE(fs::exists(storage_ / "data.img.mnt"));
  EXPECT_EQ(fs::file_size(storage_ / "data" / "big"), 10 * kMi);
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 16 * kMi, 1000), "");
  EXPECT_EQ(fs::file_size(storage_ / "data" / "big"), 10 * kMi);
}

TEST_F(VolumeTest, ReleaseUnmountsEveryVolumeSoTheSiteCanBeRemoved) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  ASSERT_EQ(ensure_sized_volume(storage_, "logs", 4 * kMi, 1000), "");
  ASSERT_EQ(write_until(storage_ / "logs" / "x", kMi).error, 0);
  ASSERT_EQ(release_volumes_under(dir_), "");
  EXPECT_TRUE(mounts_at(storage_ / "data").empty());
  EXPECT_TRUE(mounts_at(storage_ / "logs").empty());
  std::error_code ec;
  fs::remove_all(storage_, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_FALSE(fs::exists(storage_));
}

TEST_F(VolumeTest, BadNamesAndTinySizesAreRefused) {
  EXPECT_NE(ensure_sized_volume(storage_, "../x", 8 * kMi, 1000), "");
  EXPECT_NE(ensure_sized_volume(storage_, "..", 8 * kMi, 1000), "");
  EXPECT_NE(ensure_sized_volume(storage_, "data", 4096, 1000).find("too small"), std::string::npos);
  EXPECT_FALSE(fs::exists(storage_ / "data.img"));
}

// What a backup reads a tenant's volume through: a symlink anywhere in a
// path (a directory swapped for a link to / while root walks the tree)
// leads nowhere; the link itself is still read as a link; nothing is written.
TEST_F(VolumeTest, AReadOnlyViewFollowsNoSymlink) {
  fs::path tenant = dir_ / "tenant", view = dir_ / "view";
  fs::create_directories(tenant / "real");
  std::ofstream(tenant / "real" / "file") << "mine";
  fs::create_symlink("/etc", tenant / "dir");
  fs::create_symlink("real/file", tenant / "link");
  ASSERT_EQ(bind_read_only_no_symlinks(tenant, view), "");
  EXPECT_TRUE(fs::exists(view / "real" / "file"));
  int fd = ::open((view / "dir" / "passwd").c_str(), O_RDONLY);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, ELOOP);
  if (fd >= 0) ::close(fd);
  EXPECT_LT(::open((view / "link").c_str(), O_RDONLY), 0);  // not even within the volume
  EXPECT_EQ(fs::read_symlink(view / "dir"), "/etc");
  EXPECT_LT(::open((view / "new").c_str(), O_WRONLY | O_CREAT, 0600), 0);
  EXPECT_EQ(errno, EROFS);
}

// A backup's copy of a service's volume: its files at one point in time,
// read-only, no symlink followed, and the volume writable again after.
TEST_F(VolumeTest, ASnapshotIsACopyOfOnePointInTimeReadOnly) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 16 * kMi, 1000), "");
  const fs::path data = storage_ / "data", view = dir_ / "view";
  std::ofstream(data / "a") << "one";
  fs::create_directories(data / "queue");
  ASSERT_EQ(write_until(data / "queue" / "segment", 2 * kMi).error, 0);
  fs::create_symlink("/etc", data / "dir");
  ASSERT_EQ(snapshot_volume(storage_, "data", dir_ / "copy.img", view), "");
  std::ofstream(data / "a") << "two";  // after it: not in it
  std::ofstream(data / "b") << "new";
  std::ifstream in(view / "a");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "one");
  EXPECT_FALSE(fs::exists(view / "b"));
  EXPECT_EQ(fs::file_size(view / "queue" / "segment"), 2 * kMi);
  // Sparse: the copy holds what the volume holds, not its size.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "copy.img").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 16 * kMi);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 12 * kMi);
  int fd = ::open((view / "dir" / "passwd").c_str(), O_RDONLY);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, ELOOP);
  if (fd >= 0) ::close(fd);
  EXPECT_LT(::open((view / "new").c_str(), O_WRONLY | O_CREAT, 0600), 0);
  EXPECT_EQ(errno, EROFS);
  ASSERT_EQ(mounts_at(view).size(), 1u);
  for (const char* option : {"ro", "nosuid", "nodev", "noexec", "nosymfollow"})
    EXPECT_NE(mounts_at(view)[0].find(option), std::string::npos) << option;
  EXPECT_EQ(release_volumes_under(view), "");
  EXPECT_TRUE(mounts_at(view).empty());
  // Not mounted: nothing to copy.
  EXPECT_EQ(snapshot_volume(storage_, "other", dir_ / "other.img", dir_ / "view2"),
            "snapshot of volume \"other\": it is not mounted");
}

// A site's pass mounts its volumes again while a backup copies one: the
// thaw of what a crash left frozen must not thaw a snapshot under way
// (the copy would then see writes, and its own thaw fail).
TEST_F(VolumeTest, ASnapshotUnderWayIsNotThawedByAnotherEnsure) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 512 * kMi, 1000), "");
  ASSERT_EQ(write_until(storage_ / "data" / "big", 300 * kMi).error, 0);
  for (int round = 0; round < 3; ++round) {
    std::atomic<bool> done{false};
    std::thread passes([&] {
      while (!done) EXPECT_EQ(ensure_sized_volume(storage_, "data", 512 * kMi, 1000), "");
    });
    const fs::path view = dir_ / ("view" + std::to_string(round));
    EXPECT_EQ(
        snapshot_volume(storage_, "data", dir_ / ("copy" + std::to_string(round) + ".img"), view),
        "");
    done = true;
    passes.join();
    EXPECT_EQ(fs::file_size(view / "big"), 300 * kMi);
    EXPECT_EQ(release_volumes_under(view), "");
  }
}

// A crash while the volume was frozen for a snapshot: the next
// ensure_sized_volume thaws it, and its writers go on.
TEST_F(VolumeTest, AVolumeLeftFrozenIsThawedWhenEnsuredAgain) {
  ASSERT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  const fs::path data = storage_ / "data";
  int root = ::open(data.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root, 0);
  ASSERT_EQ(::ioctl(root, FIFREEZE, 0), 0);
  pid_t writer = ::fork();
  if (writer == 0) _exit(write_until(data / "after", 64 * 1024).error == 0 ? 0 : 1);
  ::usleep(200 * 1000);
  int status = 0;
  EXPECT_EQ(::waitpid(writer, &status, WNOHANG), 0);  // waits on the frozen file system
  EXPECT_EQ(ensure_sized_volume(storage_, "data", 8 * kMi, 1000), "");
  pid_t done = 0;
  for (int i = 0; i < 500 && done == 0; ++i) {
    done = ::waitpid(writer, &status, WNOHANG);
    if (done == 0) ::usleep(20 * 1000);
  }
  if (done == 0) {
    ::ioctl(root, FITHAW, 0);  // not left frozen by a failing test
    ::waitpid(writer, &status, 0);
  }
  ::close(root);
  EXPECT_EQ(done, writer) << "the writer still waits: the volume was not thawed";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace wok::runtime
