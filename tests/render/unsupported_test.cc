// render::unsupported_on: what one platform cannot run, named by field.
// The cases `wok up` refused before (autoscale, jobs, secrets, app storage)
// now run there: nothing is unsupported on the embedded platform.
#include "render/unsupported.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "render/render.h"

namespace wok::render {
namespace {
using nlohmann::json;

json app_site() {
  return json::parse(R"({
    "apiVersion": "wok.dev/v1alpha1", "kind": "Site",
    "metadata": {"name": "shop", "namespace": "team-a"},
    "spec": {"mode": "app", "hosts": ["shop.team-a.example.org"],
      "source": {"git": {"url": "https://git.example.org/shop.git"}},
      "app": {"components": [
          {"name": "web", "image": "docker://registry.example.org/shop:1", "port": 8080, "secrets": ["db"]},
          {"name": "worker", "command": ["python3", "worker.py"]}],
        "autoscale": {"minReplicas": 1, "maxReplicas": 4, "targetRequestsPerSecond": 50},
        "jobs": [{"name": "nightly", "schedule": "0 3 * * *", "command": ["true"]}]},
      "storage": [{"name": "data", "path": "data", "size": "1Gi"}]}})");
}

TEST(UnsupportedOn, WhatWokUpRefusedBeforeRunsOnBothPlatforms) {
  json site = app_site();
  EXPECT_TRUE(unsupported_on(Platform::kEmbedded, site).empty());
  EXPECT_TRUE(unsupported_on(Platform::kKubernetes, site).empty());
  EXPECT_EQ(describe(unsupported_on(Platform::kKubernetes, site)), "");
}

// Backups, restores and clones run on both, a clone from another project
// too (on a cluster through a one-time repository, kube/site_transfer.h).
TEST(UnsupportedOn, BackupsAndClonesRunOnBoth) {
  json site = app_site();
  site["spec"]["backup"] = {{"schedule", "0 3 * * *"}};
  site["spec"]["cloneFrom"] = {{"site", "blog"}, {"backup", "latest"}};
  EXPECT_EQ(describe(unsupported_on(Platform::kKubernetes, site)), "");
  site["spec"]["cloneFrom"]["project"] = "team-a";
  EXPECT_EQ(describe(unsupported_on(Platform::kKubernetes, site)), "");
  site["spec"]["cloneFrom"]["project"] = "team-b";
  EXPECT_EQ(describe(unsupported_on(Platform::kKubernetes, site)), "");
  EXPECT_TRUE(unsupported_on(Platform::kEmbedded, site).empty());
}

TEST(UnsupportedOn, AnImageOnThisMachineIsNotForAClusterAndIsNamedByField) {
  json site = app_site();
  site["spec"]["app"]["components"][0]["image"] = "oci:/srv/images/shop:1";
  EXPECT_TRUE(unsupported_on(Platform::kEmbedded, site).empty());
  auto list = unsupported_on(Platform::kKubernetes, site);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].field, "spec.app.components[0].image");
  EXPECT_NE(list[0].message.find("cannot pull"), std::string::npos) << list[0].message;
  // The Kubernetes render refuses it with the same words.
  try {
    render_site(site, json::object(), PlatformSettings{});
    FAIL() << "rendered a local image for a cluster";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), describe(list));
  }
}

// oauth2-proxy lets in users matching both lists: a spec that would mean
// more on wok up than on a cluster is refused there, by field; a user claim
// other than email is the cluster's too (oauth2-proxy reads it as its email).
TEST(UnsupportedOn, OidcListsOauth2ProxyCannotMeanAlike) {
  json site = app_site();
  site["spec"]["app"]["components"][0]["image"] = "registry.example.org/shop:1";
  site["spec"]["access"]["oidc"] = {{"issuer", "https://id.example.org"},
                                    {"clientID", "shop"},
                                    {"secretName", "shop-oidc"},
                                    {"allowedGroups", {"staff"}}};
  EXPECT_TRUE(unsupported_on(Platform::kKubernetes, site).empty());
  EXPECT_TRUE(unsupported_on(Platform::kOpenShift, site).empty());
  site["spec"]["access"]["oidc"]["allowedUsers"] = {"alice@example.org"};
  auto both = unsupported_on(Platform::kKubernetes, site);
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0].field, "spec.access.oidc.allowedUsers");
  EXPECT_TRUE(unsupported_on(Platform::kEmbedded, site).empty());
  site["spec"]["access"]["oidc"].erase("allowedGroups");
  site["spec"]["access"]["oidc"]["userClaim"] = "preferred_username";
  EXPECT_TRUE(unsupported_on(Platform::kOpenShift, site).empty());
}

TEST(UnsupportedOn, JunkIsNotACrash) {
  for (const char* junk :
       {"null", "[]", R"({"spec": 3})", R"({"spec": {"app": {"components": [3, {"image": 4}]}}})"})
    EXPECT_TRUE(unsupported_on(Platform::kKubernetes, json::parse(junk)).empty()) << junk;
}

}  // namespace
}  // namespace wok::render
