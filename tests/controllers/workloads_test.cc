// Pure parts of the php and app modes: instance names and desired instances.
#include "controllers/workloads.h"

#include <gtest/gtest.h>

namespace wok::controllers {
namespace {

using nlohmann::json;

TEST(InstanceId, RoundTrips) {
  std::string id = instance_id("team-a", "api", "web", 12, 1);
  EXPECT_EQ(id, "team-a.api.web.r12.1");
  auto n = parse_instance_id(id);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->ns, "team-a");
  EXPECT_EQ(n->site, "api");
  EXPECT_EQ(n->component, "web");
  EXPECT_EQ(n->revision, 12);
  EXPECT_EQ(n->replica, 1);
  EXPECT_FALSE(parse_instance_id("team-a.api.web.x12.1"));
  EXPECT_FALSE(parse_instance_id("something-else"));
  EXPECT_FALSE(parse_instance_id("a.b.c.r1.2.3"));
}

TEST(PlanWorkloads, AppComponentsReplicasAndTheRoutedOne) {
  json spec = json::parse(
      R"({"mode": "app", "resources": {"memory": "64Mi", "cpu": "250m"}, "app": {"components": [
      {"name": "worker", "command": ["python3", "w.py"], "replicas": 1},
      {"name": "web", "command": ["python3", "app.py"], "port": 8080, "replicas": 2, "health": {"path": "/h"}},
      {"name": "admin", "image": "oci:/img:1", "port": 9000, "replicas": 1}]}})");
  auto plan = plan_workloads("p", "s", "uid1", spec, 3, "/data/rev/3", "/data/storage");
  ASSERT_EQ(plan.error, "");
  ASSERT_EQ(plan.instances.size(), 4u);
  EXPECT_EQ(plan.port, 8080);
  EXPECT_EQ(plan.routed, (std::vector<std::string>{"p.s.web.r3.0", "p.s.web.r3.1"}));
  EXPECT_EQ(plan.gating, (std::set<std::string>{"p.s.web.r3.0", "p.s.web.r3.1", "p.s.admin.r3.0"}));
  const auto& web = plan.instances[1];
  EXPECT_EQ(web.workdir, "/srv/app");
  ASSERT_EQ(web.volumes.size(), 1u);
  EXPECT_TRUE(web.volumes[0].read_only);
  EXPECT_EQ(web.env.at("PORT"), "8080");
  EXPECT_EQ(web.health_path, "/h");
  EXPECT_EQ(web.resources.memory_bytes, 64ll << 20);
  EXPECT_EQ(web.resources.cpu_millis, 250);
  EXPECT_EQ(web.labels.at("wok.dev/revision"), "3");
  EXPECT_EQ(plan.instances[3].image, "oci:/img:1");
  EXPECT_TRUE(plan.instances[3].volumes.empty());
  EXPECT_EQ(plan.max_body_bytes, 0u);  // the router's limit
  EXPECT_FALSE(plan.least_connections);
  spec["maxBodySize"] = "2Mi";
  spec["app"]["components"][1]["balance"] = "least-connections";
  spec["app"]["components"][2]["balance"] = "round-robin";  // not routed: no effect
  plan = plan_workloads("p", "s", "uid1", spec, 3, "/data/rev/3", "/data/storage");
  EXPECT_EQ(plan.max_body_bytes, 2u << 20);
  EXPECT_TRUE(plan.least_connections);
  // "web" is routed wherever it is listed (as on Kubernetes), not the
  // first component with a port.
  std::swap(spec["app"]["components"][1], spec["app"]["components"][2]);
  plan = plan_workloads("p", "s", "uid1", spec, 3, "/data/rev/3", "/data/storage");
  EXPECT_EQ(plan.port, 8080);
  EXPECT_EQ(plan.routed, (std::vector<std::string>{"p.s.web.r3.0", "p.s.web.r3.1"}));
  EXPECT_TRUE(plan.least_connections);
}

TEST(PlanWorkloads, PhpMountsTheRevisionReadOnlyAndStorageReadWrite) {
  json spec =
      json::parse(R"({"mode": "php", "php": {"docroot": "public", "ini": {"memory_limit": "64M"}},
      "storage": [{"name": "uploads", "path": "public/uploads", "size": "1Gi"}]})");
  auto plan = plan_workloads("p", "blog", "u", spec, 7, "/d/rev/7", "/d/storage");
  ASSERT_EQ(plan.error, "");
  ASSERT_EQ(plan.instances.size(), 1u);
  EXPECT_TRUE(plan.php);
  EXPECT_EQ(plan.front_controller, "index.php");
  const auto& s = plan.instances[0];
  EXPECT_EQ(s.id, "p.blog.php.r7.0");
  ASSERT_EQ(s.volumes.size(), 2u);
  EXPECT_EQ(s.volumes[0].container_path, "/srv/site");
  EXPECT_TRUE(s.volumes[0].read_only);
  EXPECT_EQ(s.volumes[1].host_path, "/d/storage/uploads");
  EXPECT_EQ(s.volumes[1].container_path, "/srv/site/public/uploads");
  EXPECT_FALSE(s.volumes[1].read_only);
  EXPECT_TRUE(s.files.count("php-fpm.conf"));
  EXPECT_NE(s.files.at("php-fpm.conf").find("/srv/site/public"), std::string::npos);
}

}  // namespace
}  // namespace wok::controllers
