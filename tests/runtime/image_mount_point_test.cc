// A volume's mount point inside an image (app storage on an image
// component, at "/" + path): a symbolic link the image's author put there
// (data -> /proc, data -> ../../etc) is refused, never followed. Writes
// bundles under a temporary directory; needs root (chown to the sandbox uid).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/bundle.h"
#include "runtime/instance.h"

namespace wok::runtime {
namespace {
namespace fs = std::filesystem;

class ImageMountPoint : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_FAIL() << "needs root (chown of the bundle to the sandbox uid)";
    dir_ = fs::temp_directory_path() / ("wok-image-mount-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "image" / "srv");
    fs::create_directories(dir_ / "volume");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& container_path) {
    InstanceSpec spec;
    spec.id = "team-a.box.web.r1.0";
    spec.project = "team-a";
    spec.volumes = {{(dir_ / "volume").string(), container_path, false}};
    RootFs root{dir_ / "image", false, {"/bin/true"}, {}, ""};
    return write_bundle(spec, 100123, root, InstancePaths{dir_ / "instance"}, {});
  }

  fs::path dir_;
};

TEST_F(ImageMountPoint, APlainOrMissingDirectoryIsUsed) {
  EXPECT_EQ(write("/srv/data"), "");
  EXPECT_EQ(write("/data"), "");
}

TEST_F(ImageMountPoint, ASymlinkOnTheWayIsRefusedNamingIt) {
  fs::create_symlink("/proc", dir_ / "image" / "data");
  std::string err = write("/data");
  EXPECT_NE(err.find("/data is a symbolic link in the image"), std::string::npos) << err;
  fs::create_symlink("../../etc", dir_ / "image" / "srv" / "up");
  err = write("/srv/up/data");
  EXPECT_NE(err.find("/srv/up is a symbolic link in the image"), std::string::npos) << err;
  fs::create_symlink("/", dir_ / "image" / "root");
  err = write("/root/x/y");
  EXPECT_NE(err.find("/root is a symbolic link"), std::string::npos) << err;
}

TEST_F(ImageMountPoint, AFileIsNotADirectory) {
  { std::ofstream(dir_ / "image" / "srv" / "file") << "x"; }
  std::string err = write("/srv/file");
  EXPECT_NE(err.find("is not a directory"), std::string::npos) << err;
}

}  // namespace
}  // namespace wok::runtime
