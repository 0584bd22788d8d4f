// POST .../sites/NAME/jobrun and GET .../joblogs: who may, which jobs, what
// changes (status.jobRequests), and that refused callers never reach the logs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "server/api_server.h"
#include "server/auth.h"
#include "store/store.h"

namespace wok::server {
namespace {

using nlohmann::json;

const std::string kSite = "/apis/wok.dev/v1alpha1/namespaces/team-a/sites/api";

class JobsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-jobs-api-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string error;
    store_ = store::Store::open(dir_ + "/wok.db", &error);
    ASSERT_TRUE(store_) << error;
    for (const char* user : {"dev", "viewer", "outsider"}) {
      tokens_[user] = new_token();
      store_->add_token(user, hash_token(tokens_[user]), false);
    }
    json project = {
        {"apiVersion", "wok.dev/v1alpha1"},
        {"kind", "Project"},
        {"metadata", {{"name", "team-a"}}},
        {"spec",
         {{"hosts", {"*.team-a.localhost"}},
          {"members",
           {{{"user", "dev"}, {"role", "developer"}}, {{"user", "viewer"}, {"role", "viewer"}}}}}}};
    ASSERT_TRUE(store_->create("Project", project).ok());
    json site = {
        {"apiVersion", "wok.dev/v1alpha1"},
        {"kind", "Site"},
        {"metadata", {{"name", "api"}, {"namespace", "team-a"}}},
        {"spec",
         {{"mode", "app"},
          {"hosts", {"api.team-a.localhost"}},
          {"app",
           {{"components", {{{"name", "web"}, {"command", {"true"}}, {"port", 8080}}}},
            {"jobs", {{{"name", "nightly"}, {"schedule", "@daily"}, {"command", {"true"}}}}}}}}}};
    ASSERT_TRUE(store_->create("Site", site).ok());
    ApiOptions options;
    options.job_logs = [this](const std::string&, const std::string&, const std::string& job,
                              int tail) {
      ++logs_calls_;
      return json{{"kind", "JobLogs"}, {"job", job}, {"tail", tail}, {"items", json::array()}};
    };
    api_ = std::make_unique<ApiHandler>(*store_, options);
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  http::Response call(const std::string& user, const std::string& target,
                      const std::string& method = "GET") {
    http::Request req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.headers.push_back({"Authorization", "Bearer " + tokens_[user]});
    http::Response res;
    api_->handle(req, res);
    return res;
  }

  json requests() {
    return (*store_->get("Site", "team-a", "api"))["status"].value("jobRequests", json());
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiHandler> api_;
  std::map<std::string, std::string> tokens_;
  int logs_calls_ = 0;
};

TEST_F(JobsApiTest, EditorsRequestRunsOneAtATime) {
  EXPECT_EQ(call("dev", kSite + "/jobrun?job=nightly", "POST").status, 202);
  EXPECT_EQ(requests(), json({{"nightly", 1}}));
  EXPECT_EQ(call("dev", kSite + "/jobrun?job=nightly", "POST").status, 202);
  EXPECT_EQ(requests(), json({{"nightly", 2}}));
}

TEST_F(JobsApiTest, ViewersAndOutsidersCannotRunJobs) {
  EXPECT_EQ(call("viewer", kSite + "/jobrun?job=nightly", "POST").status, 403);
  EXPECT_EQ(call("outsider", kSite + "/jobrun?job=nightly", "POST").status, 403);
  EXPECT_EQ(call("outsider", kSite + "/joblogs?job=nightly").status, 403);
  EXPECT_EQ(logs_calls_, 0);
  EXPECT_TRUE(requests().is_null());
  http::Response r = call("viewer", kSite + "/joblogs?job=nightly&tail=5");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["tail"], 5);
}

TEST_F(JobsApiTest, OnlyDeclaredJobsAndSaneTails) {
  for (const std::string& job :
       std::vector<std::string>{"nope", "", "../x", "NIGHTLY", std::string(300, 'a')}) {
    http::Response r = call("dev", kSite + "/jobrun?job=" + job, "POST");
    EXPECT_EQ(r.status, 400) << job;
    EXPECT_NE(r.body.find("has no job"), std::string::npos) << r.body;
  }
  EXPECT_EQ(
      call("dev", "/apis/wok.dev/v1alpha1/namespaces/team-a/sites/none/jobrun?job=nightly", "POST")
          .status,
      404);
  EXPECT_TRUE(requests().is_null());
  for (const char* tail : {"-1", "x", "10001", "99999999999", ""}) {
    EXPECT_EQ(call("dev", kSite + "/joblogs?job=nightly&tail=" + std::string(tail)).status, 400)
        << tail;
  }
  EXPECT_EQ(call("dev", kSite + "/joblogs?job=nightly&tail=0").status, 200);
  EXPECT_EQ(logs_calls_, 1);
}

}  // namespace
}  // namespace wok::server
