#pragma once
// Shared by the operator tests: a fake API, operators against it, and a
// small renderer whose output the tests control through the Site's spec.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "kube/fake_kube_api.h"
#include "kube/operator.h"

namespace wok::kube::testing {

inline const std::string kProjects = "/apis/wok.dev/v1alpha1/projects";
inline std::string sites_path(const std::string& ns) {
  return "/apis/wok.dev/v1alpha1/namespaces/" + ns + "/sites";
}
inline std::string object_path(const std::string& group_path, const std::string& ns,
                               const std::string& plural, const std::string& name) {
  return group_path + "/namespaces/" + ns + "/" + plural + "/" + name;
}

// spec.components -> a Deployment and a Service each; spec.hosts -> one
// Ingress to the first component; spec.storage -> PVCs. Projects become a
// Namespace and a ResourceQuota.
inline Renderer test_renderer() {
  Renderer r;
  r.project = [](const json& project, const render::PlatformSettings&) {
    std::string name = project["metadata"]["name"];
    return std::vector<json>{
        {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}},
        {{"apiVersion", "v1"},
         {"kind", "ResourceQuota"},
         {"metadata", {{"name", "wok-quota"}, {"namespace", name}}},
         {"spec", {{"hard", {{"pods", "10"}}}}}}};
  };
  r.site = [](const json& site, const json&, const render::PlatformSettings& settings) {
    std::string name = site["metadata"]["name"];
    std::vector<json> out;
    const json& spec = site["spec"];
    std::string first;
    for (const auto& c : spec.value("components", json::array())) {
      std::string component = c;
      if (first.empty()) first = component;
      json labels = {{"wok.dev/component", component}};
      out.push_back({{"apiVersion", "apps/v1"},
                     {"kind", "Deployment"},
                     {"metadata", {{"name", name + "-" + component}, {"labels", labels}}},
                     {"spec",
                      {{"replicas", 1},
                       {"template",
                        {{"spec",
                          {{"containers",
                            json::array({{{"name", component}, {"image", "wok:test"}}})}}}}}}}});
      out.push_back({{"apiVersion", "v1"},
                     {"kind", "Service"},
                     {"metadata", {{"name", name + "-" + component}, {"labels", labels}}},
                     {"spec", {{"ports", json::array({{{"port", 80}}})}}}});
    }
    json rules = json::array();
    for (const auto& h : spec.value("hosts", json::array())) rules.push_back({{"host", h}});
    if (!rules.empty() && !first.empty()) {
      out.push_back({{"apiVersion", "networking.k8s.io/v1"},
                     {"kind", "Ingress"},
                     {"metadata", {{"name", name}}},
                     {"spec", {{"ingressClassName", settings.ingress_class}, {"rules", rules}}}});
    }
    for (const auto& s : spec.value("storage", json::array())) {
      out.push_back({{"apiVersion", "v1"},
                     {"kind", "PersistentVolumeClaim"},
                     {"metadata", {{"name", name + "-" + s.get<std::string>()}}},
                     {"spec", {{"resources", {{"requests", {{"storage", "1Gi"}}}}}}}});
    }
    return out;
  };
  return r;
}

inline json project(const std::string& name) {
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Project"},
          {"metadata", {{"name", name}}},
          {"spec", {{"hosts", json::array({"*." + name + ".test"})}}}};
}

inline json site(const std::string& ns, const std::string& name, json components, json hosts) {
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Site"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"mode", "app"}, {"components", components}, {"hosts", hosts}}}};
}

// Polls until pred() holds; false after a generous deadline.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::seconds deadline = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(api_.start(&error)) << error;
  }
  void TearDown() override {
    operators_.clear();
    clients_.clear();
    api_.stop();
  }

  Operator& start_operator(const std::string& agent = "wok-operator/a", bool leader_elect = false,
                           Renderer renderer = test_renderer()) {
    Credentials creds;
    creds.server = api_.url();
    clients_.push_back(std::make_unique<KubeClient>(creds, agent));
    OperatorConfig config;
    config.renderer = std::move(renderer);
    // The fixture's sites are shaped for its fake renderer, not the validator.
    config.check_sites = renderer_checks_;
    config.bounds = bounds_;
    config.follow_git = follow_git_;
    config.allow_local_sources = allow_local_sources_;
    config.mirror_dir = mirror_dir_;
    config.min_refresh_gap = min_refresh_gap_;
    config.record_revisions = record_revisions_;
    config.revision_history_limit = revision_history_limit_;
    config.settings = settings_;
    config.leader_elect = leader_elect;
    config.lease.identity = agent;
    config.lease.lease_duration = std::chrono::seconds(3);
    config.lease.renew_deadline = std::chrono::seconds(2);
    config.lease.retry_period = std::chrono::milliseconds(200);
    operators_.push_back(std::make_unique<Operator>(*clients_.back(), config));
    operators_.back()->start();
    return *operators_.back();
  }

  std::optional<json> deployment(const std::string& ns, const std::string& name) {
    return api_.get(object_path("/apis/apps/v1", ns, "deployments", name));
  }
  std::optional<json> ingress(const std::string& ns, const std::string& name) {
    return api_.get(object_path("/apis/networking.k8s.io/v1", ns, "ingresses", name));
  }
  std::optional<json> get_site(const std::string& ns, const std::string& name) {
    return api_.get(sites_path(ns) + "/" + name);
  }
  // The Ready condition's reason, or "" while there is none.
  std::string ready_reason(const std::string& ns, const std::string& name) {
    auto s = get_site(ns, name);
    if (!s || !s->contains("status")) return "";
    for (const auto& c : (*s)["status"].value("conditions", json::array())) {
      if (c["type"] == "Ready")
        return c["status"] == "True" ? "Ready" : c["reason"].get<std::string>();
    }
    return "";
  }
  // What the Deployment and Ingress controllers of a real cluster would do.
  void mark_serving(const std::string& ns) {
    for (auto& d : api_.list("/apis/apps/v1/deployments")) {
      if (d["metadata"]["namespace"] != ns) continue;
      api_.set_status(object_path("/apis/apps/v1", ns, "deployments", d["metadata"]["name"]),
                      {{"observedGeneration", d["metadata"]["generation"]},
                       {"availableReplicas", 1},
                       {"conditions", json::array({{{"type", "Available"}, {"status", "True"}}})}});
    }
    for (auto& i : api_.list("/apis/networking.k8s.io/v1/ingresses")) {
      if (i["metadata"]["namespace"] != ns) continue;
      api_.set_status(
          object_path("/apis/networking.k8s.io/v1", ns, "ingresses", i["metadata"]["name"]),
          {{"loadBalancer", {{"ingress", json::array({{{"ip", "10.0.0.1"}}})}}}});
    }
  }
  // A steady state makes no writes: count them over a quiet period.
  // A pod `pod` of Job `job` in `ns` that ended, its container `container`
  // (an init container when `init`) having said `message` (its termination
  // message, as the kubelet keeps it). `owned`: the Job's own pod (a
  // controller ownerReference to its uid); else one that only carries its
  // label, which any pod may.
  void job_pod_said(const std::string& ns, const std::string& job, const std::string& pod,
                    const std::string& container, const std::string& message, bool owned = true,
                    bool init = false) {
    const std::string pods = "/api/v1/namespaces/" + ns + "/pods";
    json meta = {{"name", pod}, {"labels", {{"job-name", job}}}};
    if (owned) {
      const std::string uid =
          (*api_.get("/apis/batch/v1/namespaces/" + ns + "/jobs/" + job))["metadata"]["uid"];
      meta["ownerReferences"] = {{{"kind", "Job"}, {"uid", uid}, {"controller", true}}};
    }
    api_.create(pods, {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}});
    api_.set_status(pods + "/" + pod,
                    {{"phase", "Succeeded"},
                     {init ? "initContainerStatuses" : "containerStatuses",
                      {{{"name", container},
                        {"state", {{"terminated", {{"exitCode", 0}, {"message", message}}}}}}}}});
  }

  int writes_during_quiet_period(const std::string& agent = "") {
    // The pass under way finishes first (its status, then the events of
    // that status, land a moment apart on a loaded machine): the quiet
    // period starts after 300 ms without a write, 3 s at most.
    for (int waited = 0, last = api_.writes(agent), still = 0; waited < 3000 && still < 300;
         waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int now = api_.writes(agent);
      still = now == last ? still + 50 : 0;
      last = now;
    }
    int before = api_.writes(agent);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return api_.writes(agent) - before;
  }

  FakeKubeApi api_;
  std::vector<std::unique_ptr<KubeClient>> clients_;
  std::vector<std::unique_ptr<Operator>> operators_;
  // Tests of the operator's own checks of a Site: real sites, the real renderer.
  bool renderer_checks_ = false;
  api::SiteBounds bounds_{.command = "wok operator"};
  // Tests of following git: real repositories on this machine.
  bool follow_git_ = false;
  bool allow_local_sources_ = true;
  std::string mirror_dir_ = "/tmp/wok-operator-test-mirrors";
  std::chrono::milliseconds min_refresh_gap_{1000};
  // Tests of revisions (revisions_test.cc); off elsewhere so that write counts stay those of the
  // render.
  bool record_revisions_ = false;
  int revision_history_limit_ = 10;
  wok::render::PlatformSettings settings_;  // the operator's flags
};

}  // namespace wok::kube::testing
