// The console's files (server/console_assets.h) as the API server serves
// them, and GET .../whoami, which it signs in with.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "server/api_server.h"
#include "server/auth.h"
#include "server/console_assets.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace wok::server {
namespace {

using nlohmann::json;

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = store::Store::open((dir_.path / "wok.db").string(), &error);
    ASSERT_TRUE(store_) << error;
    token_ = new_token();
    store_->add_token("alice", hash_token(token_), false);
    api_ = std::make_unique<ApiHandler>(*store_, ApiOptions{});
  }
  http::Response get(const std::string& path, const std::string& token = "",
                     const std::string& method = "GET") {
    http::Request req;
    req.method = method;
    req.target = req.path = path;
    if (!token.empty()) req.headers.push_back({"Authorization", "Bearer " + token});
    http::Response res;
    api_->handle(req, res);
    return res;
  }
  static std::string header(const http::Response& r, const std::string& name) {
    for (const auto& h : r.headers)
      if (h.name == name) return h.value;
    return "";
  }

  test_support::TempDir dir_{"wok-console"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiHandler> api_;
  std::string token_;
};

TEST_F(ConsoleTest, ItsFilesNeedNoTokenAndCarryAStrictPolicy) {
  http::Response root = get("/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(header(root, "Location"), "/console/");
  http::Response index = get("/console/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<script src=\"app.js\"></script>"), std::string::npos);
  EXPECT_NE(header(index, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_NE(header(index, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(header(index, "X-Content-Type-Options"), "nosniff");
  // Every file the page loads is there, from the binary: nothing from elsewhere.
  for (const char* f : {"app.js", "app.css", "vendor/dagre.min.js", "vendor/uPlot.iife.min.js",
                        "vendor/uPlot.min.css"}) {
    http::Response r = get(std::string("/console/") + f);
    EXPECT_EQ(r.status, 200) << f;
    EXPECT_GT(r.body.size(), 1000u) << f;
    EXPECT_EQ(index.body.find("http"), std::string::npos);  // no absolute URL in the page
  }
  EXPECT_EQ(get("/console/../wok.db").status, 404);
  EXPECT_EQ(get("/console/nope.js").status, 404);
  EXPECT_EQ(get("/console/app.js", "", "POST").status, 405);
}

TEST_F(ConsoleTest, WhoamiSaysWhoTheTokenIs) {
  http::Response me = get("/apis/wok.dev/v1alpha1/whoami", token_);
  ASSERT_EQ(me.status, 200);
  json body = json::parse(me.body);
  EXPECT_EQ(body["user"], "alice");
  EXPECT_EQ(body["platformAdmin"], false);
  EXPECT_EQ(get("/apis/wok.dev/v1alpha1/whoami", "forged").status, 401);
}

TEST_F(ConsoleTest, UsageIsWhatAdmissionCountsAgainstTheQuota) {
  json project = {{"apiVersion", "wok.dev/v1alpha1"},
                  {"kind", "Project"},
                  {"metadata", {{"name", "team-a"}}},
                  {"spec",
                   {{"hosts", {"*.team-a.localhost"}},
                    {"members", {{{"user", "alice"}, {"role", "viewer"}}}},
                    {"quota", {{"sites", 5}, {"memory", "2Gi"}}}}}};
  ASSERT_TRUE(store_->create("Project", project).ok());
  json site = {
      {"apiVersion", "wok.dev/v1alpha1"},
      {"kind", "Site"},
      {"metadata", {{"name", "api"}, {"namespace", "team-a"}}},
      {"spec",
       {{"mode", "app"},
        {"hosts", {"api.team-a.localhost"}},
        {"resources", {{"memory", "128Mi"}, {"cpu", "250m"}}},
        {"storage", {{{"name", "data"}, {"path", "data"}, {"size", "64Mi"}}}},
        {"app",
         {{"components",
           {{{"name", "web"}, {"command", {"app"}}, {"port", 8080}, {"replicas", 2}}}}}}}}};
  ASSERT_TRUE(store_->create("Site", site).ok());
  http::Response r = get("/apis/wok.dev/v1alpha1/projects/team-a/usage", token_);
  ASSERT_EQ(r.status, 200) << r.body;
  json u = json::parse(r.body);
  EXPECT_EQ(u["quota"]["memory"], "2Gi");
  EXPECT_EQ(u["used"]["sites"], 1);
  EXPECT_EQ(u["used"]["instances"], 2);
  EXPECT_EQ(u["used"]["memoryBytes"], 2 * 128 * 1024 * 1024);
  EXPECT_EQ(u["used"]["cpuMillis"], 500);
  EXPECT_EQ(u["used"]["storageBytes"], 64 * 1024 * 1024);
  // Not a member: nothing, not even whether it exists.
  std::string eve = new_token();
  store_->add_token("eve", hash_token(eve), false);
  EXPECT_EQ(get("/apis/wok.dev/v1alpha1/projects/team-a/usage", eve).status, 403);
  EXPECT_EQ(get("/apis/wok.dev/v1alpha1/projects/nope/usage", eve).status, 403);

  // The build log: a viewer reads it (as the revisions), an outsider does not.
  const std::string log = "/apis/wok.dev/v1alpha1/namespaces/team-a/sites/api/buildlog";
  http::Response b = get(log, token_);
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(json::parse(b.body)["running"], false);  // no build source here: none runs
  EXPECT_EQ(get(log, eve).status, 403);
  EXPECT_EQ(get(log, token_, "POST").status, 403);  // a viewer writes nothing
  EXPECT_EQ(get("/apis/wok.dev/v1alpha1/namespaces/team-a/sites/nope/buildlog", token_).status,
            404);
}

}  // namespace
}  // namespace wok::server
