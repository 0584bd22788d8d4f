#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "server/api_server.h"
#include "server/auth.h"
#include "server/quota.h"
#include "store/store.h"

namespace wok::server {
namespace {

using nlohmann::json;

json app(int replicas, const std::string& memory = "256Mi", const std::string& cpu = "500m") {
  return {{"mode", "app"},
          {"app",
           {{"components",
             {{{"name", "web"}, {"command", {"x"}}, {"port", 8080}, {"replicas", 1}},
              {{"name", "worker"}, {"command", {"y"}}, {"replicas", replicas}}}}}},
          {"resources", {{"memory", memory}, {"cpu", cpu}}}};
}

json php(const std::vector<std::string>& sizes) {
  json storage = json::array();
  for (size_t i = 0; i < sizes.size(); ++i) {
    storage.push_back(
        {{"name", "v" + std::to_string(i)}, {"path", "v" + std::to_string(i)}, {"size", sizes[i]}});
  }
  return {
      {"mode", "php"}, {"resources", {{"memory", "128Mi"}, {"cpu", "250m"}}}, {"storage", storage}};
}

std::string joined(const json& spec, const SiteBounds& bounds) {
  return api::join_errors(site_bound_errors(spec, bounds));
}

TEST(SiteBoundsTest, TheDefaultsAreTheDocumentedOnes) {
  SiteBounds b;
  EXPECT_EQ(b.memory_bytes, 4ll << 30);
  EXPECT_EQ(b.cpu_millis, 4000);
  EXPECT_EQ(b.replicas, 20);
  EXPECT_EQ(b.storage_bytes, 100ll << 30);
  EXPECT_EQ(joined(app(20, "4Gi", "4"), b), "");
  EXPECT_EQ(joined(php({"60Gi", "40Gi"}), b), "");
  EXPECT_EQ(joined({{"mode", "static"}}, b), "");
  EXPECT_EQ(joined({{"mode", "php"}}, b), "");  // nothing set, nothing over
}

TEST(SiteBoundsTest, EachBoundNamesTheFieldTheLimitAndTheFlag) {
  SiteBounds b;
  b.memory_bytes = 1ll << 30;
  b.cpu_millis = 1500;
  b.replicas = 3;
  b.storage_bytes = 10ll << 30;
  EXPECT_EQ(joined(app(3, "1Gi", "1500m"), b), "");
  EXPECT_EQ(joined(app(4), b),
            "spec.app.components[1].replicas: 4 is over the platform's limit of 3 per component "
            "(wok up --max-site-replicas)");
  EXPECT_EQ(joined(app(1, "1025Mi"), b),
            "spec.resources.memory: 1025Mi is over the platform's limit of 1Gi per instance "
            "(wok up --max-site-memory)");
  EXPECT_EQ(joined(app(1, "256Mi", "2"), b),
            "spec.resources.cpu: 2 is over the platform's limit of 1500m per instance (wok up "
            "--max-site-cpu)");
  EXPECT_EQ(joined(php({"11Gi"}), b),
            "spec.storage[0].size: 11Gi is over the platform's limit of 10Gi per site (wok up "
            "--max-site-storage)");
  // Each volume within, their sum over.
  EXPECT_EQ(joined(php({"6Gi", "5Gi"}), b),
            "spec.storage: 11Gi in all is over the platform's limit of 10Gi per site (wok up "
            "--max-site-storage)");
  EXPECT_EQ(joined(php({"6Gi", "4Gi"}), b), "");
  // A member cannot get past the bound through the autoscaler.
  json scaled = app(1);
  scaled["app"]["autoscale"] = {{"maxReplicas", 9}};
  EXPECT_EQ(joined(scaled, b),
            "spec.app.autoscale.maxReplicas: 9 is over the platform's limit of 3 per component "
            "(wok up --max-site-replicas)");
  scaled["app"]["autoscale"]["maxReplicas"] = 3;
  EXPECT_EQ(joined(scaled, b), "");
  // Several at once: each is named.
  EXPECT_EQ(site_bound_errors(app(9, "2Gi", "3"), b).size(), 3u);
}

// Admission through the API: over a bound, a create, a replace and a
// rollback are refused with 422 naming the field, for a member and for the
// platform admin, and nothing changes.
class SiteBoundsAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-bounds-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string error;
    store_ = store::Store::open(dir_ + "/wok.db", &error);
    ASSERT_TRUE(store_) << error;
    for (const auto& [user, admin] : {std::pair{"alice", false}, std::pair{"admin", true}}) {
      tokens_[user] = new_token();
      store_->add_token(user, hash_token(tokens_[user]), admin);
    }
    json p = {{"apiVersion", "wok.dev/v1alpha1"},
              {"kind", "Project"},
              {"metadata", {{"name", "team-a"}}},
              {"spec",
               {{"hosts", {"*.team-a.localhost"}},
                {"members", {{{"user", "alice"}, {"role", "developer"}}}}}}};
    ASSERT_TRUE(store_->create("Project", p).ok());
    ApiOptions options;
    options.site_bounds.replicas = 3;
    options.site_bounds.memory_bytes = 1ll << 30;
    options.site_bounds.cpu_millis = 2000;
    options.site_bounds.storage_bytes = 10ll << 30;
    api_ = std::make_unique<ApiHandler>(*store_, options);
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  static json site(const std::string& name, json spec) {
    spec["hosts"] = {name + ".team-a.localhost"};
    spec["source"] = {{"git", {{"url", "https://example.org/x.git"}}}};
    return {{"apiVersion", "wok.dev/v1alpha1"},
            {"kind", "Site"},
            {"metadata", {{"name", name}, {"namespace", "team-a"}}},
            {"spec", spec}};
  }
  http::Response send(const std::string& user, const std::string& method, const std::string& path,
                      const json& body) {
    http::Request req;
    req.method = method;
    req.target = req.path = "/apis/wok.dev/v1alpha1/namespaces/team-a/sites" + path;
    req.headers.push_back({"Authorization", "Bearer " + tokens_[user]});
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = body.dump();
    http::Response res;
    api_->handle(req, res);
    return res;
  }
  std::string dir_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiHandler> api_;
};

TEST_F(SiteBoundsAdmissionTest, CreateOverABoundIsRefusedForMembersAndTheAdmin) {
  for (const char* user : {"alice", "admin"}) {
    http::Response r = send(user, "POST", "", site("big", app(4)));
    EXPECT_EQ(r.status, 422) << user << ": " << r.body;
    json status = json::parse(r.body);
    EXPECT_EQ(status["message"],
              "Site \"big\" is invalid: spec.app.components[1].replicas: 4 is over the platform's "
              "limit of 3 "
              "per component (wok up --max-site-replicas)");
    EXPECT_EQ(status["reason"], "Invalid");
    EXPECT_FALSE(store_->get("Site", "team-a", "big")) << user;

    r = send(user, "POST", "", site("fat", app(1, "2Gi")));
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(
        r.body.find("spec.resources.memory: 2Gi is over the platform's limit of 1Gi per instance "
                    "(wok up --max-site-memory)"),
        std::string::npos)
        << r.body;
    r = send(user, "POST", "", site("hot", app(1, "256Mi", "2500m")));
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(
        r.body.find("spec.resources.cpu: 2500m is over the platform's limit of 2 per instance "
                    "(wok up --max-site-cpu)"),
        std::string::npos)
        << r.body;
    r = send(user, "POST", "", site("disk", php({"8Gi", "8Gi"})));
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(r.body.find("spec.storage: 16Gi in all is over the platform's limit of 10Gi per site "
                          "(wok up --max-site-storage)"),
              std::string::npos)
        << r.body;
    for (const char* name : {"fat", "hot", "disk"})
      EXPECT_FALSE(store_->get("Site", "team-a", name)) << name;
  }
  EXPECT_EQ(send("alice", "POST", "", site("ok", app(3, "1Gi", "2"))).status, 201);
}

TEST_F(SiteBoundsAdmissionTest, ReplaceOverABoundChangesNothing) {
  ASSERT_EQ(send("alice", "POST", "", site("a", app(2))).status, 201);
  json before = *store_->get("Site", "team-a", "a");
  for (const char* user : {"alice", "admin"}) {
    http::Response r = send(user, "PUT", "/a", site("a", app(5)));
    EXPECT_EQ(r.status, 422) << user << ": " << r.body;
    EXPECT_NE(
        r.body.find(
            "spec.app.components[1].replicas: 5 is over the platform's limit of 3 per component"),
        std::string::npos)
        << r.body;
    json after = *store_->get("Site", "team-a", "a");
    EXPECT_EQ(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"]);
    EXPECT_EQ(after["spec"], before["spec"]);
  }
  EXPECT_EQ(send("alice", "PUT", "/a", site("a", app(3))).status, 200);
}

TEST_F(SiteBoundsAdmissionTest, RollbackToARevisionOverABoundIsRefused) {
  ASSERT_EQ(send("alice", "POST", "", site("a", app(2))).status, 201);
  json stored = *store_->get("Site", "team-a", "a");
  std::string uid = stored["metadata"]["uid"];
  // A revision deployed before the admin lowered the bound: 6 replicas.
  json old_spec = site("a", app(6))["spec"];
  int64_t old = store_->add_revision(
      uid, "team-a", "a",
      store::Revision{0, 1, "c1", old_spec.dump(), "", "Pending", "", "", "/r1", false});
  store_->finish_revision(uid, old, "Deployed", "", "", false);
  int64_t live = store_->add_revision(
      uid, "team-a", "a",
      store::Revision{0, 2, "c2", stored["spec"].dump(), "", "Pending", "", "", "/r2", false});
  store_->finish_revision(uid, live, "Deployed", "", "", true);

  for (const char* user : {"alice", "admin"}) {
    http::Response r = send(user, "POST", "/a/rollback", json{{"toRevision", old}});
    EXPECT_EQ(r.status, 422) << user << ": " << r.body;
    EXPECT_EQ(
        json::parse(r.body)["message"],
        "cannot roll back to revision " + std::to_string(old) +
            ": spec.app.components[1].replicas: 6 is over the platform's limit of 3 per component "
            "(wok up --max-site-replicas)");
    json site_now = *store_->get("Site", "team-a", "a");
    EXPECT_EQ(site_now["spec"]["app"]["components"][1]["replicas"], 2);
    EXPECT_FALSE(site_now.contains("status") && site_now["status"].contains("pinnedRevision"));
  }
}

}  // namespace
}  // namespace wok::server
