// Site roots and the files beneath them are opened by the kernel's rules, not
// by string checks: a symlink on the way to a root (planted in a site's files,
// e.g. a php.docroot linking to /) is refused, as is any file link leaving it.
#include "router/static/open_beneath.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace wok::router {
namespace {

namespace fs = std::filesystem;

class OpenBeneathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-open-beneath-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = fs::canonical(tmpl);
    fs::create_directories(dir_ / "site" / "public");
    std::ofstream(dir_ / "site" / "public" / "index.html") << "ok";
    fs::create_directories(dir_ / "outside");
    std::ofstream(dir_ / "outside" / "secret") << "secret";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(OpenBeneathTest, OpensACanonicalRootAndItsFiles) {
  auto root = open_root((dir_ / "site" / "public").string());
  ASSERT_TRUE(root.valid());
  struct stat st {};
  EXPECT_TRUE(open_beneath(root.get(), "index.html", &st).valid());
}

TEST_F(OpenBeneathTest, RefusesARootReachedThroughASymlink) {
  fs::create_directory_symlink("/", dir_ / "site" / "docroot");
  fs::create_directory_symlink(dir_ / "outside", dir_ / "site" / "linked");
  EXPECT_FALSE(open_root((dir_ / "site" / "docroot").string()).valid());
  EXPECT_FALSE(open_root((dir_ / "site" / "docroot" / "etc").string()).valid());
  EXPECT_FALSE(open_root((dir_ / "site" / "linked").string()).valid());
}

TEST_F(OpenBeneathTest, RefusesLinksLeavingTheRoot) {
  fs::create_symlink(dir_ / "outside" / "secret", dir_ / "site" / "public" / "abs");
  fs::create_symlink("../../outside/secret", dir_ / "site" / "public" / "rel");
  fs::create_directory_symlink("/etc", dir_ / "site" / "public" / "etc");
  auto root = open_root((dir_ / "site" / "public").string());
  ASSERT_TRUE(root.valid());
  struct stat st {};
  EXPECT_FALSE(open_beneath(root.get(), "abs", &st).valid());
  EXPECT_FALSE(open_beneath(root.get(), "rel", &st).valid());
  EXPECT_FALSE(open_beneath(root.get(), "etc/passwd", &st).valid());
  EXPECT_FALSE(open_beneath(root.get(), "../outside/secret", &st).valid());
}

}  // namespace
}  // namespace wok::router
