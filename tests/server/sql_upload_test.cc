// `wok db import` of SQL over the body limit: parts appended to one file of
// the API process's own (ApiOptions::upload_dir), at their offsets, run as
// one import once the last is in; nothing kept after it, and nothing taken
// from a viewer, an outsider or a part out of its place.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "server/api_server.h"
#include "server/auth.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace wok::server {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kSite[] = "/apis/wok.dev/v1alpha1/namespaces/team-a/sites/blog";

class SqlUploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = store::Store::open((dir_.path / "wok.db").string(), &error);
    ASSERT_TRUE(store_) << error;
    for (const char* user : {"dev", "view", "eve"}) {
      tokens_[user] = new_token();
      store_->add_token(user, hash_token(tokens_[user]), false);
    }
    ASSERT_TRUE(store_
                    ->create("Project", {{"apiVersion", "wok.dev/v1alpha1"},
                                         {"kind", "Project"},
                                         {"metadata", {{"name", "team-a"}}},
                                         {"spec",
                                          {{"hosts", {"*.team-a.localhost"}},
                                           {"members",
                                            {{{"user", "dev"}, {"role", "developer"}},
                                             {{"user", "view"}, {"role", "viewer"}}}}}}})
                    .ok());
    ASSERT_TRUE(store_
                    ->create("Site", {{"apiVersion", "wok.dev/v1alpha1"},
                                      {"kind", "Site"},
                                      {"metadata", {{"name", "blog"}, {"namespace", "team-a"}}},
                                      {"spec", {{"mode", "static"}}}})
                    .ok());
    ApiOptions options;
    // The job's stand-in: what it was given to run, read from the file.
    options.site_database = [this](const std::string&, const std::string&, bool,
                                   const std::string& sql, int fd) {
      ran_.push_back(sql);
      if (fd >= 0) {
        std::string text;
        char buf[65536];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
        ran_.back() = "file:" + text;
      }
      return DatabaseAnswer{422, "stand-in"};
    };
    options.upload_dir = dir_.path / "uploads";
    api_ = std::make_unique<ApiHandler>(*store_, options);
  }

  http::Response part(const std::string& user, const std::string& query, const std::string& body) {
    http::Request req;
    req.method = "POST";
    req.path = std::string(kSite) + "/dbexec";
    req.query = query;
    req.target = req.path + "?" + query;
    req.body = body;
    req.headers.push_back({"Authorization", "Bearer " + tokens_[user]});
    http::Response res;
    api_->handle(req, res);
    return res;
  }
  static std::string message(const http::Response& r) {
    return json::parse(r.body, nullptr, false).value("message", "");
  }
  size_t files() {
    std::error_code ec;
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_.path / "uploads", ec)) ++n;
    return n;
  }

  test_support::TempDir dir_{"wok-sql-upload"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiHandler> api_;
  std::map<std::string, std::string> tokens_;
  std::vector<std::string> ran_;
};

const std::string kId = "Zm9vYmFy-_0123456789aA";  // as base::random_token(16)

TEST_F(SqlUploadTest, PartsAtTheirOffsetsRunAsOneAndLeaveNothing) {
  http::Response first = part("dev", "upload=" + kId + "&offset=0", "SELECT ");
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["received"], 7);
  EXPECT_TRUE(ran_.empty());
  // A part sent again, or one skipped: refused, saying where the next starts.
  http::Response again = part("dev", "upload=" + kId + "&offset=0", "SELECT ");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(message(again),
            "upload " + kId + " holds 7 bytes: the next part starts there, not at 0");
  EXPECT_EQ(part("dev", "upload=" + kId + "&offset=9", "x").status, 409);
  EXPECT_EQ(part("dev", "upload=" + kId + "&offset=7", "1, ").status, 200);
  http::Response last = part("dev", "upload=" + kId + "&offset=10&done=1", "2;\n");
  EXPECT_EQ(last.status, 422);  // the stand-in's answer: the whole was run
  ASSERT_EQ(ran_.size(), 1u);
  EXPECT_EQ(ran_[0], "file:SELECT 1, 2;\n");
  EXPECT_EQ(files(), 0u);
  // Its id is spent: a part at 13 has no file to follow.
  http::Response spent = part("dev", "upload=" + kId + "&offset=13", "x");
  EXPECT_EQ(spent.status, 409);
  EXPECT_EQ(message(spent), "upload " + kId + " is unknown or ended: an upload starts at offset 0");
  EXPECT_EQ(files(), 0u);
}

TEST_F(SqlUploadTest, ViewersOutsidersAndBadPartsAreRefusedBeforeAnythingIsKept) {
  EXPECT_EQ(part("view", "upload=" + kId + "&offset=0", "DROP TABLE x;").status, 403);
  EXPECT_EQ(part("eve", "upload=" + kId + "&offset=0", "DROP TABLE x;").status, 403);
  EXPECT_EQ(files(), 0u);
  for (const std::string& query : std::vector<std::string>{
           "upload=../../etc/passwd&offset=0", "upload=../../../../etc/passwd&offset=0",
           "upload=" + kId.substr(1) + "&offset=0", "upload=" + kId + "&offset=-1", "upload=" + kId,
           "upload=" + kId + "&offset=0&done=yes", "upload=Zm9vYmFy-_0123456789a%3D&offset=0",
           "upload=Zm9vYmFy+/0123456789aA&offset=0"}) {
    http::Response r = part("dev", query, "x");
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_EQ(message(r),
              "an upload is upload=ID (22 characters of base64url)&offset=BYTES[&done=1]");
  }
  EXPECT_EQ(files(), 0u);
  EXPECT_TRUE(ran_.empty());
}

TEST_F(SqlUploadTest, AnUploadIsBoundedByTwiceTheDatabasesSize) {
  json site = *store_->get("Site", "team-a", "blog");
  site["spec"]["database"] = {{"engine", "mariadb"}, {"size", "64Mi"}};
  ASSERT_TRUE(store_->update("Site", site).ok());
  const std::string mib(1 << 20, 'x');
  std::string sixteen;
  for (int i = 0; i < 16; ++i) sixteen += mib;
  int64_t offset = 0;
  for (int i = 0; i < 8; ++i) {  // 128 MiB: taken
    ASSERT_EQ(part("dev", "upload=" + kId + "&offset=" + std::to_string(offset), sixteen).status,
              200);
    offset += static_cast<int64_t>(sixteen.size());
  }
  http::Response over = part("dev", "upload=" + kId + "&offset=" + std::to_string(offset), "x");
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(message(over),
            "SQL over 128 MiB is not taken in one import (twice the database's "
            "size, at most 4 GiB)");
  EXPECT_EQ(files(), 0u);  // and what was kept is gone
}

TEST_F(SqlUploadTest, AProjectKeepsTwoUploadsAtOnce) {
  const std::string a = std::string(21, 'a') + "A", b = std::string(21, 'b') + "A",
                    c = std::string(21, 'c') + "A";
  EXPECT_EQ(part("dev", "upload=" + a + "&offset=0", "1").status, 200);
  EXPECT_EQ(part("dev", "upload=" + b + "&offset=0", "1").status, 200);
  http::Response third = part("dev", "upload=" + c + "&offset=0", "1");
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(message(third),
            "project \"team-a\" has 2 SQL uploads under way; one ends when its "
            "last part is sent, or after an hour without one");
  // An abandoned one (untouched for over an hour) goes at the next start.
  fs::last_write_time(dir_.path / "uploads" / ("team-a.blog." + a),
                      fs::file_time_type::clock::now() - std::chrono::hours(2));
  EXPECT_EQ(part("dev", "upload=" + c + "&offset=0", "1").status, 200);
  EXPECT_FALSE(fs::exists(dir_.path / "uploads" / ("team-a.blog." + a)));
  EXPECT_EQ(files(), 2u);
}

}  // namespace
}  // namespace wok::server
