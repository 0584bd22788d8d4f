// base::SealedBox (AES-256-GCM with its key file) and base64url, shared by
// the store's secrets and the router's sessions.
#include "base/sealed_box.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <vector>

namespace wok::base {
namespace {

TEST(Base64Url, RoundTripsWithoutPaddingAndRefusesOtherText) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\xff\xfe\x00", 3)})
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");  // the URL alphabet, no '='
  EXPECT_FALSE(base64url_decode("Zm9v="));         // padding
  EXPECT_FALSE(base64url_decode("Zm 9v"));
  EXPECT_FALSE(base64url_decode("Zm+v"));  // the standard alphabet
  EXPECT_FALSE(base64url_decode("Z"));     // no whole byte
  EXPECT_FALSE(base64url_decode("Zh"));    // bits left over: another text would say the same
}

TEST(SealedBox, OpensOnlyUnderItsKeyAndContext) {
  SealedBox box(SealedBox::Key{1});
  std::string sealed = box.seal("secret", "ctx-a");
  EXPECT_EQ(sealed.size(), 12u + 6 + 16);
  EXPECT_NE(box.seal("secret", "ctx-a"), sealed);  // a fresh nonce each time
  EXPECT_EQ(box.open(sealed, "ctx-a"), "secret");
  EXPECT_FALSE(box.open(sealed, "ctx-b"));
  EXPECT_FALSE(SealedBox(SealedBox::Key{2}).open(sealed, "ctx-a"));
  sealed[14] ^= 1;
  EXPECT_FALSE(box.open(sealed, "ctx-a"));
  EXPECT_FALSE(box.open("short", "ctx-a"));
}

TEST(SealedBox, KeyFileIsMadeOnceNarrowedAndChecked) {
  auto dir = std::filesystem::temp_directory_path() / ("wok-sealed-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "k.key").string(), error;
  auto first = SealedBox::load_or_create(path, &error);
  ASSERT_TRUE(first) << error;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = SealedBox::load_or_create(path, &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->open(first->seal("x", "c"), "c"), "x");  // the same key, read back
  std::ofstream(path) << "not a key\n";
  EXPECT_FALSE(SealedBox::load_or_create(path, &error));
  EXPECT_NE(error.find("is not a key (64 hex digits)"), std::string::npos) << error;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wok::base
