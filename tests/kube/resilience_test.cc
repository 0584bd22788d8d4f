// The operator when the API misbehaves: 410 Gone, dropped watches, 409s and
// slow responses. It converges anyway, lists again only when it must, and
// never writes twice what it wrote once.
#include "kube/operator_fixture.h"

namespace wok::kube::testing {
namespace {

TEST_F(OperatorTest, ListsAgainAfter410Gone) {
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), site("team-a", "www", {"web"}, {"www.team-a.test"}));
  start_operator();
  ASSERT_TRUE(eventually([&] { return deployment("team-a", "www-web").has_value(); }));
  ASSERT_TRUE(eventually([&] { return api_.count("GET", "/sites?watch=true") >= 1; }));
  int lists = api_.count("GET", "/sites?limit");
  EXPECT_EQ(lists, 1);

  api_.compact();  // every watch is dropped and its resourceVersion expired
  ASSERT_TRUE(eventually([&] { return api_.count("GET", "/sites?limit") > lists; }));
  // A change made after the relist still arrives.
  api_.update(sites_path("team-a") + "/www",
              site("team-a", "www", {"web", "api"}, {"www.team-a.test"}));
  EXPECT_TRUE(eventually([&] { return deployment("team-a", "www-api").has_value(); }));

  // The same when the server answers the watch request itself with 410.
  lists = api_.count("GET", "/sites?limit");
  api_.fail_next("GET", "/sites?watch=true", 410);
  api_.drop_watches();
  ASSERT_TRUE(eventually([&] { return api_.count("GET", "/sites?limit") > lists; }));
  api_.update(sites_path("team-a") + "/www", site("team-a", "www", {"api"}, {"www.team-a.test"}));
  EXPECT_TRUE(eventually([&] { return !deployment("team-a", "www-web"); }));
  EXPECT_EQ(api_.count("PATCH", "/deployments/www-api?"), 1);
}

TEST_F(OperatorTest, ResumesDroppedWatchesWithoutListing) {
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), site("team-a", "www", {"web"}, {"www.team-a.test"}));
  start_operator();
  ASSERT_TRUE(eventually([&] { return deployment("team-a", "www-web").has_value(); }));
  ASSERT_TRUE(eventually([&] { return api_.count("GET", "/sites?watch=true") >= 1; }));
  int watches = api_.count("GET", "/sites?watch=true");

  for (int i = 0; i < 3; ++i) {
    api_.drop_watches();
    // Changes made while nobody watches are delivered by the resumed watch.
    api_.update(sites_path("team-a") + "/www",
                site("team-a", "www", {"web", "c" + std::to_string(i)}, {"www.team-a.test"}));
    ASSERT_TRUE(
        eventually([&] { return deployment("team-a", "www-c" + std::to_string(i)).has_value(); }));
  }
  EXPECT_GT(api_.count("GET", "/sites?watch=true"), watches);
  EXPECT_EQ(api_.count("GET", "/sites?limit"), 1);  // resumed from the resourceVersion
  EXPECT_EQ(api_.count("PATCH", "/deployments/www-web?"), 1);
}

TEST_F(OperatorTest, RetriesConflictsAndToleratesSlowResponses) {
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), site("team-a", "www", {"web"}, {"www.team-a.test"}));
  api_.fail_next("PATCH", "/deployments/www-web", 409, 2);
  api_.fail_next("PATCH", "/sites/www/status", 409, 1);
  api_.fail_next("GET", "/deployments?limit", 500, 2);  // the first lists fail too
  api_.set_delay(std::chrono::milliseconds(100));
  Operator& op = start_operator();
  ASSERT_TRUE(
      eventually([&] { return deployment("team-a", "www-web") && ingress("team-a", "www"); },
                 std::chrono::seconds(30)));
  mark_serving("team-a");
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "www") == "Ready"; },
                         std::chrono::seconds(30)));
  EXPECT_NE(op.metrics().find("wok_operator_reconcile_errors_total "), std::string::npos);
  EXPECT_EQ(op.metrics().find("wok_operator_reconcile_errors_total 0\n"), std::string::npos);
  api_.set_delay(std::chrono::milliseconds(0));
  // The event that says so comes after the status.
  ASSERT_TRUE(eventually([&] {
    for (const auto& e : api_.list("/api/v1/events"))
      if (e["reason"] == "Deployed") return true;
    return false;
  }));
  EXPECT_EQ(writes_during_quiet_period(), 0);
  // Two refused attempts, then one that landed.
  EXPECT_EQ(api_.count("PATCH", "/deployments/www-web?"), 3);
  EXPECT_EQ(api_.list("/apis/apps/v1/deployments").size(), 1u);
}

}  // namespace
}  // namespace wok::kube::testing
