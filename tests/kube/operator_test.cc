// The operator against the scripted API: convergence, ownership, no
// duplicate or repeated writes, pruning, host conflicts.
#include <fstream>
#include <sstream>

#include "api/base64.h"
#include "certs/certificate.h"
#include "cmd/cli.h"
#include "git/repository.h"
#include "kube/clone_grant.h"
#include "kube/operator_fixture.h"
#include "kube/site_backups.h"
#include "kube/site_rollout.h"
#include "render/transfer.h"

namespace wok::kube::testing {
namespace {

const std::string kApps = "/apis/apps/v1";

TEST_F(OperatorTest, ConvergesWithLabelsAndOwnersThenWritesNothing) {
  api_.create(kProjects, project("team-a"));
  json www = api_.create(sites_path("team-a"),
                         site("team-a", "www", {"web", "worker"}, {"www.team-a.test"}));
  Operator& op = start_operator();

  ASSERT_TRUE(eventually([&] {
    return deployment("team-a", "www-web") && deployment("team-a", "www-worker") &&
           ingress("team-a", "www") && api_.get("/api/v1/namespaces/team-a");
  }));
  auto web = *deployment("team-a", "www-web");
  EXPECT_EQ(web["metadata"]["labels"]["app.kubernetes.io/managed-by"], "wok");
  EXPECT_EQ(web["metadata"]["labels"]["wok.dev/site"], "www");
  EXPECT_EQ(web["metadata"]["labels"]["wok.dev/component"], "web");  // the render's own label kept
  ASSERT_EQ(web["metadata"]["ownerReferences"].size(), 1u);
  const json& owner = web["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["kind"], "Site");
  EXPECT_EQ(owner["name"], "www");
  EXPECT_EQ(owner["uid"], www["metadata"]["uid"]);
  EXPECT_EQ(owner["controller"], true);

  auto ns = *api_.get("/api/v1/namespaces/team-a");
  EXPECT_EQ(ns["metadata"]["labels"]["wok.dev/project"], "team-a");
  EXPECT_FALSE(ns["metadata"].contains("ownerReferences"));  // deleting a Project keeps the data
  auto quota = *api_.get("/api/v1/namespaces/team-a/resourcequotas/wok-quota");
  EXPECT_EQ(quota["metadata"]["ownerReferences"][0]["kind"], "Project");

  // Not ready until the cluster's controllers report; then Ready.
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "www") == "Progressing"; }));
  mark_serving("team-a");
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "www") == "Ready"; }));
  auto status = (*get_site("team-a", "www"))["status"];
  EXPECT_EQ(status["observedGeneration"], 1);
  EXPECT_EQ(status["urls"][0], "http://www.team-a.test/");

  EXPECT_EQ(writes_during_quiet_period(), 0);
  // Each object was applied once: status changes of owned objects re-run
  // the reconciler, which finds nothing to do.
  EXPECT_EQ(api_.count("PATCH", "/deployments/www-web?"), 1);
  EXPECT_EQ(api_.count("PATCH", "/deployments/www-worker?"), 1);
  EXPECT_EQ(api_.count("PATCH", "/ingresses/www?"), 1);
  EXPECT_EQ(api_.count("PATCH", "/namespaces/team-a?"), 1);
  EXPECT_EQ(api_.list("/apis/apps/v1/deployments").size(), 2u);
  EXPECT_TRUE(op.synced());
  EXPECT_TRUE(op.ready());
  EXPECT_NE(op.metrics().find("wok_operator_applies_total 7"), std::string::npos) << op.metrics();
  // Its passes are run by the reconcile library's controller, whose counts it exports.
  EXPECT_NE(op.metrics().find("wok_reconcile_total{controller=\"operator\"} "), std::string::npos)
      << op.metrics();
  EXPECT_NE(op.metrics().find("wok_reconcile_errors_total{controller=\"operator\"} 0\n"),
            std::string::npos)
      << op.metrics();
}

TEST_F(OperatorTest, PrunesWhatANewRevisionNoLongerRenders) {
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), site("team-a", "www", {"web", "worker"}, {"www.team-a.test"}));
  start_operator();
  ASSERT_TRUE(eventually([&] {
    return deployment("team-a", "www-worker") && ingress("team-a", "www") &&
           api_.get("/api/v1/namespaces/team-a/resourcequotas/wok-quota");
  }));

  // Drop a component: its Deployment and Service go, the rest stays.
  api_.update(sites_path("team-a") + "/www", site("team-a", "www", {"web"}, {"www.team-a.test"}));
  ASSERT_TRUE(eventually([&] { return !deployment("team-a", "www-worker"); }));
  EXPECT_TRUE(
      eventually([&] { return !api_.get("/api/v1/namespaces/team-a/services/www-worker"); }));
  EXPECT_TRUE(deployment("team-a", "www-web"));
  EXPECT_TRUE(ingress("team-a", "www"));

  // Drop the hosts: the Ingress goes.
  api_.update(sites_path("team-a") + "/www", site("team-a", "www", {"web"}, json::array()));
  ASSERT_TRUE(eventually([&] { return !ingress("team-a", "www"); }));
  EXPECT_TRUE(deployment("team-a", "www-web"));

  // Objects wok does not manage are left alone, even with a matching name pattern.
  api_.create(kApps + "/namespaces/team-a/deployments",
              {{"apiVersion", "apps/v1"},
               {"kind", "Deployment"},
               {"metadata", {{"name", "www-handmade"}, {"labels", {{"wok.dev/site", "www"}}}}}});
  // Delete the site: everything it owned goes.
  api_.remove(sites_path("team-a") + "/www");
  ASSERT_TRUE(eventually([&] { return !deployment("team-a", "www-web"); }));
  EXPECT_TRUE(eventually([&] { return !api_.get("/api/v1/namespaces/team-a/services/www-web"); }));
  EXPECT_TRUE(deployment("team-a", "www-handmade"));
  EXPECT_TRUE(api_.get("/api/v1/namespaces/team-a"));  // namespaces are never pruned
  EXPECT_EQ(writes_during_quiet_period(), 0);
}

TEST_F(OperatorTest, RefusesAHostAnotherSiteClaimed) {
  api_.create(kProjects, project("team-a"));
  api_.create(kProjects, project("team-b"));
  api_.create(sites_path("team-a"), site("team-a", "www", {"web"}, {"shared.test"}));
  api_.create(sites_path("team-b"), site("team-b", "copy", {"web"}, {"other.test", "shared.test"}));
  start_operator();

  ASSERT_TRUE(eventually([&] { return ready_reason("team-b", "copy") == "HostConflict"; }));
  ASSERT_TRUE(eventually([&] { return ingress("team-a", "www").has_value(); }));
  auto status = (*get_site("team-b", "copy"))["status"];
  EXPECT_EQ(status["lastError"], "host shared.test is claimed by site team-a/www");
  EXPECT_TRUE(deployment("team-b", "copy-web"));  // the rest of the site runs
  EXPECT_FALSE(ingress("team-b", "copy"));        // but serves no host
  EXPECT_NE(ready_reason("team-a", "www"), "HostConflict");

  // The first claimant goes away: the other site gets its hosts.
  api_.remove(sites_path("team-a") + "/www");
  ASSERT_TRUE(eventually([&] { return ingress("team-b", "copy").has_value(); }));
  EXPECT_TRUE(eventually([&] { return ready_reason("team-b", "copy") == "Progressing"; }));
  const auto copy = get_site("team-b", "copy");  // a named object: the loop must not outlive it
  for (const auto& c : (*copy)["status"]["conditions"]) {
    if (c["type"] == "HostConflict") {
      EXPECT_EQ(c["status"], "False");
    }
  }
}

// Site "a" with a component "b-web" and site "a-b" with "web" render the
// same names (Deployment and Service "a-b-web"): the first keeps them, the
// other is told, and gets them once the first is gone.
TEST_F(OperatorTest, TwoSitesOfAProjectThatMakeTheSameNames) {
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), site("team-a", "a", {"b-web"}, {"a.team-a.test"}));
  start_operator();
  ASSERT_TRUE(eventually([&] { return deployment("team-a", "a-b-web").has_value(); }));
  api_.create(sites_path("team-a"), site("team-a", "a-b", {"web", "api"}, {"ab.team-a.test"}));
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "a-b") == "NameConflict"; }));
  auto status = (*get_site("team-a", "a-b"))["status"];
  EXPECT_EQ(status["lastError"],
            "deployment a-b-web is site team-a/a's (and 1 more of its names): two sites of the "
            "project make the same names (a site and a component of another joined by -); rename "
            "one");
  // Its objects stay site a's; the rest of a-b runs.
  EXPECT_EQ((*deployment("team-a", "a-b-web"))["metadata"]["labels"]["wok.dev/site"], "a");
  EXPECT_EQ(
      (*api_.get(
          "/api/v1/namespaces/team-a/services/a-b-web"))["metadata"]["labels"]["wok.dev/site"],
      "a");
  EXPECT_TRUE(deployment("team-a", "a-b-api"));
  EXPECT_NE(ready_reason("team-a", "a"), "NameConflict");
  // Site a goes: a-b gets its names.
  api_.remove(sites_path("team-a") + "/a");
  ASSERT_TRUE(eventually([&] {
    auto d = deployment("team-a", "a-b-web");
    return d && (*d)["metadata"]["labels"].value("wok.dev/site", "") == "a-b";
  }));
  EXPECT_TRUE(eventually([&] { return ready_reason("team-a", "a-b") != "NameConflict"; }));
}

TEST_F(OperatorTest, ReportsAMissingProjectWithoutApplying) {
  api_.create(sites_path("ghost"), site("ghost", "www", {"web"}, {"www.ghost.test"}));
  start_operator();
  ASSERT_TRUE(eventually([&] { return ready_reason("ghost", "www") == "ProjectNotFound"; }));
  EXPECT_FALSE(deployment("ghost", "www-web"));
  api_.create(kProjects, project("ghost"));
  EXPECT_TRUE(eventually([&] { return deployment("ghost", "www-web").has_value(); }));
}

// What happens to a site is said as core/v1 Events about it (what
// `kubectl describe site` shows): once per transition, counted up when said
// again, none while nothing changes; a Warning for what blocks a site.
TEST_F(OperatorTest, SaysWhatHappensToASiteAsEvents) {
  record_revisions_ = true;
  api_.create(kProjects, project("team-a"));
  json www = api_.create(sites_path("team-a"), site("team-a", "www", {"web"}, {"www.team-a.test"}));
  Operator& op = start_operator();
  auto event = [&](const std::string& ns, const std::string& reason) -> std::optional<json> {
    for (auto& e : api_.list("/api/v1/events"))
      if (e["metadata"]["namespace"] == ns && e["reason"] == reason) return e;
    return std::nullopt;
  };
  ASSERT_TRUE(eventually([&] { return event("team-a", "RevisionCreated").has_value(); }));
  EXPECT_EQ((*event("team-a", "RevisionCreated"))["message"], "revision 1: created (generation 1)");
  ASSERT_TRUE(eventually([&] { return event("team-a", "Progressing").has_value(); }));
  EXPECT_EQ((*event("team-a", "Progressing"))["type"], "Normal");  // progress, not a problem

  mark_serving("team-a");
  ASSERT_TRUE(eventually([&] { return event("team-a", "Deployed").has_value(); }));
  json deployed = *event("team-a", "Deployed");
  EXPECT_EQ(deployed["type"], "Normal");
  EXPECT_EQ(deployed["message"], "the site is available");
  EXPECT_EQ(deployed["count"], 1);
  EXPECT_EQ(deployed["source"]["component"], "wok-operator");
  EXPECT_EQ(deployed["involvedObject"], json({{"apiVersion", "wok.dev/v1alpha1"},
                                              {"kind", "Site"},
                                              {"namespace", "team-a"},
                                              {"name", "www"},
                                              {"uid", www["metadata"]["uid"]}}));
  EXPECT_EQ(writes_during_quiet_period(), 0);

  // Its pods go unavailable and come back: the same events again count up.
  for (auto& d : api_.list("/apis/apps/v1/deployments"))
    api_.set_status(object_path("/apis/apps/v1", "team-a", "deployments", d["metadata"]["name"]),
                    {{"observedGeneration", d["metadata"]["generation"]},
                     {"availableReplicas", 0},
                     {"conditions", json::array({{{"type", "Available"}, {"status", "False"}}})}});
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "www") == "Progressing"; }));
  mark_serving("team-a");
  ASSERT_TRUE(eventually([&] { return (*event("team-a", "Deployed"))["count"] == 2; }));
  size_t said = api_.list("/api/v1/events").size();

  // A site of another project claiming its host: a Warning about that site.
  api_.create(kProjects, project("team-b"));
  api_.create(sites_path("team-b"), site("team-b", "copy", {"web"}, {"www.team-a.test"}));
  ASSERT_TRUE(eventually([&] { return event("team-b", "HostConflict").has_value(); }));
  json conflict = *event("team-b", "HostConflict");
  EXPECT_EQ(conflict["type"], "Warning");
  EXPECT_EQ(conflict["message"], "host www.team-a.test is claimed by site team-a/www");
  EXPECT_EQ(conflict["involvedObject"]["name"], "copy");
  EXPECT_FALSE(event("team-a", "HostConflict"));  // the older claim keeps its host, quietly
  EXPECT_EQ(writes_during_quiet_period(), 0);
  EXPECT_GT(api_.list("/api/v1/events").size(), said);
  EXPECT_NE(op.metrics().find("wok_operator_events_total "), std::string::npos);
}

// A real Site as a member would write it, for the operator's own checks.
json real_site(const std::string& ns, const std::string& name, const json& spec_extra) {
  json spec = {
      {"mode", "app"},
      {"hosts", {"www." + ns + ".test"}},
      {"source", {{"git", {{"url", "https://git.example.org/x.git"}}}}},
      {"app",
       {{"components", {{{"name", "web"}, {"command", {"node", "web.js"}}, {"port", 8080}}}}}}};
  spec.merge_patch(spec_extra);
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Site"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", spec}};
}

// spec.database: the password Secret is made once with a random password
// (never by the render, never again), a project's own is kept, and the
// server, its Service and its NetworkPolicy are applied.
TEST_F(OperatorTest, MakesADatabasesPasswordOnceAndKeepsTheProjectsOwn) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  api_.create(
      sites_path("team-a"),
      real_site("team-a", "www", {{"database", {{"engine", "postgresql"}, {"size", "1Gi"}}}}));
  json own = real_site(
      "team-a", "shop",
      {{"hosts", {"shop.team-a.test"}}, {"database", {{"engine", "mariadb"}, {"size", "1Gi"}}}});
  api_.create("/api/v1/namespaces/team-a/secrets",
              {{"apiVersion", "v1"},
               {"kind", "Secret"},
               {"metadata", {{"name", "shop-db"}, {"namespace", "team-a"}}},
               {"stringData", {{"password", "the-projects-own-password"}}}});
  api_.create(sites_path("team-a"), own);
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(eventually([&] {
    return api_.get(kApps + "/namespaces/team-a/statefulsets/www-db") &&
           api_.get(kApps + "/namespaces/team-a/statefulsets/shop-db") &&
           api_.get("/api/v1/namespaces/team-a/services/www-db") &&
           api_.get("/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies/www-db") &&
           // both sites' second passes (the revision their status names,
           // stamped into the pod templates): the last writes
           api_.get("/apis/batch/v1/namespaces/team-a/cronjobs/www-backup") &&
           api_.get("/apis/batch/v1/namespaces/team-a/cronjobs/shop-backup") &&
           deployment("team-a", "www-web")->dump().find("wok.dev/revision") != std::string::npos &&
           deployment("team-a", "shop-web")->dump().find("wok.dev/revision") != std::string::npos;
  }));
  auto secret = api_.get("/api/v1/namespaces/team-a/secrets/www-db");
  ASSERT_TRUE(secret);
  EXPECT_EQ((*secret)["type"], "kubernetes.io/basic-auth");
  EXPECT_EQ((*secret)["stringData"]["username"], "www");
  const std::string password = (*secret)["stringData"]["password"];
  EXPECT_GE(password.size(), 40u);
  // Not the operator's to prune: the password outlives the site with its data.
  EXPECT_FALSE((*secret)["metadata"].contains("ownerReferences"));
  // www-db's and the project's backup key (which both sites' passes may
  // make at once: the second gets 409); shop-db is the project's own.
  EXPECT_GE(api_.count("POST", "/secrets"), 2);
  EXPECT_LE(api_.count("POST", "/secrets"), 3);
  // Settled (the second passes of two sites with their backups may still
  // be writing), then nothing more: no password made again.
  eventually([&] { return writes_during_quiet_period() == 0; }, std::chrono::seconds(10));
  EXPECT_EQ(writes_during_quiet_period(), 0);
  EXPECT_LE(api_.count("POST", "/secrets"), 3);
  EXPECT_EQ((*api_.get("/api/v1/namespaces/team-a/secrets/www-db"))["stringData"]["password"],
            password);
  EXPECT_EQ((*api_.get("/api/v1/namespaces/team-a/secrets/shop-db"))["stringData"]["password"],
            "the-projects-own-password");
  // The components read it; the database answers to the site's pods only.
  auto web = *deployment("team-a", "www-web");
  const json& env = web["spec"]["template"]["spec"]["containers"][0]["env"];
  EXPECT_EQ(env[0]["name"], "DB_PASSWORD");
  EXPECT_EQ(env[0]["valueFrom"]["secretKeyRef"]["name"], "www-db");
  // The volume claims the StatefulSet makes are not labelled as the
  // operator's own objects: it never takes them for leftovers to prune.
  auto set = *api_.get(kApps + "/namespaces/team-a/statefulsets/www-db");
  const json& claim_labels = set["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"];
  EXPECT_FALSE(claim_labels.contains("app.kubernetes.io/managed-by")) << claim_labels;
  EXPECT_FALSE(claim_labels.contains("wok.dev/site")) << claim_labels;
  auto policy = *api_.get("/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies/www-db");
  EXPECT_EQ(policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["wok.dev/site"],
            "www");
}

// Backups (docs/data.md, "On Kubernetes"): a site that keeps data gets its
// CronJob, its project a repository claim and key made once; a member's
// request (the annotation `wok backup create --kubeconfig` sets) becomes one
// Job of the CronJob's template, made once whatever happens after.
TEST_F(OperatorTest, BacksUpASiteThatKeepsDataAndMakesAJobWhenAsked) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"),
              real_site("team-a", "www",
                        {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}},
                         {"database", {{"engine", "mariadb"}, {"size", "1Gi"}}}}));
  json plain = real_site("team-a", "docs", {{"hosts", {"docs.team-a.test"}}});
  api_.create(sites_path("team-a"), plain);
  start_operator("wok-operator/a", false, default_renderer());
  const std::string cron = "/apis/batch/v1/namespaces/team-a/cronjobs/";
  ASSERT_TRUE(eventually([&] {
    auto s = get_site("team-a", "www");
    return api_.get(cron + "www-backup") && s && (*s)["status"].contains("backup") &&
           api_.get("/api/v1/namespaces/team-a") && ready_reason("team-a", "docs") != "";
  }));
  EXPECT_FALSE(api_.get(cron + "docs-backup"));  // nothing but its source
  auto job_spec = (*api_.get(cron + "www-backup"))["spec"];
  EXPECT_TRUE(job_spec["suspend"].get<bool>());
  auto claim = api_.get("/api/v1/namespaces/team-a/persistentvolumeclaims/wok.backups");
  ASSERT_TRUE(claim);
  EXPECT_EQ((*claim)["spec"]["resources"]["requests"]["storage"], "10Gi");
  EXPECT_EQ((*claim)["spec"]["accessModes"][0], "ReadWriteOnce");
  // Never pruned: no owner, not labelled as the operator's.
  EXPECT_FALSE((*claim)["metadata"].contains("ownerReferences"));
  EXPECT_FALSE((*claim)["metadata"]["labels"].contains("app.kubernetes.io/managed-by"));
  auto key = api_.get("/api/v1/namespaces/team-a/secrets/wok.backup-key");
  ASSERT_TRUE(key);
  EXPECT_GE((*key)["stringData"]["password"].get<std::string>().size(), 40u);
  EXPECT_EQ((*get_site("team-a", "www"))["status"]["backup"]["schedule"], nullptr);

  // By hand: the CLI's request, as a member's kubeconfig sends it.
  Credentials creds;
  creds.server = api_.url();
  KubeClient member(creds, "wok-cli");
  RolloutResult refused = kube_backup_request(member, "team-a", "docs", "2026-12-04T10:00:00Z");
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.text.find("nothing a cluster backs up"), std::string::npos) << refused.text;
  RolloutResult asked = kube_backup_request(member, "team-a", "www", "2026-12-04T10:00:00Z");
  ASSERT_TRUE(asked.ok) << asked.text;
  const std::string name = backup_job_name("www", "2026-12-04T10:00:00Z");
  EXPECT_NE(asked.text.find("job " + name), std::string::npos) << asked.text;
  const std::string jobs = "/apis/batch/v1/namespaces/team-a/jobs/";
  ASSERT_TRUE(eventually([&] { return api_.get(jobs + name).has_value(); }));
  json job = *api_.get(jobs + name);
  const json& args = job["spec"]["template"]["spec"]["containers"][0]["args"];
  EXPECT_EQ(args[0], "backup-job");
  EXPECT_NE(args.dump().find(R"("--reason","manual")"), std::string::npos) << args;
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["kind"], "Site");
  EXPECT_EQ(job["spec"]["template"]["spec"]["initContainers"][0]["name"], "dump");
  ASSERT_TRUE(eventually(
      [&] { return (*get_site("team-a", "www"))["status"]["backup"].value("job", "") == name; }));
  // Seen once: later reconciles (another change of the site) make no other.
  auto patch = [&](const json& metadata) {
    Reply r = member.request("PATCH", sites_path("team-a") + "/www",
                             json{{"metadata", metadata}}.dump(), "application/merge-patch+json");
    ASSERT_TRUE(r.ok()) << r.describe();
  };
  patch({{"labels", {{"x", "y"}}}});
  EXPECT_EQ(writes_during_quiet_period("wok-operator"), 0);
  EXPECT_EQ(api_.count("POST", "/jobs"), 1);
  // A token no Job name can come from is ignored, and said so by nothing.
  patch({{"annotations", {{kBackupRequestAnnotation, std::string(200, 'x')}}}});
  writes_during_quiet_period();
  EXPECT_EQ(api_.count("POST", "/jobs"), 1);

  // The Job ends well: its container "backup" said the backup's id and
  // time (its termination message), which the next pass puts in
  // status.backup.last and lastTime, as wok up's.
  job_pod_said("team-a", name, name + "-p0d", "backup",
               R"({"id": "0a1b2c3d", "time": "2026-12-04T10:00:59Z"})");
  api_.set_status(jobs + name, {{"succeeded", 1}, {"completionTime", "2026-12-04T10:01:00Z"}});
  patch({{"labels", {{"x", "z"}}}});  // a pass
  auto backup_status = [&] { return (*get_site("team-a", "www"))["status"]["backup"]; };
  ASSERT_TRUE(eventually([&] { return backup_status().value("last", "") == "0a1b2c3d"; }))
      << backup_status().dump();
  EXPECT_EQ(backup_status()["lastTime"], "2026-12-04T10:00:59Z");
  // A newer Job that says no backup id (a list's), or a forged one: kept as it was.
  api_.create(jobs.substr(0, jobs.size() - 1),
              {{"apiVersion", "batch/v1"},
               {"kind", "Job"},
               {"metadata", {{"name", "www-list-1"}, {"labels", {{"wok.dev/backup", "www"}}}}}});
  job_pod_said("team-a", "www-list-1", "www-list-1-p0d", "backup", R"({"id": "../../x"})");
  api_.set_status(jobs + "www-list-1",
                  {{"succeeded", 1}, {"completionTime", "2026-12-04T11:00:00Z"}});
  patch({{"labels", {{"x", "w"}}}});
  writes_during_quiet_period();
  EXPECT_EQ(backup_status().value("last", ""), "0a1b2c3d");

  // The project has a repository now: its daily sweep, told the sites there
  // (their backups are kept; a deleted one's go when their retention ends).
  const std::string sweep = cron + "wok.backup-sweep";
  auto live_args = [&] {
    auto c = api_.get(sweep);
    return c ? (*c)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
                   .dump()
             : std::string();
  };
  const std::string www_uid = (*get_site("team-a", "www"))["metadata"]["uid"];
  const std::string docs_uid = (*get_site("team-a", "docs"))["metadata"]["uid"];
  ASSERT_TRUE(eventually([&] {
    return live_args().find("\"docs=" + docs_uid + "\"") != std::string::npos &&
           live_args().find("\"www=" + www_uid + "\"") != std::string::npos;
  })) << live_args();
  EXPECT_EQ((*api_.get(sweep))["metadata"]["ownerReferences"][0]["kind"], "Project");
  EXPECT_FALSE((*api_.get(sweep))["metadata"]["labels"].contains("wok.dev/site"));
  api_.remove(sites_path("team-a") + "/docs");
  ASSERT_TRUE(eventually([&] { return live_args().find("docs=") == std::string::npos; }))
      << live_args();
  EXPECT_NE(live_args().find("\"www=" + www_uid + "\""), std::string::npos);
  EXPECT_TRUE(api_.get("/api/v1/namespaces/team-a/persistentvolumeclaims/wok.backups"));
  // A site gone: a sweep runs now (not at 04:00), as a Job of the CronJob's
  // template told the sites left, owned by the Project; once, however
  // many passes follow.
  auto sweep_jobs = [&] {
    std::vector<json> out;
    for (const json& j : api_.list("/apis/batch/v1/jobs"))
      if (j["metadata"]["name"].get<std::string>().starts_with("wok.backup-sweep-"))
        out.push_back(j);
    return out;
  };
  ASSERT_TRUE(eventually([&] { return sweep_jobs().size() == 1; }));
  const json swept = sweep_jobs()[0];
  EXPECT_EQ(swept["metadata"]["ownerReferences"][0]["kind"], "Project");
  EXPECT_EQ(swept["metadata"]["labels"]["app.kubernetes.io/name"], "backup-sweep");
  const std::string swept_args = swept["spec"]["template"]["spec"]["containers"][0]["args"].dump();
  EXPECT_EQ(swept_args.find("docs="), std::string::npos) << swept_args;
  EXPECT_NE(swept_args.find("\"www=" + www_uid + "\""), std::string::npos) << swept_args;
  patch({{"labels", {{"x", "v"}}}});
  writes_during_quiet_period();
  EXPECT_EQ(sweep_jobs().size(), 1u);
}

// `wok backup list --kubeconfig` without a site: the project's backups,
// deleted sites' too. Asked through a site that keeps data (a member may
// patch Sites, not the Project); once no site is left, the list the last
// sweep printed (the operator ran one when the last site went).
TEST_F(OperatorTest, ListsAProjectsBackupsAlsoWhenItsSitesAreGone) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), real_site("team-a", "alpha", {{"hosts", {"a.team-a.test"}}}));
  api_.create(sites_path("team-a"),
              real_site("team-a", "www",
                        {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}}}));
  start_operator("wok-operator/a", false, default_renderer());
  const std::string cron = "/apis/batch/v1/namespaces/team-a/cronjobs/";
  ASSERT_TRUE(eventually([&] { return api_.get(cron + "wok.backup-sweep").has_value(); }));
  Credentials creds;
  creds.server = api_.url();
  KubeClient member(creds, "wok-cli");
  const std::string www_uid = (*get_site("team-a", "www"))["metadata"]["uid"];
  const std::string token = "2026-12-06T12:00:00Z";
  const std::string name = project_list_job_name(token);
  RolloutResult listed;
  std::thread cli(
      [&] { listed = kube_backup_list(member, "team-a", "", token, std::chrono::seconds(20)); });
  const std::string jobs = "/apis/batch/v1/namespaces/team-a/jobs/";
  ASSERT_TRUE(eventually([&] { return api_.get(jobs + name).has_value(); }));
  json job = *api_.get(jobs + name);
  // The whole repository of the namespace's project, whichever site carried it.
  EXPECT_EQ(job["spec"]["template"]["spec"]["containers"][0]["args"],
            json({"backup-job", "list", "--project", "team-a"}));
  EXPECT_EQ(job["metadata"]["labels"]["wok.dev/site"], "www");  // alpha keeps nothing
  const json items = {
      {{"id", "3f2a9c1d"}, {"site", "www"}, {"siteUid", www_uid}, {"time", "2026-12-06T11:00:00Z"}},
      {{"id", "4e5f6a7b"}, {"site", "www"}, {"siteUid", "uid-of-an-older-www"}},
      {{"id", "5a6b7c8d"}, {"site", "blog"}, {"siteUid", "uid-blog"}}};
  api_.create("/api/v1/namespaces/team-a/pods",
              {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", name + "-x7k2p"}, {"labels", {{"job-name", name}}}}},
               {"fakeLog", json{{"items", items}}.dump() + "\n"}});
  api_.set_status(jobs + name, {{"succeeded", 1}});
  cli.join();
  ASSERT_TRUE(listed.ok) << listed.text;
  json got = json::parse(listed.text);
  ASSERT_EQ(got["items"].size(), 3u);
  // Deleted: a site not there now, or a namesake made since (another uid).
  EXPECT_FALSE(got["items"][0]["siteDeleted"].get<bool>());
  EXPECT_TRUE(got["items"][1]["siteDeleted"].get<bool>());
  EXPECT_TRUE(got["items"][2]["siteDeleted"].get<bool>());
  EXPECT_FALSE(got.contains("listedAt"));
  std::string error;
  EXPECT_NE(cmd::backup_table(listed.text, &error).find("blog (deleted)"), std::string::npos);
  EXPECT_EQ(api_.count("POST", "/jobs"), 1);
  // A token no Job name can come from is ignored.
  Reply r = member.request(
      "PATCH", sites_path("team-a") + "/www",
      json{{"metadata", {{"annotations", {{kProjectBackupListAnnotation, std::string(200, 'x')}}}}}}
          .dump(),
      "application/merge-patch+json");
  ASSERT_TRUE(r.ok()) << r.describe();
  writes_during_quiet_period();
  EXPECT_EQ(api_.count("POST", "/jobs"), 1);

  // Its last sites deleted: the sweep the operator runs then is what lists.
  api_.remove(sites_path("team-a") + "/alpha");
  api_.remove(sites_path("team-a") + "/www");
  ASSERT_TRUE(eventually([&] {
    auto c = api_.get(cron + "wok.backup-sweep");
    return c && c->dump().find("--live") == std::string::npos;
  }));
  std::vector<std::string> sweeps;  // one or two: the deletions seen apart or together
  for (const json& j : api_.list("/apis/batch/v1/jobs"))
    if (j["metadata"]["name"].get<std::string>().starts_with("wok.backup-sweep-"))
      sweeps.push_back(j["metadata"]["name"]);
  ASSERT_FALSE(sweeps.empty());
  const std::string sweep_job = sweeps.back();
  // An older sweep, and the new one still running: the CLI waits for the new one.
  api_.create(jobs.substr(0, jobs.size() - 1),
              {{"apiVersion", "batch/v1"},
               {"kind", "Job"},
               {"metadata",
                {{"name", "wok.backup-sweep-29012345"},
                 {"labels", {{"app.kubernetes.io/name", "backup-sweep"}}}}}});
  api_.set_status(jobs + "wok.backup-sweep-29012345",
                  {{"succeeded", 1}, {"startTime", "2026-12-06T04:17:00Z"}});
  api_.set_status(jobs + sweep_job, {{"startTime", "2026-12-06T12:30:00Z"}});
  RolloutResult after;
  std::thread cli2([&] {
    after =
        kube_backup_list(member, "team-a", "", "2026-12-06T12:31:00Z", std::chrono::seconds(20));
  });
  const json left = {items[0], items[2]};
  api_.create(
      "/api/v1/namespaces/team-a/pods",
      {{"apiVersion", "v1"},
       {"kind", "Pod"},
       {"metadata", {{"name", sweep_job + "-q1w2e"}, {"labels", {{"job-name", sweep_job}}}}},
       {"fakeLog",
        json{{"forgotten", {"4e5f6a7b"}}, {"items", left}, {"time", "2026-12-06T12:30:05Z"}}
                .dump() +
            "\n"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  api_.set_status(jobs + sweep_job, {{"succeeded", 1}, {"startTime", "2026-12-06T12:30:00Z"}});
  cli2.join();
  ASSERT_TRUE(after.ok) << after.text;
  got = json::parse(after.text);
  EXPECT_EQ(got["listedAt"], "2026-12-06T12:30:05Z");
  ASSERT_EQ(got["items"].size(), 2u);
  EXPECT_EQ(got["items"][0]["id"], "3f2a9c1d");
  EXPECT_TRUE(got["items"][0]["siteDeleted"].get<bool>());
  EXPECT_EQ(api_.count("POST", "/jobs"), 1 + static_cast<int>(sweeps.size()));  // no list Job
  // What the CLI prints of it: the table, and on stderr whose list it is.
  std::ostringstream out, err;
  EXPECT_EQ(cmd::print_cluster_backup_list(after.text, "team-a", "", out, err), 0);
  EXPECT_NE(out.str().find("www (deleted)"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("blog (deleted)"), std::string::npos) << out.str();
  EXPECT_EQ(err.str(),
            "(no site of project team-a is left to ask a list through: the backups as its last "
            "sweep listed them at 2026-12-06T12:30:05Z)\n");
  std::ostringstream none_out, none_err;
  EXPECT_EQ(cmd::print_cluster_backup_list(R"({"items":[]})", "team-a", "", none_out, none_err), 0);
  EXPECT_EQ(none_out.str(), "");
  EXPECT_EQ(none_err.str(), "No backups found in project team-a.\n");
}

// spec.cloneFrom on a cluster: the new site never runs before the other
// site's backup is in its volumes and database; then status.clonedFrom,
// and never again. A failed clone keeps it stopped until cloneFrom goes.
TEST_F(OperatorTest, ClonesBeforeTheSiteFirstRuns) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  json spec = {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}},
               {"database", {{"engine", "mariadb"}, {"size", "1Gi"}}},
               {"cloneFrom", {{"site", "www"}}}};
  api_.create(sites_path("team-a"), real_site("team-a", "copy", spec));
  json broken = real_site("team-a", "broken", {{"hosts", {"broken.team-a.test"}}});
  broken["spec"].merge_patch(spec);
  api_.create(sites_path("team-a"), broken);
  start_operator("wok-operator/a", false, default_renderer());
  const std::string jobs = "/apis/batch/v1/namespaces/team-a/jobs/";
  auto clone_job = [&](const std::string& site) -> std::optional<json> {
    for (const json& j : api_.list("/apis/batch/v1/jobs"))
      if (j["metadata"]["name"].get<std::string>().starts_with(site + "-clone-")) return j;
    return std::nullopt;
  };
  ASSERT_TRUE(eventually([&] { return clone_job("copy") && clone_job("broken"); }));
  EXPECT_EQ((*deployment("team-a", "copy-web"))["spec"]["replicas"], 0);
  json job = *clone_job("copy");
  const json& pod = job["spec"]["template"]["spec"];
  std::vector<std::string> steps;
  for (const json& c : pod.value("initContainers", json::array())) steps.push_back(c["name"]);
  for (const json& c : pod["containers"]) steps.push_back(c["name"]);
  // Nothing to back up first: the site holds nothing yet.
  EXPECT_EQ(steps, (std::vector<std::string>{"restore", "import"}));
  EXPECT_NE(pod["initContainers"][0]["args"].dump().find(R"("--from","www")"), std::string::npos);

  api_.set_status(jobs + job["metadata"]["name"].get<std::string>(), {{"succeeded", 1}});
  api_.set_status(jobs + (*clone_job("broken"))["metadata"]["name"].get<std::string>(),
                  {{"failed", 1}});
  ASSERT_TRUE(eventually([&] {
    auto s = get_site("team-a", "copy");
    return s && (*s)["status"].contains("clonedFrom");
  }));
  EXPECT_EQ((*get_site("team-a", "copy"))["status"]["clonedFrom"],
            json({{"project", "team-a"}, {"site", "www"}, {"backup", "latest"}}));
  EXPECT_TRUE(
      eventually([&] { return (*deployment("team-a", "copy-web"))["spec"]["replicas"] == 1; }));
  ASSERT_TRUE(eventually([&] {
    auto s = get_site("team-a", "broken");
    return s && (*s)["status"].contains("restore") &&
           (*s)["status"]["restore"].value("phase", "") == "Failed";
  }));
  writes_during_quiet_period();
  EXPECT_EQ((*deployment("team-a", "broken-web"))["spec"]["replicas"], 0);
  EXPECT_EQ(api_.count("POST", "/jobs"), 2);  // once each, never again

  // cloneFrom added to a site that ran does nothing (as on wok up): its
  // data is never replaced by a clone.
  json live = real_site("team-a", "live", {{"hosts", {"live.team-a.test"}}});
  live["spec"]["storage"] = spec["storage"];
  api_.create(sites_path("team-a"), live);
  ASSERT_TRUE(eventually([&] { return deployment("team-a", "live-web").has_value(); }));
  live["spec"]["cloneFrom"] = {{"site", "www"}};
  api_.update(sites_path("team-a") + "/live", live);
  writes_during_quiet_period();
  EXPECT_FALSE(clone_job("live"));
  EXPECT_EQ((*deployment("team-a", "live-web"))["spec"]["replicas"], 1);
}

// A clone from another project: only with the grant the webhook recorded
// (kube/clone_grant.h); its Job receives one backup through a one-time
// repository a Job of the source project copies into (kube/site_transfer.h).
TEST_F(OperatorTest, ClonesFromAnotherProjectThroughAOneTimeRepository) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  api_.create(kProjects, project("team-b"));
  api_.create("/api/v1/namespaces/team-b/secrets",
              {{"apiVersion", "v1"},
               {"kind", "Secret"},
               {"metadata", {{"name", "wok.backup-key"}, {"namespace", "team-b"}}},
               {"data", {{"password", api::base64_encode("team-b's key")}}}});
  auto clone_site = [&](const std::string& name, bool granted, const std::string& from = "shop") {
    json spec = {{"hosts", {name + ".team-a.test"}},
                 {"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}},
                 {"cloneFrom", {{"site", from}, {"project", "team-b"}}}};
    api_.create(sites_path("team-a"), real_site("team-a", name, spec));
    if (!granted) return;
    const json made = *get_site("team-a", name);
    // What the webhook records once the writer's right is checked.
    api_.create(
        "/api/v1/namespaces/wok-system/configmaps",
        {{"apiVersion", "v1"},
         {"kind", "ConfigMap"},
         {"metadata",
          {{"name", clone_grant_name(made["metadata"]["uid"])}, {"namespace", "wok-system"}}},
         {"data",
          {{"site", "team-a/" + name},
           {"from", "team-b/shop"},
           {"backup", "latest"},
           {"user", "alice"}}}});
  };
  clone_site("copy", true);
  clone_site("stolen", false);  // stored while the webhook was off
  // Granted for team-b/shop, then pointed at another site of team-b while
  // the webhook was off: the grant does not name it.
  clone_site("retargeted", true, "secret");
  clone_site("other", true);
  // The source's API fails twice: what carries the backup is made again.
  api_.fail_next("POST", "/namespaces/team-b/jobs", 500, 2);
  start_operator("wok-operator/a", false, default_renderer());
  auto job_of = [&](const std::string& ns, const std::string& prefix) -> std::optional<json> {
    for (const json& j : api_.list("/apis/batch/v1/namespaces/" + ns + "/jobs"))
      if (j["metadata"]["name"].get<std::string>().starts_with(prefix)) return j;
    return std::nullopt;
  };
  auto restore_of = [&](const std::string& name) {
    auto s = get_site("team-a", name);
    return s ? (*s)["status"].value("restore", json::object()) : json::object();
  };
  ASSERT_TRUE(eventually(
      [&] { return job_of("team-a", "copy-clone-") && job_of("team-a", "other-clone-"); }));
  ASSERT_TRUE(eventually([&] { return restore_of("stolen").value("phase", "") == "Failed"; }));

  // No grant: nothing made, nothing of team-b read, the site stopped.
  EXPECT_EQ(restore_of("stolen")["message"],
            "the clone's backup cannot be read: no record that the writer may clone from project "
            "\"team-b\" (the admission webhook records it when spec.cloneFrom is written; it was "
            "off or ignored then): write the Site again (kubectl replace --force)");
  EXPECT_FALSE(job_of("team-a", "stolen-clone-"));
  ASSERT_TRUE(eventually([&] { return restore_of("retargeted").value("phase", "") == "Failed"; }));
  EXPECT_NE(
      restore_of("retargeted")["message"].get<std::string>().find("no record that the writer"),
      std::string::npos);
  EXPECT_FALSE(job_of("team-a", "retargeted-clone-"));
  EXPECT_EQ((*deployment("team-a", "stolen-web"))["spec"]["replicas"], 0);

  // The clone's Job: the receiver first, then the restore from what it received.
  const json job = *job_of("team-a", "copy-clone-");
  const std::string job_name = job["metadata"]["name"];
  const json& pod = job["spec"]["template"]["spec"];
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"]["wok.dev/transfer"], job_name);
  const json& receive = pod["initContainers"][0];
  EXPECT_EQ(receive["name"], "receive");
  EXPECT_EQ(receive["args"],
            json({"backup-job", "receive", "--dir", "/transfer/repo", "--listen", "0.0.0.0:8000",
                  "--transfer-key", "/transfer-key", "--timeout", "21000"}));
  const json& restore = pod["containers"][0];
  EXPECT_EQ(restore["name"], "restore");
  std::map<std::string, std::string> env;
  for (const json& e : restore["env"]) env[e["name"]] = e.value("value", "(from a secret)");
  EXPECT_EQ(env["RESTIC_REPOSITORY"], "/transfer/repo");
  EXPECT_EQ(env["RESTIC_PASSWORD_FILE"], "/transfer-key/password");
  EXPECT_NE(restore["args"].dump().find(R"("--from","shop")"), std::string::npos);
  for (const json& v : pod["volumes"]) {
    EXPECT_NE(v["name"], "repository");  // team-a's own repository is not read
    EXPECT_NE(v["name"], "key");
  }

  // In team-a, owned by that Job: the key, the Service, the way in from team-b's copy only.
  const std::string here = "/api/v1/namespaces/team-a/";
  auto owner_of = [](const json& o) { return o["metadata"]["ownerReferences"][0]["uid"]; };
  const std::string copy_name = render::transfer_copy_job_name("team-a", job_name);
  // Made last (after the two failures, on a later pass).
  ASSERT_TRUE(eventually([&] {
    return api_.get("/apis/networking.k8s.io/v1/namespaces/team-b/networkpolicies/" + copy_name)
        .has_value();
  }));
  EXPECT_TRUE(eventually([&] { return restore_of("copy").value("carried", false); }));
  EXPECT_TRUE(restore_of("copy")["message"].is_null());
  const json key = *api_.get(here + "secrets/" + job_name + "-transfer");
  EXPECT_EQ(owner_of(key), job["metadata"]["uid"]);
  const json service = *api_.get(here + "services/" + job_name);
  EXPECT_EQ(service["spec"]["selector"], json({{"wok.dev/transfer", job_name}}));
  EXPECT_EQ(service["spec"]["publishNotReadyAddresses"], true);
  EXPECT_EQ(owner_of(service), job["metadata"]["uid"]);
  const json in =
      *api_.get("/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies/" + job_name);
  EXPECT_EQ(in["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"],
            json({{"kubernetes.io/metadata.name", "team-b"}}));
  EXPECT_EQ(owner_of(in), job["metadata"]["uid"]);

  // In team-b: the copy of that one backup, with the same key, let out to the receiver only.
  ASSERT_TRUE(api_.get("/apis/batch/v1/namespaces/team-b/jobs/" + copy_name).has_value());
  const json copy = *api_.get("/apis/batch/v1/namespaces/team-b/jobs/" + copy_name);
  const json& c = copy["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["args"],
            json({"backup-job", "copy", "--project", "team-b", "--site", "shop", "--backup",
                  "latest", "--to", "http://" + job_name + ".team-a.svc:8000/", "--transfer-key",
                  "/transfer-key"}));
  bool own_repository = false;
  for (const json& v : copy["spec"]["template"]["spec"]["volumes"])
    own_repository = own_repository || v.value(json::json_pointer("/secret/secretName"), "") ==
                                           std::string("wok.backup-key");
  EXPECT_TRUE(own_repository);  // team-b's key, in team-b
  const json source_key = *api_.get("/api/v1/namespaces/team-b/secrets/" + copy_name);
  EXPECT_EQ(source_key["stringData"], key["stringData"]);
  EXPECT_EQ(key["stringData"]["token"].get<std::string>().size(), 43u);
  EXPECT_EQ(owner_of(source_key), copy["metadata"]["uid"]);
  const json out =
      *api_.get("/apis/networking.k8s.io/v1/namespaces/team-b/networkpolicies/" + copy_name);
  EXPECT_EQ(out["spec"]["policyTypes"], json({"Egress"}));
  EXPECT_EQ(out["spec"]["egress"][0]["to"][0]["podSelector"]["matchLabels"],
            json({{"wok.dev/transfer", job_name}}));

  // Copied and restored: cloned from team-b's site, the grant gone, the site running.
  api_.set_status("/apis/batch/v1/namespaces/team-b/jobs/" + copy_name, {{"succeeded", 1}});
  api_.set_status("/apis/batch/v1/namespaces/team-a/jobs/" + job_name, {{"succeeded", 1}});
  ASSERT_TRUE(eventually([&] {
    auto s = get_site("team-a", "copy");
    return s && (*s)["status"].contains("clonedFrom");
  }));
  EXPECT_EQ((*get_site("team-a", "copy"))["status"]["clonedFrom"],
            json({{"project", "team-b"}, {"site", "shop"}, {"backup", "latest"}}));
  const std::string grants = "/api/v1/namespaces/wok-system/configmaps/";
  const json copied = *get_site("team-a", "copy");
  EXPECT_FALSE(api_.get(grants + clone_grant_name(copied["metadata"]["uid"])).has_value());
  EXPECT_TRUE(
      eventually([&] { return (*deployment("team-a", "copy-web"))["spec"]["replicas"] == 1; }));

  // A copy that fails: the clone fails saying where to look (in team-b), its
  // Job is deleted (its receiver would wait for nothing), the site stays stopped.
  const std::string other_job = (*job_of("team-a", "other-clone-"))["metadata"]["name"];
  const std::string other_copy = render::transfer_copy_job_name("team-a", other_job);
  ASSERT_TRUE(eventually(
      [&] { return api_.get("/apis/batch/v1/namespaces/team-b/jobs/" + other_copy).has_value(); }));
  api_.set_status("/apis/batch/v1/namespaces/team-b/jobs/" + other_copy, {{"failed", 1}});
  ASSERT_TRUE(eventually([&] { return restore_of("other").value("phase", "") == "Failed"; }));
  EXPECT_EQ(restore_of("other")["message"],
            "the clone's job failed, the site stays stopped (remove spec.cloneFrom to run it "
            "empty): copying the backup out of project \"team-b\" failed (its Job team-b/" +
                other_copy +
                "; a member of that project reads why with kubectl logs -n team-b job/" +
                other_copy + ")");
  EXPECT_FALSE(job_of("team-a", "other-clone-"));
  const json other = *get_site("team-a", "other");
  EXPECT_FALSE(api_.get(grants + clone_grant_name(other["metadata"]["uid"])).has_value());
  writes_during_quiet_period();
  EXPECT_EQ((*deployment("team-a", "other-web"))["spec"]["replicas"], 0);

  // A site deleted while it clones: its grant goes with it.
  clone_site("dropped", true);
  const std::string dropped_grant =
      grants + clone_grant_name((*get_site("team-a", "dropped"))["metadata"]["uid"]);
  ASSERT_TRUE(eventually([&] { return job_of("team-a", "dropped-clone-").has_value(); }));
  const std::string dropped_copy = render::transfer_copy_job_name(
      "team-a", (*job_of("team-a", "dropped-clone-"))["metadata"]["name"]);
  ASSERT_TRUE(eventually([&] {
    return api_.get("/apis/batch/v1/namespaces/team-b/jobs/" + dropped_copy).has_value();
  }));
  EXPECT_TRUE(api_.get(dropped_grant).has_value());
  api_.remove(sites_path("team-a") + "/dropped");
  EXPECT_TRUE(eventually([&] { return !api_.get(dropped_grant).has_value(); }));
  // Three copies made once each, after the two failures.
  EXPECT_EQ(api_.count("POST", "/namespaces/team-b/jobs"), 5);
}

// Grants no Site has (its creation refused after the webhook, or the Site
// deleted while no operator ran) are deleted once past their grace.
TEST_F(OperatorTest, SweepsTheClonesGrantsNoSiteHas) {
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), real_site("team-a", "keep", json::object()));
  const std::string uid = (*get_site("team-a", "keep"))["metadata"]["uid"];
  const std::string grants = "/api/v1/namespaces/wok-system/configmaps";
  auto grant = [&](const std::string& name, const char* label = "wok.dev/clone-grant") {
    api_.create(
        grants,
        {{"apiVersion", "v1"},
         {"kind", "ConfigMap"},
         {"metadata", {{"name", name}, {"namespace", "wok-system"}, {"labels", {{label, "true"}}}}},
         {"data", {{"site", "team-a/x"}}}});
  };
  grant(clone_grant_name(uid));
  grant(clone_grant_name("0c1a7d2e-no-site"));
  grant("someone-elses");  // not a grant's name: left alone
  // A backup deletion's grant whose Site is gone before the operator saw it.
  grant(backup_delete_grant_name("5e1f-no-site"), "wok.dev/backup-delete-grant");
  // Within the grace (a Site being stored): kept.
  Credentials creds;
  creds.server = api_.url();
  KubeClient client(creds, "test");
  EXPECT_EQ(sweep_clone_grants(client, "wok-system", {uid}, 10L * 365 * 24 * 3600), 0);
  start_operator();
  ASSERT_TRUE(eventually(
      [&] { return !api_.get(grants + "/" + clone_grant_name("0c1a7d2e-no-site")).has_value(); }));
  ASSERT_TRUE(eventually([&] {
    return !api_.get(grants + "/" + backup_delete_grant_name("5e1f-no-site")).has_value();
  }));
  writes_during_quiet_period();
  EXPECT_TRUE(api_.get(grants + "/" + clone_grant_name(uid)).has_value());
  EXPECT_TRUE(api_.get(grants + "/someone-elses").has_value());
}

// `wok backup restore --to NEW --kubeconfig`: a new Site, the source's spec
// with the given hosts and spec.cloneFrom (the clone above does the rest).
TEST_F(OperatorTest, RestoreToWritesANewSiteThatClones) {
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"),
              real_site("team-a", "www",
                        {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}}}));
  Credentials creds;
  creds.server = api_.url();
  KubeClient member(creds, "wok-cli");
  const auto wait = std::chrono::seconds(20);
  RolloutResult r = kube_restore_to(member, "team-a", "www", "", "copy", {}, "t1", wait);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("--host"), std::string::npos) << r.text;
  r = kube_restore_to(member, "team-a", "www", "3f2a9c1d", "copy", {"copy.team-a.test"}, "t2",
                      wait);
  ASSERT_TRUE(r.ok) << r.text;
  auto copy = get_site("team-a", "copy");
  ASSERT_TRUE(copy);
  EXPECT_EQ((*copy)["spec"]["hosts"], json({"copy.team-a.test"}));
  EXPECT_EQ((*copy)["spec"]["cloneFrom"], json({{"site", "www"}, {"backup", "3f2a9c1d"}}));
  EXPECT_EQ((*copy)["spec"]["storage"][0]["name"], "files");
  r = kube_restore_to(member, "team-a", "www", "", "copy", {"x.team-a.test"}, "t3", wait);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("exists already"), std::string::npos) << r.text;
}

// `wok backup restore site GONE --to NEW --kubeconfig` of a deleted site:
// the new Site gets the backup's own spec, which a Job the operator makes
// (asked through another site of the project) reads from the repository.
TEST_F(OperatorTest, RestoreToOfADeletedSiteTakesTheBackupsSpec) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  api_.create(kProjects, project("team-b"));
  const json storage = {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}}};
  api_.create(sites_path("team-a"), real_site("team-a", "keep", storage));
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(eventually([&] {
    auto s = get_site("team-a", "keep");
    return s && (*s)["status"].contains("backup");
  }));
  Credentials creds;
  creds.server = api_.url();
  KubeClient member(creds, "wok-cli");
  const std::string token = "2026-12-06T13:00:00Z";
  RolloutResult made;
  std::thread cli([&] {
    made = kube_restore_to(member, "team-a", "gone", "3f2a9c1d", "copy", {"copy.team-a.test"},
                           token, std::chrono::seconds(20));
  });
  const std::string jobs = "/apis/batch/v1/namespaces/team-a/jobs/";
  const std::string name = show_job_name(token);
  ASSERT_TRUE(eventually([&] { return api_.get(jobs + name).has_value(); }));
  const json job = *api_.get(jobs + name);
  const json& c = job["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["name"], "show");
  EXPECT_EQ(c["args"], json({"backup-job", "show", "--project", "team-a", "--site", "gone",
                             "--backup", "3f2a9c1d"}));
  EXPECT_EQ(job["metadata"]["labels"]["wok.dev/site"], "keep");
  json spec = real_site("team-a", "gone", storage)["spec"];
  spec["hosts"] = {"gone.team-a.test"};
  const json line = {{"backup", {{"id", "3f2a9c1d"}, {"site", "gone"}, {"spec", spec}}}};
  api_.create("/api/v1/namespaces/team-a/pods",
              {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", name + "-a1b2c"}, {"labels", {{"job-name", name}}}}},
               {"fakeLog", "restic noise\n" + line.dump() + "\n"}});
  api_.set_status(jobs + name, {{"succeeded", 1}});
  cli.join();
  ASSERT_TRUE(made.ok) << made.text;
  EXPECT_NE(made.text.find("backup 3f2a9c1d's spec"), std::string::npos) << made.text;
  auto copy = get_site("team-a", "copy");
  ASSERT_TRUE(copy);
  EXPECT_EQ((*copy)["spec"]["hosts"], json({"copy.team-a.test"}));
  EXPECT_EQ((*copy)["spec"]["storage"], storage["storage"]);
  EXPECT_EQ((*copy)["spec"]["cloneFrom"], json({{"site", "gone"}, {"backup", "3f2a9c1d"}}));

  // What a member writes by hand is checked: no Job of a path or a bad id.
  auto show_jobs = [&] {
    int n = 0;
    for (const json& j : api_.list("/apis/batch/v1/jobs"))
      n += j["metadata"]["name"].get<std::string>().starts_with("wok.backup-show-");
    return n;
  };
  ASSERT_EQ(show_jobs(), 1);
  for (const std::string what : {"../x/3f2a9c1d", "gone/3f2a9c1d;rm", "gone"}) {
    Reply r = member.request(
        "PATCH", sites_path("team-a") + "/keep",
        json{{"metadata",
              {{"annotations",
                {{kBackupShowRequestAnnotation, "t-" + what}, {kBackupShowAnnotation, what}}}}}}
            .dump(),
        "application/merge-patch+json");
    ASSERT_TRUE(r.ok()) << r.describe();
    writes_during_quiet_period();
  }
  EXPECT_EQ(show_jobs(), 1);
  // A project with no site to read through says what to do instead.
  RolloutResult none = kube_restore_to(member, "team-b", "gone", "latest", "copy",
                                       {"copy.team-b.test"}, "t4", std::chrono::seconds(2));
  EXPECT_FALSE(none.ok);
  EXPECT_NE(none.text.find("write site copy with spec.cloneFrom {site: gone, backup: latest}"),
            std::string::npos)
      << none.text;
}

// `wok backup delete --kubeconfig`: the operator runs the deletion's Job
// only for a request the webhook granted (a project admin wrote it), on the
// target its grant names; without one it says why, and the CLI with it.
TEST_F(OperatorTest, DeletesABackupOnlyWithTheWebhooksGrant) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  const json storage = {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}}};
  api_.create(sites_path("team-a"), real_site("team-a", "www", storage));
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(eventually([&] {
    auto s = get_site("team-a", "www");
    return s && (*s)["status"].contains("backup");
  }));
  const std::string uid = (*get_site("team-a", "www"))["metadata"]["uid"];
  Credentials creds;
  creds.server = api_.url();
  KubeClient member(creds, "wok-cli");
  const std::string grants = "/api/v1/namespaces/wok-system/configmaps";
  auto grant = [&](const std::string& token, const std::string& target) {
    api_.create(
        grants,
        {{"apiVersion", "v1"},
         {"kind", "ConfigMap"},
         {"metadata",
          {{"name", backup_delete_grant_name(uid)},
           {"namespace", "wok-system"},
           {"labels", {{"wok.dev/backup-delete-grant", "true"}}}}},
         {"data",
          {{"site", "team-a/www"}, {"token", token}, {"backup", target}, {"user", "ada"}}}});
  };
  auto delete_jobs = [&] {
    int n = 0;
    for (const json& j : api_.list("/apis/batch/v1/jobs"))
      n += j["metadata"]["name"].get<std::string>().starts_with("wok.backup-delete-");
    return n;
  };

  // No grant (the webhook was off): no Job, and the CLI says why.
  RolloutResult refused =
      kube_backup_delete(member, "team-a", "www", "3f2a9c1d", "t1", std::chrono::seconds(20));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.text.find("backup www/3f2a9c1d: no record that a project admin asked for it"),
            std::string::npos)
      << refused.text;
  EXPECT_EQ(delete_jobs(), 0);
  // A grant for another backup than the one the annotation names: refused.
  grant("t2", "www/3f2a9c1d");
  refused = kube_backup_delete(member, "team-a", "www", "aaaaaaaa", "t2", std::chrono::seconds(20));
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(delete_jobs(), 0);
  EXPECT_FALSE(api_.get(grants + "/" + backup_delete_grant_name(uid)).has_value());
  // latest is never deleted by a guess; the CLI refuses before asking.
  refused = kube_backup_delete(member, "team-a", "www", "latest", "t3", std::chrono::seconds(2));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.text.find("not \"latest\""), std::string::npos) << refused.text;

  // Granted: the Job deletes that backup; the grant is consumed.
  grant("t4", "www/3f2a9c1d");
  RolloutResult deleted;
  std::thread cli([&] {
    deleted =
        kube_backup_delete(member, "team-a", "www", "3f2a9c1d", "t4", std::chrono::seconds(20));
  });
  const std::string jobs = "/apis/batch/v1/namespaces/team-a/jobs/";
  const std::string name = delete_job_name("t4");
  ASSERT_TRUE(eventually([&] { return api_.get(jobs + name).has_value(); }));
  const json job = *api_.get(jobs + name);
  const json& c = job["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["name"], "forget");
  EXPECT_EQ(c["args"], json({"backup-job", "forget", "--project", "team-a", "--site", "www",
                             "--backup", "3f2a9c1d"}));
  EXPECT_EQ(job["spec"]["activeDeadlineSeconds"], 3600);
  EXPECT_TRUE(eventually(
      [&] { return !api_.get(grants + "/" + backup_delete_grant_name(uid)).has_value(); }));
  api_.create("/api/v1/namespaces/team-a/pods",
              {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", name + "-d3l3t"}, {"labels", {{"job-name", name}}}}},
               {"fakeLog", R"({"deleted":{"id":"3f2a9c1d77","site":"www"}})"
                           "\n"}});
  api_.set_status(jobs + name, {{"succeeded", 1}});
  cli.join();
  ASSERT_TRUE(deleted.ok) << deleted.text;
  EXPECT_EQ(deleted.text, "backup 3f2a9c1d77 of site.wok.dev/www deleted");
  EXPECT_EQ(delete_jobs(), 1);
}

// `wok backup list --kubeconfig`: the operator makes a list Job for the
// request; the CLI waits for it and reads its log (a member's role reads
// Jobs and pods' logs).
TEST_F(OperatorTest, ListsASitesBackupsThroughAJobsLog) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"),
              real_site("team-a", "www",
                        {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}}}));
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(eventually([&] {
    return api_.get("/apis/batch/v1/namespaces/team-a/cronjobs/www-backup").has_value();
  }));
  Credentials creds;
  creds.server = api_.url();
  KubeClient member(creds, "wok-cli");
  const std::string token = "2026-12-04T12:00:00Z";
  const std::string name = list_job_name("www", token);
  RolloutResult listed;
  std::thread cli(
      [&] { listed = kube_backup_list(member, "team-a", "www", token, std::chrono::seconds(20)); });
  const std::string job_path = "/apis/batch/v1/namespaces/team-a/jobs/" + name;
  ASSERT_TRUE(eventually([&] { return api_.get(job_path).has_value(); }));
  json job = *api_.get(job_path);
  const json& container = job["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["name"], "list");
  EXPECT_EQ(container["args"][1], "list");
  // No volume of the site: the list reads the repository only.
  EXPECT_EQ(job["spec"]["template"]["spec"]["volumes"].dump().find("www-files"), std::string::npos);
  // The cluster's part: the pod ran and printed the list.
  const std::string www_uid = (*get_site("team-a", "www"))["metadata"]["uid"];
  const std::string line = R"({"items":[{"id":"3f2a9c1d","site":"www","siteUid":")" + www_uid +
                           R"(","revision":2,"reason":"manual","time":"2026-12-04T11:59:00Z"}]})";
  api_.create("/api/v1/namespaces/team-a/pods",
              {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", name + "-x7k2p"}, {"labels", {{"job-name", name}}}}},
               {"fakeLog", "some restic noise\n" + line + "\n"}});
  api_.set_status(job_path, {{"succeeded", 1}});
  cli.join();
  ASSERT_TRUE(listed.ok) << listed.text;
  // The line, each item marked as of a site there now or not (wok up's API does).
  json expected = json::parse(line);
  expected["items"][0]["siteDeleted"] = false;
  EXPECT_EQ(json::parse(listed.text), expected);
  std::string error;
  std::string table = cmd::backup_table(listed.text, &error);
  EXPECT_NE(table.find("3f2a9c1d"), std::string::npos) << table;
  EXPECT_EQ(table.find("(deleted)"), std::string::npos) << table;
  // One Job per request.
  EXPECT_EQ(api_.count("POST", "/jobs"), 1);

  // A list that fails says why: its log's last line (a repository it
  // cannot read is an error, never an empty list).
  const std::string token2 = "2026-12-04T12:05:00Z";
  const std::string name2 = list_job_name("www", token2);
  RolloutResult failed;
  std::thread cli2([&] {
    failed = kube_backup_list(member, "team-a", "www", token2, std::chrono::seconds(20));
  });
  const std::string job2 = "/apis/batch/v1/namespaces/team-a/jobs/" + name2;
  ASSERT_TRUE(eventually([&] { return api_.get(job2).has_value(); }));
  api_.create("/api/v1/namespaces/team-a/pods",
              {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", name2 + "-q9w8e"}, {"labels", {{"job-name", name2}}}}},
               {"fakeLog",
                "error: list of site team-a/www: reading the repository /backups failed: Fatal: "
                "wrong password or no key found\n"}});
  api_.set_status(job2, {{"failed", 1}});
  cli2.join();
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.text, "job " + name2 +
                             " failed: list of site team-a/www: reading the repository /backups "
                             "failed: Fatal: wrong password or no key found (kubectl logs -n "
                             "team-a job/" +
                             name2 + ")");
}

// A restore in place on a cluster: the request stops the site's pods
// (Deployments at 0, CronJobs suspended), then one Job backs up what is
// there and puts the backup back; its end starts the site again.
TEST_F(OperatorTest, RestoresInPlaceWithTheSiteStopped) {
  renderer_checks_ = true;
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"),
              real_site("team-a", "www",
                        {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}},
                         {"database", {{"engine", "postgresql"}, {"size", "1Gi"}}},
                         {"backup", {{"schedule", "0 3 * * *"}}}}));
  start_operator("wok-operator/a", false, default_renderer());
  const std::string cron = "/apis/batch/v1/namespaces/team-a/cronjobs/www-backup";
  ASSERT_TRUE(eventually([&] { return api_.get(cron) && deployment("team-a", "www-web"); }));
  Credentials creds;
  creds.server = api_.url();
  KubeClient member(creds, "wok-cli");
  RolloutResult bad = kube_restore_request(member, "team-a", "www", "nothex!", "t0");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.text.find("is not a backup id"), std::string::npos) << bad.text;

  // A pod of the site still terminating (its Deployment counts it no
  // more): the Job waits for it.
  const std::string pods = "/api/v1/namespaces/team-a/pods";
  api_.create(pods,
              {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", "www-web-abc"}, {"labels", {{"wok.dev/site", "www"}}}}}});
  api_.create(pods, {{"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata",
                      {{"name", "www-db-0"},
                       {"labels", {{"wok.dev/site", "www"}, {"wok.dev/database", "www"}}}}}});
  const std::string token = "2026-12-04T11:00:00Z";
  RolloutResult asked = kube_restore_request(member, "team-a", "www", "", token);
  ASSERT_TRUE(asked.ok) << asked.text;
  const std::string name = restore_job_name("www", token);
  EXPECT_NE(asked.text.find("job " + name), std::string::npos) << asked.text;
  auto restore_phase = [&] {
    auto s = get_site("team-a", "www");
    return s && (*s)["status"].contains("restore") ? (*s)["status"]["restore"].value("phase", "")
                                                   : std::string();
  };
  const std::string jobs = "/apis/batch/v1/namespaces/team-a/jobs/";
  ASSERT_TRUE(eventually([&] { return restore_phase() == "Stopping"; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(api_.get(jobs + name).has_value());
  api_.remove(pods + "/www-web-abc");  // gone; the database's keeps running
  ASSERT_TRUE(eventually([&] { return api_.get(jobs + name).has_value(); }));
  // Nothing of the site ran when the Job was made.
  EXPECT_EQ((*deployment("team-a", "www-web"))["spec"]["replicas"], 0);
  EXPECT_TRUE((*api_.get(cron))["spec"]["suspend"].get<bool>());
  EXPECT_TRUE(eventually([&] { return restore_phase() == "Restoring"; }));
  json job = *api_.get(jobs + name);
  const json& pod = job["spec"]["template"]["spec"];
  std::vector<std::string> steps;
  for (const json& c : pod["initContainers"]) steps.push_back(c["name"]);
  for (const json& c : pod["containers"]) steps.push_back(c["name"]);
  EXPECT_EQ(steps, (std::vector<std::string>{"dump", "pre-restore", "restore", "import"}));
  EXPECT_NE(pod["initContainers"][1]["args"].dump().find(R"("--reason","pre-restore")"),
            std::string::npos);
  EXPECT_NE(pod["initContainers"][2]["args"].dump().find(R"("--backup","latest")"),
            std::string::npos);
  EXPECT_FALSE(pod.contains("affinity"));  // the site's pods are stopped
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["kind"], "Site");

  // The Job ends well: the site runs again, its schedule with it.
  api_.set_status(jobs + name, {{"succeeded", 1}});
  ASSERT_TRUE(eventually([&] { return restore_phase() == "Restored"; }));
  EXPECT_TRUE(eventually([&] {
    return (*deployment("team-a", "www-web"))["spec"]["replicas"] == 1 &&
           !(*api_.get(cron))["spec"]["suspend"].get<bool>();
  }));
  EXPECT_EQ(api_.count("POST", "/jobs"), 1);

  // A request the CLI would refuse, written by hand: failed, saying why,
  // and the site keeps running.
  Reply r = member.request(
      "PATCH", sites_path("team-a") + "/www",
      json{{"metadata",
            {{"annotations",
              {{kRestoreRequestAnnotation, "t2"}, {kRestoreBackupAnnotation, "../x"}}}}}}
          .dump(),
      "application/merge-patch+json");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(eventually([&] { return restore_phase() == "Failed"; }));
  EXPECT_NE((*get_site("team-a", "www"))["status"]["restore"]["message"].get<std::string>().find(
                "is not a backup id"),
            std::string::npos);
  EXPECT_EQ((*deployment("team-a", "www-web"))["spec"]["replicas"], 1);
  EXPECT_EQ(api_.count("POST", "/jobs"), 1);
}

// On a cluster as on `wok up`: the validator, the admin's bounds and the
// project's host patterns judge a Site before anything is applied.
TEST_F(OperatorTest, ChecksASiteAsTheApiServerDoes) {
  renderer_checks_ = true;
  bounds_.replicas = 3;
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), real_site("team-a", "ok", json::object()));
  json too_many = real_site("team-a", "big", json::object());
  too_many["spec"]["app"]["components"][0]["replicas"] = 9;
  api_.create(sites_path("team-a"), too_many);
  json escaping = real_site("team-a", "blog",
                            {{"mode", "php"}, {"app", nullptr}, {"php", {{"docroot", "../.."}}}});
  api_.create(sites_path("team-a"), escaping);
  api_.create(sites_path("team-a"), real_site("team-a", "squat", {{"hosts", {"www.team-b.test"}}}));
  start_operator("wok-operator/a", false, default_renderer());

  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "big") == "Invalid"; }));
  EXPECT_EQ((*get_site("team-a", "big"))["status"]["lastError"],
            "spec.app.components[0].replicas: 9 is over the platform's limit of 3 per component "
            "(wok operator --max-site-replicas)");
  EXPECT_FALSE(deployment("team-a", "big-web"));
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "blog") == "Invalid"; }));
  EXPECT_NE((*get_site("team-a", "blog"))["status"]["lastError"].get<std::string>().find(
                "spec.php.docroot"),
            std::string::npos);
  EXPECT_FALSE(deployment("team-a", "blog"));
  // Another project's host: the site runs but is not routed.
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "squat") == "HostNotAllowed"; }));
  EXPECT_EQ(
      (*get_site("team-a", "squat"))["status"]["lastError"],
      "spec.hosts[0]: \"www.team-b.test\" is not among the host names project \"team-a\" may claim "
      "([\"*.team-a.test\"])");
  EXPECT_TRUE(eventually([&] { return deployment("team-a", "squat-web").has_value(); }));
  EXPECT_FALSE(ingress("team-a", "squat"));
  ASSERT_TRUE(eventually([&] { return ingress("team-a", "ok").has_value(); }));

  // Fixed: applied.
  api_.update(sites_path("team-a") + "/big", real_site("team-a", "big", json::object()));
  EXPECT_TRUE(eventually([&] { return deployment("team-a", "big-web").has_value(); }));
}

// The fetch init container's --ref in a Deployment's pod template.
std::string fetched_ref(const json& deployment) {
  const json& args = deployment["spec"]["template"]["spec"]["initContainers"][0]["args"];
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--ref") return args[i + 1];
  return "";
}

// Kubernetes follows git: the operator resolves the site's ref on its
// interval, the pods fetch that commit, a push rolls them.
TEST_F(OperatorTest, FollowsGitAndRollsThePodsOnAPush) {
  char tmpl[] = "/tmp/wok-follow-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  const std::string dir = tmpl;
  mirror_dir_ = dir + "/mirrors";
  follow_git_ = true;
  renderer_checks_ = true;
  std::filesystem::create_directories(dir + "/files");
  std::ofstream(dir + "/files/index.html") << "v1";
  std::string error;
  const std::string first =
      git::commit_directory(dir + "/files", dir + "/repo", "main", "v1", &error);
  ASSERT_FALSE(first.empty()) << error;
  json site = {{"apiVersion", "wok.dev/v1alpha1"},
               {"kind", "Site"},
               {"metadata", {{"name", "www"}, {"namespace", "team-a"}}},
               {"spec",
                {{"mode", "static"},
                 {"hosts", {"www.team-a.test"}},
                 {"source", {{"git", {{"url", "file://" + dir + "/repo"}, {"interval", "1s"}}}}}}}};
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), site);
  start_operator("wok-operator/a", false, default_renderer());

  ASSERT_TRUE(eventually([&] {
    auto d = deployment("team-a", "www");
    return d && fetched_ref(*d) == first;
  }));
  // The status is written after the objects are applied.
  EXPECT_TRUE(
      eventually([&] { return (*get_site("team-a", "www"))["status"]["commit"] == first; }));

  std::ofstream(dir + "/files/index.html") << "v2";
  const std::string second =
      git::commit_directory(dir + "/files", dir + "/repo", "main", "v2", &error);
  ASSERT_FALSE(second.empty()) << error;
  ASSERT_NE(second, first);
  EXPECT_TRUE(eventually([&] {
    auto d = deployment("team-a", "www");
    return d && fetched_ref(*d) == second;
  }));
  EXPECT_TRUE(
      eventually([&] { return (*get_site("team-a", "www"))["status"]["commit"] == second; }));
  std::filesystem::remove_all(dir);
}

TEST_F(OperatorTest, NeverFollowsALocalPathOnACluster) {
  follow_git_ = true;
  allow_local_sources_ = false;
  renderer_checks_ = true;
  mirror_dir_ = "/tmp/wok-operator-test-mirrors-local";
  json site = {{"apiVersion", "wok.dev/v1alpha1"},
               {"kind", "Site"},
               {"metadata", {{"name", "www"}, {"namespace", "team-a"}}},
               {"spec",
                {{"mode", "static"},
                 {"hosts", {"www.team-a.test"}},
                 {"source", {{"git", {{"url", "file:///var/run/secrets"}}}}}}}};
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), site);
  Operator& op = start_operator("wok-operator/a", false, default_renderer());
  (void)op;
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "www") == "FetchFailed"; }));
  EXPECT_NE((*get_site("team-a", "www"))["status"]["lastError"].get<std::string>().find(
                "is a local path"),
            std::string::npos);
  EXPECT_FALSE(deployment("team-a", "www"));
}

// Backups into an S3 store on a cluster (--backup-repository): no claim;
// each project gets its own copy of the admin's credentials for it (the
// Secret wok.backup-store: the store's AWS_* keys and the repository's URL,
// {project} as PROJECT.UID), kept as the admin wrote it; the Jobs read it.
TEST_F(OperatorTest, BacksUpIntoAnS3StoreWithEachProjectsOwnCredentials) {
  renderer_checks_ = true;
  settings_.backup_repository = "s3:https://s3.example.org/wok/{project}";
  settings_.backup_credentials_secret = "wok-backup-s3-{project}";
  settings_.operator_namespace = "wok-system";
  api_.create(kProjects, project("team-a"));
  api_.create(kProjects, project("team-b"));
  auto b64 = [](const std::string& s) { return api::base64_encode(s); };
  api_.create("/api/v1/namespaces/wok-system/secrets",
              {{"apiVersion", "v1"},
               {"kind", "Secret"},
               {"metadata", {{"name", "wok-backup-s3-team-a"}, {"namespace", "wok-system"}}},
               {"data",
                {{"AWS_ACCESS_KEY_ID", b64("team-a-key")},
                 {"AWS_SECRET_ACCESS_KEY", b64("team-a-secret")},
                 {"unrelated", b64("not copied")}}}});
  const json storage = {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}}};
  api_.create(sites_path("team-a"), real_site("team-a", "www", storage));
  json other = real_site("team-b", "www", storage);
  other["spec"]["hosts"] = {"www.team-b.test"};
  api_.create(sites_path("team-b"), other);
  start_operator("wok-operator/a", false, default_renderer());
  const std::string store = "/api/v1/namespaces/team-a/secrets/wok.backup-store";
  ASSERT_TRUE(eventually([&] { return api_.get(store).has_value(); }));
  const std::string uid = (*api_.get(kProjects + std::string("/team-a")))["metadata"]["uid"];
  json data = (*api_.get(store))["data"];
  EXPECT_EQ(data,
            json({{"AWS_ACCESS_KEY_ID", b64("team-a-key")},
                  {"AWS_SECRET_ACCESS_KEY", b64("team-a-secret")},
                  {"RESTIC_REPOSITORY", b64("s3:https://s3.example.org/wok/team-a." + uid)}}));
  EXPECT_FALSE(api_.get("/api/v1/namespaces/team-a/persistentvolumeclaims/wok.backups"));
  // The Jobs' restic: the store's URL and credentials from that Secret, no claim.
  const std::string cron = "/apis/batch/v1/namespaces/team-a/cronjobs/";
  ASSERT_TRUE(eventually(
      [&] { return api_.get(cron + "www-backup") && api_.get(cron + "wok.backup-sweep"); }));
  for (const std::string name : {"www-backup", "wok.backup-sweep"}) {
    const json pod = (*api_.get(cron + name))["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    EXPECT_EQ(pod["volumes"].dump().find("wok.backups"), std::string::npos) << name;
    const json env = pod["containers"][0]["env"];
    bool from_store = false;
    for (const json& e : env)
      if (e["name"] == "RESTIC_REPOSITORY")
        from_store = e["valueFrom"]["secretKeyRef"]["name"] == "wok.backup-store";
    EXPECT_TRUE(from_store) << env.dump();
  }
  // team-b has no credentials of its own: said in its site's status, no copy.
  ASSERT_TRUE(eventually([&] {
    auto s = get_site("team-b", "www");
    return s && (*s)["status"].contains("backup") &&
           (*s)["status"]["backup"].value("lastError", json()).is_string();
  }));
  EXPECT_EQ((*get_site("team-b", "www"))["status"]["backup"]["lastError"],
            "the project's backup repository: the store's credentials: no Secret "
            "wok-system/wok-backup-s3-team-b (the admin makes it: AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY)");
  EXPECT_FALSE(api_.get("/api/v1/namespaces/team-b/secrets/wok.backup-store"));
  // Nor a sweep whose pods could not start without them.
  EXPECT_FALSE(api_.get("/apis/batch/v1/namespaces/team-b/cronjobs/wok.backup-sweep"));

  // A member who points the copy elsewhere: the next pass writes it back.
  writes_during_quiet_period();  // the passes under way end first
  Credentials creds;
  creds.server = api_.url();
  KubeClient member(creds, "wok-cli");
  Reply edited = member.request(
      "PATCH", store,
      json{{"data", {{"RESTIC_REPOSITORY", b64("s3:https://s3.example.org/wok/team-b.x")}}}}.dump(),
      "application/merge-patch+json");
  ASSERT_TRUE(edited.ok()) << edited.describe();
  ASSERT_NE((*api_.get(store))["data"]["RESTIC_REPOSITORY"],
            b64("s3:https://s3.example.org/wok/team-a." + uid));
  Reply r = member.request("PATCH", sites_path("team-a") + "/www",
                           json{{"metadata", {{"labels", {{"x", "y"}}}}}}.dump(),
                           "application/merge-patch+json");
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_TRUE(eventually([&] {
    return (*api_.get(store))["data"]["RESTIC_REPOSITORY"] ==
           b64("s3:https://s3.example.org/wok/team-a." + uid);
  }));
}

// A store whose certificate a private CA signed: the admin puts that CA's
// certificate in the credentials Secret as ca.crt; the operator copies it
// into the project's wok.backup-store (the Jobs mount it, restic trusts
// it). One that is not a certificate is not copied: the site's status
// names the key and what is wrong with it.
TEST_F(OperatorTest, CopiesTheStoresPrivateCaAndRefusesOneThatIsNotACertificate) {
  char tmpl[] = "/tmp/wok-store-ca-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string error;
  auto ca = certs::LocalCa::open(tmpl, &error);
  std::filesystem::remove_all(tmpl);
  ASSERT_TRUE(ca) << error;
  settings_.backup_repository = "s3:https://s3.internal/wok/{project}";
  settings_.backup_credentials_secret = "wok-backup-s3-{project}";
  settings_.operator_namespace = "wok-system";
  auto b64 = [](const std::string& s) { return api::base64_encode(s); };
  for (const auto& [project_name, pem] :
       {std::pair<std::string, std::string>{"team-a", ca->certificate_pem()},
        {"team-b", "-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n"}}) {
    api_.create(kProjects, project(project_name));
    api_.create(
        "/api/v1/namespaces/wok-system/secrets",
        {{"apiVersion", "v1"},
         {"kind", "Secret"},
         {"metadata", {{"name", "wok-backup-s3-" + project_name}, {"namespace", "wok-system"}}},
         {"data",
          {{"AWS_ACCESS_KEY_ID", b64(project_name + "-key")},
           {"AWS_SECRET_ACCESS_KEY", b64(project_name + "-secret")},
           {"ca.crt", b64(pem)}}}});
    json site = real_site(project_name, "www",
                          {{"storage", {{{"name", "files"}, {"path", "files"}, {"size", "1Gi"}}}}});
    site["spec"]["hosts"] = {"www." + project_name + ".test"};
    api_.create(sites_path(project_name), site);
  }
  start_operator("wok-operator/a", false, default_renderer());
  const std::string store = "/api/v1/namespaces/team-a/secrets/wok.backup-store";
  ASSERT_TRUE(eventually([&] { return api_.get(store).has_value(); }));
  EXPECT_EQ((*api_.get(store))["data"]["ca.crt"], b64(ca->certificate_pem()));
  // team-b's is no certificate: no copy, and the status says why.
  ASSERT_TRUE(eventually([&] {
    auto s = get_site("team-b", "www");
    return s && (*s)["status"].contains("backup") &&
           (*s)["status"]["backup"].value("lastError", json()).is_string();
  }));
  EXPECT_EQ((*get_site("team-b", "www"))["status"]["backup"]["lastError"],
            "the project's backup repository: the store's credentials: Secret "
            "wok-system/wok-backup-s3-team-b: ca.crt is not the store's CA certificate: not a "
            "PEM certificate (expected -----BEGIN CERTIFICATE-----)");
  EXPECT_FALSE(api_.get("/api/v1/namespaces/team-b/secrets/wok.backup-store"));
}

TEST(BackupStoreFlags, OnlyAnS3StoreWithItsProjectAndCredentials) {
  EXPECT_EQ(check_backup_store("", ""), "");
  EXPECT_EQ(check_backup_store("s3:https://s3.example.org/wok/{project}", "wok-s3"), "");
  EXPECT_EQ(check_backup_store("s3:https://s3.example.org/wok/{project}", "wok-s3-{project}"), "");
  for (const auto& [repository, credentials, why] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/srv/backups/{project}", "wok-s3", "is not an s3: URL"},
           {"s3:https://s3.example.org/wok", "wok-s3", "must hold {project}"},
           {"s3:https://s3.example.org/wok/{project}", "", "needs --backup-credentials-secret"},
           {"s3:https://s3.example.org/wok/{project}", "../x", "is not a Secret's name"},
           {"s3:https://s3.example.org/wok/{project}", "Wok_S3", "is not a Secret's name"},
           {"", "wok-s3", "is for --backup-repository"},
           {"s3:https://s3.example.org/wok/{project} x", "wok-s3", "white space"}}) {
    const std::string said = check_backup_store(repository, credentials);
    EXPECT_NE(said.find(why), std::string::npos)
        << repository << " " << credentials << ": " << said;
  }
}

}  // namespace
}  // namespace wok::kube::testing
