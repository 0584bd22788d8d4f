#include "server/quota.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "server/api_server.h"
#include "server/auth.h"
#include "store/store.h"

namespace wok::server {
namespace {

using nlohmann::json;

json project(const json& quota) {
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Project"},
          {"metadata", {{"name", "team-a"}}},
          {"spec", {{"hosts", {"*.team-a.localhost"}}, {"quota", quota}}}};
}

json site(const std::string& name, json spec) {
  spec["hosts"] = {name + ".team-a.localhost"};
  spec["source"] = {{"git", {{"url", "https://example.org/x.git"}}}};
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Site"},
          {"metadata", {{"name", name}, {"namespace", "team-a"}}},
          {"spec", spec}};
}

json app(int replicas, const std::string& memory, const std::string& cpu = "500m") {
  return {{"mode", "app"},
          {"app",
           {{"components",
             {{{"name", "web"}, {"command", {"x"}}, {"port", 8080}, {"replicas", replicas}}}}}},
          {"resources", {{"memory", memory}, {"cpu", cpu}}}};
}

TEST(QuotaTest, ADatabaseCountsItsInstanceMemoryCpuAndVolume) {
  json spec = app(2, "256Mi");
  spec["storage"] = {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}};
  spec["database"] = {{"engine", "mariadb"}, {"size", "2Gi"}};
  SiteUsage u = site_usage(spec);
  EXPECT_EQ(u.instances, 3);
  EXPECT_EQ(u.memory_bytes, 2 * (256ll << 20) + (512ll << 20));
  EXPECT_EQ(u.cpu_millis, 3 * 500);
  EXPECT_EQ(u.storage_bytes, 3ll << 30);
  spec["database"]["memory"] = "1Gi";
  EXPECT_EQ(site_usage(spec).memory_bytes, 2 * (256ll << 20) + (1ll << 30));
}

TEST(QuotaTest, UsageCountsInstancesOfEachMode) {
  EXPECT_EQ(site_usage({{"mode", "static"}}).memory_bytes, 0);
  SiteUsage php = site_usage({{"mode", "php"},
                              {"resources", {{"memory", "128Mi"}, {"cpu", "250m"}}},
                              {"storage",
                               {{{"name", "a"}, {"path", "a"}, {"size", "1Gi"}},
                                {{"name", "b"}, {"path", "b"}, {"size", "512Mi"}}}}});
  EXPECT_EQ(php.instances, 1);
  EXPECT_EQ(php.memory_bytes, 128ll << 20);
  EXPECT_EQ(php.cpu_millis, 250);
  EXPECT_EQ(php.storage_bytes, (1ll << 30) + (512ll << 20));
  SiteUsage three = site_usage(app(3, "256Mi"));
  EXPECT_EQ(three.instances, 3);
  EXPECT_EQ(three.memory_bytes, 768ll << 20);
  EXPECT_EQ(three.cpu_millis, 1500);
  // An autoscaled component counts the most it may run, whichever it names.
  json scaled = app(1, "256Mi");
  scaled["app"]["autoscale"] = {{"minReplicas", 1}, {"maxReplicas", 8}};
  EXPECT_EQ(site_usage(scaled).instances, 8);
  EXPECT_EQ(site_usage(scaled).memory_bytes, 8 * (256ll << 20));
  scaled["app"]["autoscale"]["component"] = "other";
  EXPECT_EQ(site_usage(scaled).instances, 1);
  // Memory unset: the runtime's default per instance; cpu unset: unlimited.
  SiteUsage bare = site_usage({{"mode", "php"}});
  EXPECT_EQ(bare.memory_bytes, 256ll << 20);
  EXPECT_TRUE(bare.cpu_unlimited);
}

TEST(QuotaTest, MemoryOverTheQuotaNamesItAndTheNumbers) {
  json p = project({{"memory", "1Gi"}});
  std::vector<json> sites = {site("a", app(2, "256Mi"))};
  EXPECT_EQ(quota_error(p, sites, site("b", app(2, "256Mi"))), "");
  EXPECT_EQ(quota_error(p, sites, site("b", app(4, "256Mi"))),
            "project team-a's quota of memory is 1Gi; its sites would use 1.5Gi");
  // A replace counts the new spec instead of the stored one.
  EXPECT_EQ(quota_error(p, sites, site("a", app(4, "256Mi"))), "");
  EXPECT_EQ(quota_error(p, sites, site("a", app(5, "256Mi"))),
            "project team-a's quota of memory is 1Gi; its sites would use 1.25Gi");
}

TEST(QuotaTest, SitesCpuAndStorage) {
  std::vector<json> sites = {site("a", {{"mode", "static"}}), site("b", {{"mode", "static"}})};
  EXPECT_EQ(quota_error(project({{"sites", 2}}), sites, site("c", {{"mode", "static"}})),
            "project team-a's quota of sites is 2; it would have 3");
  EXPECT_EQ(quota_error(project({{"sites", 2}}), sites, site("a", {{"mode", "static"}})), "");
  EXPECT_EQ(quota_error(project({{"cpu", "2"}}), sites, site("c", app(5, "64Mi"))),
            "project team-a's quota of cpu is 2; its sites would use 2500m");
  EXPECT_EQ(quota_error(project({{"cpu", "2"}}), sites, site("c", {{"mode", "php"}})),
            "project team-a's quota of cpu is 2; site c runs instances without a cpu limit: set "
            "its resources.cpu");
  json big = {{"mode", "static"}, {"storage", {{{"name", "d"}, {"path", "d"}, {"size", "30Gi"}}}}};
  EXPECT_EQ(quota_error(project({{"storage", "20Gi"}}), sites, site("c", big)),
            "project team-a's quota of storage is 20Gi; its sites would use 30Gi");
  EXPECT_EQ(quota_error(project(json::object()), sites, site("c", big)), "");
}

TEST(QuotaTest, AProjectOverALoweredQuotaMayStillShrink) {
  json p = project({{"memory", "512Mi"}});
  std::vector<json> sites = {site("a", app(4, "256Mi"))};  // 1Gi: the admin lowered the quota since
  EXPECT_EQ(quota_error(p, sites, site("a", app(3, "256Mi"))), "");
  EXPECT_NE(quota_error(p, sites, site("a", app(5, "256Mi"))), "");
}

TEST(QuotaTest, FormatsQuantities) {
  EXPECT_EQ(format_bytes(1536ll << 20), "1.5Gi");
  EXPECT_EQ(format_bytes(256ll << 20), "256Mi");
  EXPECT_EQ(format_bytes(1000), "1000");
  EXPECT_EQ(format_cpu(2000), "2");
  EXPECT_EQ(format_cpu(1500), "1500m");
}

// Admission through the API: a member's create or replace beyond the
// project's quota is refused with 422 and nothing changes.
class QuotaAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-quota-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string error;
    store_ = store::Store::open(dir_ + "/wok.db", &error);
    ASSERT_TRUE(store_) << error;
    token_ = new_token();
    store_->add_token("alice", hash_token(token_), false);
    json p = project({{"memory", "1Gi"}, {"sites", 2}});
    p["spec"]["members"] = {{{"user", "alice"}, {"role", "developer"}}};
    ASSERT_TRUE(store_->create("Project", p).ok());
    api_ = std::make_unique<ApiHandler>(*store_, ApiOptions{});
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  http::Response send(const std::string& method, const std::string& path, const json& body) {
    http::Request req;
    req.method = method;
    req.target = req.path = "/apis/wok.dev/v1alpha1/namespaces/team-a/sites" + path;
    req.headers.push_back({"Authorization", "Bearer " + token_});
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = body.dump();
    http::Response res;
    api_->handle(req, res);
    return res;
  }
  std::string dir_, token_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiHandler> api_;
};

TEST_F(QuotaAdmissionTest, CreateAndReplaceBeyondTheQuotaAreRefused) {
  ASSERT_EQ(send("POST", "", site("a", app(2, "256Mi"))).status, 201);
  http::Response r = send("POST", "", site("b", app(4, "256Mi")));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("project team-a's quota of memory is 1Gi; its sites would use 1.5Gi"),
            std::string::npos)
      << r.body;
  EXPECT_FALSE(store_->get("Site", "team-a", "b"));

  r = send("PUT", "/a", site("a", app(5, "256Mi")));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ((*store_->get("Site", "team-a", "a"))["spec"]["app"]["components"][0]["replicas"], 2);
  EXPECT_EQ(send("PUT", "/a", site("a", app(4, "256Mi"))).status, 200);

  ASSERT_EQ(send("POST", "", site("b", {{"mode", "static"}})).status, 201);
  r = send("POST", "", site("c", {{"mode", "static"}}));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("quota of sites is 2; it would have 3"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace wok::server
