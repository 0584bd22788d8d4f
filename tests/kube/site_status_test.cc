#include "kube/site_status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube/ownership.h"

namespace wok::kube {
namespace {

using nlohmann::json;

json site(const std::string& ns, const std::string& name, const std::string& created, json hosts) {
  return {{"metadata",
           {{"namespace", ns}, {"name", name}, {"creationTimestamp", created}, {"generation", 3}}},
          {"spec", {{"hosts", hosts}}}};
}

json condition(const json& status, const std::string& type) {
  for (const auto& c : status["conditions"]) {
    if (c["type"] == type) return c;
  }
  return nullptr;
}

TEST(HostConflict, TheOlderClaimWins) {
  json a = site("a", "www", "2024-01-01T00:00:00Z", {"x.test"});
  json b = site("b", "www", "2024-01-02T00:00:00Z", {"y.test", "x.test"});
  EXPECT_EQ(host_conflict(b, {a, b}), "host x.test is claimed by site a/www");
  EXPECT_EQ(host_conflict(a, {a, b}), "");
  json c = site("c", "www", "2024-01-02T00:00:00Z", {"x.test"});  // same time: by name
  EXPECT_EQ(host_conflict(c, {b, c}), "host x.test is claimed by site b/www");
  EXPECT_EQ(host_conflict(b, {b, c}), "");
}

TEST(SiteStatus, ReadyOnlyWhenEverythingOwnedIsServing) {
  json s = site("a", "www", "t", {"www.a.test"});
  json deployment = {{"kind", "Deployment"},
                     {"metadata", {{"name", "www"}, {"generation", 2}}},
                     {"spec", {{"replicas", 2}}},
                     {"status", {{"observedGeneration", 2}, {"availableReplicas", 1}}}};
  json ingress = {{"kind", "Ingress"}, {"metadata", {{"name", "www"}}}};
  json claim = {{"kind", "PersistentVolumeClaim"},
                {"metadata", {{"name", "data"}}},
                {"status", {{"phase", "Pending"}}}};
  json status = site_status(s, {deployment, ingress, claim}, {}, json::object(), "T1");
  EXPECT_EQ(condition(status, "Ready")["reason"], "Progressing");
  EXPECT_EQ(condition(status, "Available")["message"], "deployment www is not available");
  EXPECT_EQ(status["observedGeneration"], 3);
  EXPECT_EQ(status["urls"][0], "http://www.a.test/");

  deployment["status"]["availableReplicas"] = 2;
  status = site_status(s, {deployment, ingress, claim}, {}, status, "T2");
  EXPECT_EQ(condition(status, "Ready")["reason"], "StoragePending");
  EXPECT_EQ(condition(status, "Ready")["lastTransitionTime"], "T1");  // still False: kept
  claim["status"]["phase"] = "Bound";
  status = site_status(s, {deployment, ingress, claim}, {}, status, "T3");
  EXPECT_EQ(condition(status, "Ready")["reason"], "IngressPending");
  ingress["status"] = {{"loadBalancer", {{"ingress", json::array({{{"hostname", "lb"}}})}}}};
  status = site_status(s, {deployment, ingress, claim}, {}, status, "T4");
  EXPECT_EQ(condition(status, "Ready")["status"], "True");
  EXPECT_EQ(condition(status, "Ready")["lastTransitionTime"], "T4");
  EXPECT_FALSE(status.contains("lastError"));

  // A Deployment whose new generation is not yet observed is not available.
  deployment["metadata"]["generation"] = 3;
  status = site_status(s, {deployment, ingress, claim}, {}, status, "T5");
  EXPECT_EQ(condition(status, "Ready")["status"], "False");
}

TEST(SiteStatus, RoutesAndBlockers) {
  json s = site("a", "www", "t", {"www.a.test"});
  json deployment = {
      {"kind", "Deployment"},
      {"metadata", {{"name", "www"}}},
      {"status", {{"conditions", json::array({{{"type", "Available"}, {"status", "True"}}})}}}};
  json route = {
      {"kind", "Route"},
      {"metadata", {{"name", "www"}}},
      {"status",
       {{"ingress", json::array({{{"conditions", json::array({{{"type", "Admitted"},
                                                               {"status", "True"}}})}}})}}}};
  EXPECT_EQ(condition(site_status(s, {deployment, route}, {}, nullptr, "T"), "Ready")["status"],
            "True");
  json status = site_status(
      s, {deployment}, {"HostConflict", "host www.a.test is claimed by site b/www"}, nullptr, "T");
  EXPECT_EQ(condition(status, "Ready")["reason"], "HostConflict");
  EXPECT_EQ(condition(status, "HostConflict")["status"], "True");
  EXPECT_EQ(status["lastError"], "host www.a.test is claimed by site b/www");
}

TEST(MergePatch, RemovedKeysBecomeNull) {
  json from = {{"a", 1}, {"b", {{"c", 1}, {"d", 2}}}, {"gone", true}};
  json to = {{"a", 1}, {"b", {{"c", 2}, {"d", 2}}}, {"new", "x"}};
  EXPECT_EQ(merge_patch(from, to), json({{"b", {{"c", 2}}}, {"gone", nullptr}, {"new", "x"}}));
}

TEST(Ownership, StampLabelsAndOwners) {
  Owner site{"wok.dev/v1alpha1", "Site", "www", "uid-1", "a"};
  json d = {{"kind", "Deployment"},
            {"metadata",
             {{"name", "www"}, {"namespace", "a"}, {"labels", {{"wok.dev/component", "web"}}}}}};
  stamp(d, site, kSiteLabel, "www");
  stamp(d, site, kSiteLabel, "www");  // idempotent
  EXPECT_EQ(d["metadata"]["labels"].size(), 3u);
  ASSERT_EQ(d["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(d["metadata"]["ownerReferences"][0]["uid"], "uid-1");
  json elsewhere = {{"kind", "ConfigMap"}, {"metadata", {{"name", "x"}, {"namespace", "b"}}}};
  stamp(elsewhere, site, kSiteLabel, "www");
  EXPECT_FALSE(elsewhere["metadata"].contains("ownerReferences"));  // not across namespaces
  json ns = {{"kind", "Namespace"}, {"metadata", {{"name", "a"}}}};
  stamp(ns, {"wok.dev/v1alpha1", "Project", "a", "uid-2", ""}, kProjectLabel, "a");
  EXPECT_EQ(ns["metadata"]["labels"]["wok.dev/project"], "a");
  EXPECT_FALSE(ns["metadata"].contains("ownerReferences"));
}

TEST(Ownership, ContainsIgnoresWhatTheServerAdds) {
  json desired = {{"spec",
                   {{"replicas", 1},
                    {"template", {{"containers", json::array({{{"name", "web"}}})}}},
                    {"empty", json::object()}}}};
  json live = {
      {"metadata", {{"uid", "u"}}},
      {"spec",
       {{"replicas", 1},
        {"template",
         {{"containers", json::array({{{"name", "web"}, {"imagePullPolicy", "Always"}}})}}}}},
      {"status", {{"ready", true}}}};
  EXPECT_TRUE(contains(live, desired));
  live["spec"]["replicas"] = 2;
  EXPECT_FALSE(contains(live, desired));
  live["spec"]["replicas"] = 1;
  live["spec"]["template"]["containers"].push_back({{"name", "sidecar"}});
  EXPECT_FALSE(contains(live, desired));
}

}  // namespace
}  // namespace wok::kube
