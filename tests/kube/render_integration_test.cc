// The operator with the real render layer, on the example project and site:
// every rendered kind is one it can apply, everything is labelled and owned,
// and the result is stable.
#include <fstream>
#include <sstream>

#include "api/codec.h"
#include "kube/operator_fixture.h"

#ifndef WOK_SOURCE_DIR
#define WOK_SOURCE_DIR "."
#endif

namespace wok::kube::testing {
namespace {

TEST_F(OperatorTest, AppliesTheRealRenderOfTheExamples) {
  std::ifstream in(std::string(WOK_SOURCE_DIR) + "/examples/team-a.yaml");
  ASSERT_TRUE(in) << "examples/team-a.yaml";
  std::stringstream text;
  text << in.rdbuf();
  std::vector<json> docs;
  std::string error;
  ASSERT_TRUE(api::parse_documents(text.str(), &docs, &error)) << error;
  for (auto& doc : docs) {
    if (doc["kind"] == "Project")
      api_.create(kProjects, doc);
    else
      api_.create(sites_path(doc["metadata"]["namespace"]), doc);
  }
  Operator& op = start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(eventually([&] {
    for (const auto& d : api_.list("/apis/apps/v1/deployments")) {
      if (d["metadata"]["labels"].value("wok.dev/site", "") == "www") return true;
    }
    return false;
  }));
  ASSERT_TRUE(
      eventually([&] { return !api_.list("/apis/networking.k8s.io/v1/ingresses").empty(); }));
  // Converged: the site's status is written and the project's last objects exist.
  ASSERT_TRUE(eventually([&] {
    return ready_reason("team-a", "www") == "Progressing" &&
           !api_.list("/apis/networking.k8s.io/v1/networkpolicies").empty() &&
           api_.list("/apis/rbac.authorization.k8s.io/v1/rolebindings").size() == 2;
  }));
  // Then it settles: a pass still under way on a loaded machine may write
  // once more, but an operator that keeps writing never gets a quiet period.
  bool settled = false;
  for (int i = 0; i < 10 && !settled; ++i) settled = writes_during_quiet_period() == 0;
  EXPECT_TRUE(settled);
  EXPECT_NE(op.metrics().find("wok_operator_reconcile_errors_total 0\n"), std::string::npos)
      << op.metrics();
  for (const char* collection :
       {"/apis/apps/v1/deployments", "/api/v1/services", "/apis/networking.k8s.io/v1/ingresses"}) {
    for (const auto& o : api_.list(collection)) {
      EXPECT_EQ(o["metadata"]["labels"]["app.kubernetes.io/managed-by"], "wok") << o.dump();
      EXPECT_EQ(o["metadata"]["labels"]["wok.dev/site"], "www") << o.dump();
      EXPECT_EQ(o["metadata"]["ownerReferences"][0]["kind"], "Site") << o.dump();
      EXPECT_EQ(o["metadata"]["namespace"], "team-a");
    }
  }
}

}  // namespace
}  // namespace wok::kube::testing
