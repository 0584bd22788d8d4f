// Two operators against one API: only the lease holder writes; when it
// stops (releasing the lease) the other takes over.
#include "kube/operator_fixture.h"

namespace wok::kube::testing {
namespace {

TEST_F(OperatorTest, OnlyTheLeaderWritesAndAStandbyTakesOver) {
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), site("team-a", "www", {"web"}, {"www.team-a.test"}));
  Operator& a = start_operator("wok-operator/a", true);
  Operator& b = start_operator("wok-operator/b", true);
  ASSERT_TRUE(eventually([&] { return a.leading() || b.leading(); }));
  ASSERT_TRUE(eventually([&] { return deployment("team-a", "www-web").has_value(); }));
  ASSERT_TRUE(eventually([&] { return a.ready() && b.ready(); }));  // leader and standby
  EXPECT_NE(a.leading(), b.leading());
  Operator& leader = a.leading() ? a : b;
  Operator& standby = a.leading() ? b : a;
  std::string leader_agent = a.leading() ? "wok-operator/a" : "wok-operator/b";
  std::string standby_agent = a.leading() ? "wok-operator/b" : "wok-operator/a";

  api_.update(sites_path("team-a") + "/www",
              site("team-a", "www", {"web", "api"}, {"www.team-a.test"}));
  ASSERT_TRUE(eventually([&] { return deployment("team-a", "www-api").has_value(); }));
  EXPECT_GT(api_.writes(leader_agent), 0);
  EXPECT_EQ(api_.writes(standby_agent), 0);
  auto lease = api_.get("/apis/coordination.k8s.io/v1/namespaces/wok-system/leases/wok-operator");
  ASSERT_TRUE(lease);
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], leader_agent);

  leader.stop();  // releases the lease
  ASSERT_TRUE(eventually([&] { return standby.leading(); }));
  int leader_writes = api_.writes(leader_agent);
  api_.update(sites_path("team-a") + "/www", site("team-a", "www", {"api"}, {"www.team-a.test"}));
  ASSERT_TRUE(eventually([&] { return !deployment("team-a", "www-web"); }));
  EXPECT_GT(api_.writes(standby_agent), 0);
  EXPECT_EQ(api_.writes(leader_agent), leader_writes);
  // The new leader found the world as the old one left it: nothing re-applied.
  EXPECT_EQ(api_.count("PATCH", "/deployments/www-api?"), 1);
}

TEST_F(OperatorTest, AnExpiredLeaseIsTakenOver) {
  // A holder that vanished without releasing (a crashed pod).
  api_.create("/apis/coordination.k8s.io/v1/namespaces/wok-system/leases",
              {{"apiVersion", "coordination.k8s.io/v1"},
               {"kind", "Lease"},
               {"metadata", {{"name", "wok-operator"}}},
               {"spec",
                {{"holderIdentity", "crashed"},
                 {"leaseDurationSeconds", 1},
                 {"renewTime", "2020-01-01T00:00:00.000000Z"}}}});
  api_.create(kProjects, project("team-a"));
  Operator& op = start_operator("wok-operator/a", true);
  EXPECT_TRUE(op.ready() || eventually([&] { return op.ready(); }));
  EXPECT_FALSE(op.leading());  // it must first see the record unchanged for the duration
  ASSERT_TRUE(eventually([&] { return op.leading(); }));
  auto lease = *api_.get("/apis/coordination.k8s.io/v1/namespaces/wok-system/leases/wok-operator");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "wok-operator/a");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
  EXPECT_TRUE(eventually([&] { return api_.get("/api/v1/namespaces/team-a").has_value(); }));
}

}  // namespace
}  // namespace wok::kube::testing
