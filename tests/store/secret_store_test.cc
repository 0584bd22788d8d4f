// Secrets at rest: sealed with AES-256-GCM under DATA/secrets.key, so the
// database files never hold a value; a wrong key, a damaged row or a row
// copied under another name fails cleanly, naming the secret and no value.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/base64.h"
#include "api/secret.h"
#include "store/secrets.h"

namespace wok::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kValue = "s3cr3t-Pa55w0rd-0f-t3am-a";

class SecretStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-secrets-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string error;
    store_ = Store::open(dir_ + "/wok.db", &error);
    ASSERT_TRUE(store_) << error;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<SecretCipher> cipher(std::string* error) {
    return SecretCipher::load_or_create(dir_ + "/secrets.key", error);
  }
  std::string file_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SecretStoreTest, KeyFileIsMadePrivateOnceAndReadAgain) {
  std::string error;
  auto a = cipher(&error);
  ASSERT_TRUE(a) << error;
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/secrets.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string sealed = a->seal("hello", "ctx");
  auto b = cipher(&error);  // the same file, read back
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(b->open(sealed, "ctx").value_or(""), "hello");
}

TEST_F(SecretStoreTest, EachSealHasItsOwnNonceAndContextIsBound) {
  SecretCipher c(std::array<unsigned char, 32>{1});
  std::string x = c.seal("same", "ns/a"), y = c.seal("same", "ns/a");
  EXPECT_NE(x, y);
  EXPECT_EQ(c.open(x, "ns/a").value_or(""), "same");
  EXPECT_FALSE(c.open(x, "ns/b"));  // moved to another secret's row
  std::string altered = x;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(c.open(altered, "ns/a"));
  EXPECT_FALSE(c.open("v1:!!!", "ns/a"));
  EXPECT_FALSE(c.open("", "ns/a"));
  EXPECT_FALSE(c.open("v1:" + api::base64_encode("short"), "ns/a"));
}

TEST_F(SecretStoreTest, DatabaseFilesNeverHoldTheValue) {
  std::string error;
  SecretStore secrets(*store_, cipher(&error));
  ASSERT_TRUE(secrets.put("team-a", "db", {{"PASSWORD", kValue}, {"USER", "app"}}, nullptr).ok());
  ASSERT_TRUE(
      secrets.put("team-a", "db", {{"PASSWORD", kValue + "-2"}}, nullptr).ok());  // replaced
  auto data = secrets.read("team-a", "db", &error);
  ASSERT_TRUE(data) << error;
  EXPECT_EQ(*data, (SecretData{{"PASSWORD", kValue + "-2"}}));
  auto view = secrets.describe("team-a", "db");
  ASSERT_TRUE(view);
  EXPECT_EQ((*view)["keys"], json::array({"PASSWORD"}));
  EXPECT_EQ(view->dump().find(kValue), std::string::npos);
  EXPECT_FALSE(view->contains("spec"));
  for (const auto& e : fs::directory_iterator(dir_)) {
    std::string text = file_text(e.path());
    EXPECT_EQ(text.find(kValue), std::string::npos) << e.path();
    EXPECT_EQ(text.find(api::base64_encode(kValue)), std::string::npos) << e.path();
  }
}

// A generated secret (spec.database's password) is made only where none
// is: a member's own, made first, is kept.
TEST_F(SecretStoreTest, CreateKeepsWhatIsThere) {
  std::string error;
  SecretStore secrets(*store_, cipher(&error));
  ASSERT_TRUE(secrets.put("team-a", "blog-db", {{"password", "the-members-own-1"}}, nullptr).ok());
  Result r = secrets.create("team-a", "blog-db", {{"password", "generated"}}, nullptr);
  EXPECT_EQ(r.code, Code::kAlreadyExists);
  EXPECT_EQ(secrets.read("team-a", "blog-db", &error)->at("password"), "the-members-own-1");
  ASSERT_TRUE(secrets.create("team-a", "shop-db", {{"password", "generated"}}, nullptr).ok());
  EXPECT_EQ(secrets.read("team-a", "shop-db", &error)->at("password"), "generated");
}

TEST_F(SecretStoreTest, WrongKeyFailsCleanly) {
  std::string error;
  {
    SecretStore secrets(*store_, cipher(&error));
    ASSERT_TRUE(secrets.put("team-a", "db", {{"PASSWORD", kValue}}, nullptr).ok());
  }
  SecretStore other(*store_, std::make_unique<SecretCipher>(std::array<unsigned char, 32>{7}));
  EXPECT_FALSE(other.read("team-a", "db", &error));
  EXPECT_NE(error.find("secret \"db\""), std::string::npos) << error;
  EXPECT_NE(error.find("cannot be decrypted"), std::string::npos) << error;
  EXPECT_EQ(error.find(kValue), std::string::npos);
  EXPECT_TRUE(other.describe("team-a", "db"));  // names and keys stay readable
  EXPECT_FALSE(other.read("team-a", "nope", &error));
  EXPECT_EQ(error, "secret \"nope\" not found in project \"team-a\"");
}

TEST_F(SecretStoreTest, RowCopiedToAnotherProjectDoesNotOpen) {
  std::string error;
  SecretStore secrets(*store_, cipher(&error));
  ASSERT_TRUE(secrets.put("team-a", "db", {{"PASSWORD", kValue}}, nullptr).ok());
  json row = *store_->get("Secret", "team-a", "db");
  row["metadata"] = {{"name", "db"}, {"namespace", "team-b"}};
  ASSERT_TRUE(store_->create("Secret", row).ok());
  EXPECT_FALSE(secrets.read("team-b", "db", &error));
  EXPECT_NE(error.find("cannot be decrypted"), std::string::npos);
}

TEST_F(SecretStoreTest, KeyFileThatIsNotAKeyIsRefused) {
  std::ofstream(dir_ + "/secrets.key") << "not a key\n";
  std::string error;
  EXPECT_FALSE(cipher(&error));
  EXPECT_NE(error.find("is not a key (64 hex digits)"), std::string::npos) << error;
}

// A key file swapped for a symlink (to a key of the attacker's choosing) is
// never followed, and a group-readable one is narrowed to 0600.
TEST_F(SecretStoreTest, KeyFileSymlinkRefusedWideModeNarrowed) {
  std::ofstream(dir_ + "/elsewhere.key") << std::string(64, 'a') << "\n";
  fs::create_symlink(dir_ + "/elsewhere.key", dir_ + "/secrets.key");
  std::string error;
  EXPECT_FALSE(cipher(&error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
  fs::remove(dir_ + "/secrets.key");
  fs::rename(dir_ + "/elsewhere.key", dir_ + "/secrets.key");
  fs::permissions(dir_ + "/secrets.key", fs::perms(0644));
  EXPECT_TRUE(cipher(&error)) << error;
  EXPECT_EQ(fs::status(dir_ + "/secrets.key").permissions() & fs::perms::all, fs::perms(0600));
}

TEST_F(SecretStoreTest, KeysFollowKubernetesRule) {
  EXPECT_TRUE(api::is_secret_key("DB_PASSWORD"));
  EXPECT_TRUE(api::is_secret_key("tls.crt"));
  EXPECT_TRUE(api::is_secret_key("a-b"));
  EXPECT_FALSE(api::is_secret_key(""));
  EXPECT_FALSE(api::is_secret_key("A=B"));
  EXPECT_FALSE(api::is_secret_key("../x"));
  EXPECT_FALSE(api::is_secret_key(".."));
  EXPECT_FALSE(api::is_secret_key(std::string(254, 'a')));
}

TEST(Base64Test, RoundTripsAndIsStrict) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(api::base64_decode(api::base64_encode(s)).value_or("?"), s);
  }
  EXPECT_EQ(api::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(api::base64_decode("Zm9"));
  EXPECT_FALSE(api::base64_decode("Zm9v\n"));
  EXPECT_FALSE(api::base64_decode("Z=9v"));
  EXPECT_FALSE(api::base64_decode("Zg=a"));
}

}  // namespace
}  // namespace wok::store
