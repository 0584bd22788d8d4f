#include "server/api_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/validation.h"
#include "server/auth.h"
#include "store/store.h"

namespace wok::server {
namespace {

using nlohmann::json;

constexpr char kBase[] = "/apis/wok.dev/v1alpha1";

// Two projects, a site in each, the platform admin, a member of each
// project and a user of none. The stats and logs sources count their calls:
// a refused caller must never reach them.
class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-server-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string error;
    store_ = store::Store::open(dir_ + "/wok.db", &error);
    ASSERT_TRUE(store_) << error;
    const std::vector<std::pair<std::string, bool>> users = {
        {"admin", true}, {"alice", false}, {"bob", false}, {"eve", false}};
    for (const auto& [user, admin] : users) {
      tokens_[user] = new_token();
      store_->add_token(user, hash_token(tokens_[user]), admin);
    }
    add_project("team-a", "alice");
    add_project("team-b", "bob");
    ApiOptions options;
    options.extra_metrics = [] {
      return std::string("wok_site_requests_total{project=\"team-a\",site=\"www\"} 1\n");
    };
    options.site_stats = [this](const std::string& ns, const std::string& name, int) {
      ++stats_calls_;
      return json{{"kind", "SiteStats"}, {"metadata", {{"namespace", ns}, {"name", name}}}};
    };
    options.site_logs = [this](const std::string&, const std::string&, const LogsQuery&) {
      ++logs_calls_;
      return json{{"kind", "SiteLogs"}, {"items", json::array()}};
    };
    api_ = std::make_unique<ApiHandler>(*store_, options);
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void add_project(const std::string& name, const std::string& member) {
    json project = {{"apiVersion", "wok.dev/v1alpha1"},
                    {"kind", "Project"},
                    {"metadata", {{"name", name}}},
                    {"spec",
                     {{"hosts", {"*." + name + ".localhost"}},
                      {"members", {{{"user", member}, {"role", "viewer"}}}}}}};
    ASSERT_TRUE(store_->create("Project", project).ok());
    json site = {{"apiVersion", "wok.dev/v1alpha1"},
                 {"kind", "Site"},
                 {"metadata", {{"name", "www"}, {"namespace", name}}},
                 {"spec", {{"mode", "static"}, {"hosts", {"www." + name + ".localhost"}}}}};
    ASSERT_TRUE(store_->create("Site", site).ok());
  }

  http::Response call(const std::string& user, const std::string& target,
                      const std::string& method = "GET") {
    http::Request req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    if (!user.empty()) req.headers.push_back({"Authorization", "Bearer " + tokens_[user]});
    http::Response res;
    api_->handle(req, res);
    return res;
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiHandler> api_;
  std::map<std::string, std::string> tokens_;
  int stats_calls_ = 0;
  int logs_calls_ = 0;
};

TEST_F(ApiServerTest, HealthAndVersionNeedNoToken) {
  EXPECT_EQ(call("", "/healthz").status, 200);
  EXPECT_EQ(call("", "/version").status, 200);
}

// /metrics names every project's sites: the platform admin's view only.
TEST_F(ApiServerTest, MetricsNeedTheAdminToken) {
  http::Response anonymous = call("", "/metrics");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.body.find("team-a"), std::string::npos);
  tokens_["forged"] = std::string(64, 'a');
  EXPECT_EQ(call("forged", "/metrics").status, 401);
  http::Response member = call("bob", "/metrics");
  EXPECT_EQ(member.status, 403);
  EXPECT_EQ(member.body.find("team-a"), std::string::npos);
  http::Response admin = call("admin", "/metrics");
  EXPECT_EQ(admin.status, 200);
  EXPECT_NE(admin.body.find("wok_objects{kind=\"Site\"} 2"), std::string::npos) << admin.body;
  EXPECT_NE(admin.body.find("team-a"), std::string::npos);
}

// Every read under a project: its members only, outsiders learn nothing.
TEST_F(ApiServerTest, MembersReadOnlyTheirProjects) {
  const std::string site = std::string(kBase) + "/namespaces/team-a/sites/www";
  const std::vector<std::string> reads = {
      std::string(kBase) + "/projects/team-a",
      std::string(kBase) + "/namespaces/team-a/sites",
      site,
      site + "/revisions",
      site + "/stats?minutes=5",
      site + "/logs?tail=10",
      std::string(kBase) + "/namespaces/team-a/sites/nothing/logs"};
  for (const auto& target : reads) {
    for (const char* outsider : {"bob", "eve"}) {
      http::Response r = call(outsider, target);
      EXPECT_EQ(r.status, 403) << outsider << " " << target << ": " << r.body;
      EXPECT_EQ(r.body.find("www.team-a"), std::string::npos) << target;
    }
    EXPECT_EQ(call("", target).status, 401) << target;
  }
  EXPECT_EQ(stats_calls_, 0);
  EXPECT_EQ(logs_calls_, 0);
  for (size_t i = 0; i + 1 < reads.size(); ++i)
    EXPECT_EQ(call("alice", reads[i]).status, 200) << reads[i];
  EXPECT_EQ(stats_calls_, 1);
  EXPECT_EQ(logs_calls_, 1);

  http::Response all = call("bob", std::string(kBase) + "/sites");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.body.find("team-a"), std::string::npos) << all.body;
  EXPECT_NE(all.body.find("team-b"), std::string::npos) << all.body;
  http::Response projects = call("bob", std::string(kBase) + "/projects");
  EXPECT_EQ(projects.status, 200);
  EXPECT_EQ(projects.body.find("team-a"), std::string::npos) << projects.body;
}

TEST_F(ApiServerTest, MembersChangeNothingOfOtherProjects) {
  const std::string site = std::string(kBase) + "/namespaces/team-a/sites/www";
  const std::vector<std::pair<std::string, std::string>> writes = {
      {"DELETE", site},
      {"POST", site + "/refresh"},
      {"POST", site + "/rollback"},
      {"DELETE", std::string(kBase) + "/projects/team-a"}};
  for (const auto& [method, target] : writes) {
    EXPECT_EQ(call("bob", target, method).status, 403) << method << " " << target;
  }
  EXPECT_TRUE(store_->get("Site", "team-a", "www"));
  EXPECT_FALSE((*store_->get("Site", "team-a", "www"))["status"].contains("refreshRequests"));
}

// An old revision's hosts are claimed again only if the project may still
// claim them: undo is not a way around the project's host patterns.
TEST_F(ApiServerTest, RollbackChecksTheOldRevisionsHosts) {
  std::string uid = (*store_->get("Site", "team-a", "www"))["metadata"]["uid"];
  json foreign = {{"mode", "static"}, {"hosts", {"shop.example.com"}}};
  json own = {{"mode", "static"}, {"hosts", {"old.team-a.localhost"}}};
  int64_t bad = store_->add_revision(
      uid, "team-a", "www",
      store::Revision{0, 1, "c1", foreign.dump(), "", "Pending", "", "", "/r1", false});
  store_->finish_revision(uid, bad, "Deployed", "", "", false);
  int64_t good = store_->add_revision(
      uid, "team-a", "www",
      store::Revision{0, 2, "c2", own.dump(), "", "Pending", "", "", "/r2", false});
  store_->finish_revision(uid, good, "Deployed", "", "", true);

  auto rollback = [this](int64_t to) {
    http::Request req;
    req.method = "POST";
    req.path = req.target = std::string(kBase) + "/namespaces/team-a/sites/www/rollback";
    req.body = json{{"toRevision", to}}.dump();
    req.headers.push_back({"Authorization", "Bearer " + tokens_["admin"]});
    http::Response res;
    api_->handle(req, res);
    return res;
  };
  http::Response refused = rollback(bad);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_NE(refused.body.find("spec.hosts[0]"), std::string::npos) << refused.body;
  json site = *store_->get("Site", "team-a", "www");
  EXPECT_EQ(site["spec"]["hosts"][0], "www.team-a.localhost");
  EXPECT_FALSE(site["status"].contains("pinnedRevision"));

  http::Response done = rollback(good);
  EXPECT_EQ(done.status, 200) << done.body;
  EXPECT_EQ((*store_->get("Site", "team-a", "www"))["spec"]["hosts"][0], "old.team-a.localhost");
}

// POST .../dbupgrade: the one way a database's version moves, and only up;
// a rollback to a revision of before it keeps the newer version.
TEST_F(ApiServerTest, DatabaseUpgradeIsTheOneWayToANewerVersion) {
  api::offer_database_versions("postgresql", {"13", "15"});
  json blog = {{"apiVersion", "wok.dev/v1alpha1"},
               {"kind", "Site"},
               {"metadata", {{"name", "blog"}, {"namespace", "team-a"}}},
               {"spec",
                {{"mode", "php"},
                 {"hosts", {"blog.team-a.localhost"}},
                 {"database", {{"engine", "postgresql"}, {"version", "13"}, {"size", "1Gi"}}}}}};
  ASSERT_TRUE(store_->create("Site", blog).ok());
  std::string uid = (*store_->get("Site", "team-a", "blog"))["metadata"]["uid"];
  int64_t first = store_->add_revision(
      uid, "team-a", "blog",
      store::Revision{0, 1, "c1", blog["spec"].dump(), "", "Pending", "", "", "/r1", false});
  store_->finish_revision(uid, first, "Deployed", "", "", true);
  auto post = [this](const std::string& user, const std::string& site, const std::string& sub,
                     const json& body) {
    http::Request req;
    req.method = "POST";
    req.path = req.target = std::string(kBase) + "/namespaces/team-a/sites/" + site + "/" + sub;
    req.body = body.dump();
    req.headers.push_back({"Authorization", "Bearer " + tokens_[user]});
    http::Response res;
    api_->handle(req, res);
    return res;
  };
  auto version = [this] {
    return (*store_->get("Site", "team-a", "blog"))["spec"]["database"]["version"];
  };
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"16", "\"16\" is not a version of postgresql this platform runs (13, 15)"},
      {"15; rm -rf /",
       "\"15; rm -rf /\" is not a version of postgresql this platform runs (13, 15)"},
      {"13", "site \"blog\"'s database runs postgresql 13 already"},
      {"", "say the version to upgrade to (this platform runs postgresql 13, 15)"}};
  for (const auto& [to, message] : refused) {
    http::Response r = post("admin", "blog", "dbupgrade", {{"version", to}});
    EXPECT_EQ(r.status, 422) << to;
    EXPECT_EQ(json::parse(r.body).value("message", ""), message) << r.body;
  }
  EXPECT_EQ(post("alice", "blog", "dbupgrade", {{"version", "15"}}).status, 403);  // a viewer
  EXPECT_EQ(post("bob", "blog", "dbupgrade", {{"version", "15"}}).status, 403);    // an outsider
  http::Response none = post("admin", "www", "dbupgrade", {{"version", "15"}});
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(json::parse(none.body).value("message", ""),
            "site \"www\" has no database (spec.database)");
  EXPECT_EQ(version(), "13");
  // Not while a restore is under way (its end writes the spec it restores).
  store_->patch_status("Site", "team-a", "blog", {{"restoring", {{"backup", "0123abcd"}}}});
  http::Response restoring = post("admin", "blog", "dbupgrade", {{"version", "15"}});
  EXPECT_EQ(restoring.status, 409);
  EXPECT_EQ(json::parse(restoring.body).value("message", ""),
            "site \"blog\" is being restored: upgrade its database after");
  store_->patch_status("Site", "team-a", "blog", {{"restoring", nullptr}});

  http::Response up = post("admin", "blog", "dbupgrade", {{"version", "15"}});
  EXPECT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(version(), "15");
  // Not deployed yet (revision 1, live, runs 13): called off, then asked again.
  http::Response off = post("admin", "blog", "dbupgrade", {{"version", "13"}});
  EXPECT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(version(), "13");
  ASSERT_EQ(post("admin", "blog", "dbupgrade", {{"version", "15"}}).status, 200);
  json deployed = (*store_->get("Site", "team-a", "blog"))["spec"];
  int64_t second = store_->add_revision(
      uid, "team-a", "blog",
      store::Revision{0, 2, "c1", deployed.dump(), "", "Pending", "", "", "/r2", false});
  store_->finish_revision(uid, second, "Deployed", "", "", true);
  // Deployed: never back.
  http::Response down = post("admin", "blog", "dbupgrade", {{"version", "13"}});
  EXPECT_EQ(down.status, 422);
  EXPECT_EQ(json::parse(down.body).value("message", ""),
            "site \"blog\"'s database runs postgresql 15; it is never downgraded to 13 (a dump "
            "imported into a new site is the way back)");
  // Revision 1 ran 13: rolled back to, its spec keeps the database's 15.
  http::Response back = post("admin", "blog", "rollback", {{"toRevision", first}});
  EXPECT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(version(), "15");
  api::offer_database_versions("postgresql", {});
}

}  // namespace
}  // namespace wok::server
