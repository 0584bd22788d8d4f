#include "cmd/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_env.h"

namespace wok::cmd {
namespace {

using testing::ScopedEnv;
using testing::TempDir;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.set("WOK_CONFIG", dir_.path() + "/wok/config.yaml");
    env_.unset("WOK_SERVER");
    env_.unset("WOK_TOKEN");
  }
  void write_file_config(const std::string& server, const std::string& token) {
    std::string error;
    ASSERT_TRUE(write_config(config_path(), {server, token}, &error)) << error;
  }
  ScopedEnv env_;
  TempDir dir_;
};

TEST_F(ConfigTest, PathComesFromWokConfigThenHome) {
  EXPECT_EQ(config_path(), dir_.path() + "/wok/config.yaml");
  env_.unset("WOK_CONFIG");
  env_.set("HOME", "/home/alice");
  EXPECT_EQ(config_path(), "/home/alice/.config/wok/config.yaml");
}

TEST_F(ConfigTest, WriteCreatesDirectoriesWithMode0600AndReadsBack) {
  write_file_config("http://10.0.0.1:7070", "s3cret");
  struct stat st {};
  ASSERT_EQ(::stat(config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ClientConfig read;
  std::string error;
  ASSERT_TRUE(load_config(config_path(), &read, &error)) << error;
  EXPECT_EQ(read.server, "http://10.0.0.1:7070");
  EXPECT_EQ(read.token, "s3cret");
}

TEST_F(ConfigTest, TokensThatLookLikeNumbersStayStrings) {
  write_file_config("http://h:1", "0123");
  ClientConfig read;
  std::string error;
  ASSERT_TRUE(load_config(config_path(), &read, &error)) << error;
  EXPECT_EQ(read.token, "0123");
}

TEST_F(ConfigTest, MissingFileIsEmptyNotAnError) {
  ClientConfig read{"x", "y"};
  std::string error;
  EXPECT_TRUE(load_config(dir_.path() + "/nope.yaml", &read, &error));
  EXPECT_EQ(read.server, "");
  EXPECT_EQ(read.token, "");
}

TEST_F(ConfigTest, MalformedFileNamesFileAndLine) {
  std::string path = dir_.write("bad.yaml", "server: http://x\ntoken: [unclosed\n");
  ClientConfig read;
  std::string error;
  EXPECT_FALSE(load_config(path, &read, &error));
  EXPECT_NE(error.find(path + ": line "), std::string::npos) << error;
  path = dir_.write("typed.yaml", "token: {a: 1}\n");
  EXPECT_FALSE(load_config(path, &read, &error));
  EXPECT_NE(error.find("token must be a string"), std::string::npos) << error;
}

TEST_F(ConfigTest, DefaultsWhenNothingIsSet) {
  ClientConfig resolved;
  std::string error;
  ASSERT_TRUE(resolve_config({}, &resolved, &error)) << error;
  EXPECT_EQ(resolved.server, "http://127.0.0.1:7070");
  EXPECT_EQ(resolved.token, "");
}

TEST_F(ConfigTest, FileThenEnvThenFlags) {
  write_file_config("http://file:7070", "file-token");
  ClientConfig resolved;
  std::string error;
  ASSERT_TRUE(resolve_config({}, &resolved, &error)) << error;
  EXPECT_EQ(resolved.server, "http://file:7070");
  EXPECT_EQ(resolved.token, "file-token");

  env_.set("WOK_SERVER", "http://env:7070");
  ASSERT_TRUE(resolve_config({}, &resolved, &error)) << error;
  EXPECT_EQ(resolved.server, "http://env:7070");
  EXPECT_EQ(resolved.token, "file-token");

  env_.set("WOK_TOKEN", "env-token");
  ASSERT_TRUE(resolve_config({}, &resolved, &error)) << error;
  EXPECT_EQ(resolved.token, "env-token");

  ASSERT_TRUE(resolve_config({"http://flag:7070", "flag-token"}, &resolved, &error)) << error;
  EXPECT_EQ(resolved.server, "http://flag:7070");
  EXPECT_EQ(resolved.token, "flag-token");

  ASSERT_TRUE(resolve_config({"", "flag-token"}, &resolved, &error)) << error;
  EXPECT_EQ(resolved.server, "http://env:7070");
}

TEST_F(ConfigTest, FlagsAndEnvNeedNoReadableFile) {
  dir_.write("wok/config.yaml", "{{{{ not yaml");
  ClientConfig resolved;
  std::string error;
  env_.set("WOK_TOKEN", "env-token");
  EXPECT_TRUE(resolve_config({"http://flag", ""}, &resolved, &error)) << error;
  EXPECT_FALSE(resolve_config({}, &resolved, &error));
  EXPECT_NE(error.find("config.yaml: line"), std::string::npos) << error;
}

TEST(NormalizeServerUrl, AddsSchemeAndDropsTrailingSlash) {
  EXPECT_EQ(normalize_server_url("127.0.0.1:7070/"), "http://127.0.0.1:7070");
  EXPECT_EQ(normalize_server_url("https://wok.example.org//"), "https://wok.example.org");
}

}  // namespace
}  // namespace wok::cmd
