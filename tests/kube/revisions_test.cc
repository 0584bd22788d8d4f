// A site's revisions on a cluster: ControllerRevisions the operator records
// for each deployed (spec, commit), the number stamped into the pod
// template, `wok rollout undo` (wok.dev/rollback-to), `wok refresh`
// (wok.dev/refresh), and revisions a member forged.
#include <fstream>
#include <sstream>

#include "git/repository.h"
#include "kube/operator_fixture.h"
#include "kube/site_backups.h"
#include "kube/site_revisions.h"
#include "kube/site_rollout.h"

namespace wok::kube::testing {
namespace {

const std::string kRevisions = "/apis/apps/v1/controllerrevisions";

std::string fetched_ref(const json& deployment) {
  const json& args = deployment["spec"]["template"]["spec"]["initContainers"][0]["args"];
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--ref") return args[i + 1];
  return "";
}

std::string revision_of(const json& deployment) {
  const json& t = deployment["spec"]["template"];
  if (!t.contains("metadata") || !t["metadata"].contains("annotations")) return "";
  return t["metadata"]["annotations"].value(kRevisionAnnotation, "");
}

class RevisionsTest : public OperatorTest {
 protected:
  void SetUp() override {
    OperatorTest::SetUp();
    char tmpl[] = "/tmp/wok-revisions-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
    mirror_dir_ = dir_ + "/mirrors";
    follow_git_ = true;
    renderer_checks_ = true;
    record_revisions_ = true;
    std::filesystem::create_directories(dir_ + "/files");
    Credentials creds;
    creds.server = api_.url();
    member_ = std::make_unique<KubeClient>(creds, "kubectl/member");
  }
  void TearDown() override {
    OperatorTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  std::string push(const std::string& content) {
    std::ofstream(dir_ + "/files/index.html") << content;
    std::string error;
    std::string commit =
        git::commit_directory(dir_ + "/files", dir_ + "/repo", "main", content, &error);
    EXPECT_FALSE(commit.empty()) << error;
    return commit;
  }
  json static_site(const std::string& interval, const json& extra = json::object()) {
    json spec = {
        {"mode", "static"},
        {"hosts", {"www.team-a.test"}},
        {"source", {{"git", {{"url", "file://" + dir_ + "/repo"}, {"interval", interval}}}}}};
    spec.merge_patch(extra);
    return {{"apiVersion", "wok.dev/v1alpha1"},
            {"kind", "Site"},
            {"metadata", {{"name", "www"}, {"namespace", "team-a"}}},
            {"spec", spec}};
  }
  // What `kubectl annotate` (or the wok CLI) does: a merge patch of the Site.
  void annotate(const json& annotations) {
    json patch = {{"metadata", {{"annotations", annotations}}}};
    Reply r = member_->request("PATCH", sites_path("team-a") + "/www", patch.dump(),
                               "application/merge-patch+json");
    ASSERT_TRUE(r.ok()) << r.describe();
  }
  std::vector<json> revisions() {
    std::vector<json> out;
    for (auto& r : api_.list(kRevisions))
      if (r["metadata"]["namespace"] == "team-a") out.push_back(r);
    return out;
  }
  json revision_numbered(int64_t n) {
    for (auto& r : revisions())
      if (r["revision"] == n) return r;
    return nullptr;
  }
  bool deployed(const std::string& commit, const std::string& revision) {
    auto d = deployment("team-a", "www");
    return d && fetched_ref(*d) == commit && revision_of(*d) == revision;
  }
  json status() {
    auto s = get_site("team-a", "www");
    return s && s->contains("status") ? (*s)["status"] : json::object();
  }

  std::string dir_;
  std::unique_ptr<KubeClient> member_;
};

TEST_F(RevisionsTest, ANewCommitMakesRevisionTwoAndRollsThePodTemplate) {
  const std::string first = push("v1");
  api_.create(kProjects, project("team-a"));
  json www = api_.create(sites_path("team-a"), static_site("1s"));
  start_operator("wok-operator/a", false, default_renderer());

  ASSERT_TRUE(eventually([&] { return deployed(first, "1"); }));
  ASSERT_TRUE(eventually([&] { return status().value("revision", 0) == 1; }));
  json one = revision_numbered(1);
  ASSERT_FALSE(one.is_null());
  EXPECT_EQ(one["data"]["commit"], first);
  EXPECT_EQ(one["data"]["spec"], www["spec"]);
  EXPECT_EQ(one["data"]["cause"], "created (generation 1)");
  EXPECT_EQ(one["metadata"]["labels"]["wok.dev/site"], "www");
  EXPECT_EQ(one["metadata"]["ownerReferences"][0]["uid"], www["metadata"]["uid"]);
  EXPECT_EQ(distrust(www, one), "");

  const std::string second = push("v2");
  ASSERT_TRUE(eventually([&] { return deployed(second, "2"); }));
  ASSERT_TRUE(eventually([&] { return status().value("revision", 0) == 2; }));
  EXPECT_EQ(revision_numbered(2)["data"]["cause"],
            "fetch: commit " + second.substr(0, 7) + " (was " + first.substr(0, 7) + ")");
  EXPECT_EQ(revisions().size(), 2u);
}

TEST_F(RevisionsTest, HistoryKeepsTheNewestUpToTheLimit) {
  revision_history_limit_ = 2;
  push("v1");
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), static_site("1s"));
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(eventually([&] { return status().value("revision", 0) == 1; }));
  push("v2");
  ASSERT_TRUE(eventually([&] { return status().value("revision", 0) == 2; }));
  push("v3");
  ASSERT_TRUE(eventually([&] { return status().value("revision", 0) == 3; }));
  ASSERT_TRUE(eventually([&] { return revisions().size() == 2; }));
  EXPECT_TRUE(revision_numbered(1).is_null());
  EXPECT_FALSE(revision_numbered(2).is_null());
  EXPECT_FALSE(revision_numbered(3).is_null());
}

TEST_F(RevisionsTest, UndoDeploysTheOldSpecAndCommitUntilTheSpecChanges) {
  const std::string first = push("v1");
  api_.create(kProjects, project("team-a"));
  json one_spec = static_site("1s");
  api_.create(sites_path("team-a"), one_spec);
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(
      eventually([&] { return deployed(first, "1") && status().value("revision", 0) == 1; }));

  // A new commit and a new spec (one more host): revision 2, or 2 and 3.
  const std::string second = push("v2");
  api_.update(sites_path("team-a") + "/www",
              static_site("1s", {{"hosts", {"www.team-a.test", "new.team-a.test"}}}));
  ASSERT_TRUE(eventually([&] {
    return status().value("revision", 0) >= 2 && status().value("commit", "") == second;
  })) << status().dump();
  int64_t before = status()["revision"];
  auto ing = ingress("team-a", "www");
  ASSERT_TRUE(ing);
  EXPECT_NE(ing->dump().find("new.team-a.test"), std::string::npos);

  // wok rollout undo site www --to-revision 1
  int64_t generation = (*get_site("team-a", "www"))["metadata"]["generation"];
  annotate(
      {{kRollbackToAnnotation, "1"}, {kRollbackGenerationAnnotation, std::to_string(generation)}});
  const std::string undone = std::to_string(before + 1);
  ASSERT_TRUE(eventually([&] { return deployed(first, undone); }));  // the old commit, pods rolled
  ASSERT_TRUE(eventually([&] { return status().value("pinnedRevision", 0) == 1; }));
  EXPECT_TRUE(eventually([&] {  // the old spec: one host
    auto i = ingress("team-a", "www");
    return i && i->dump().find("new.team-a.test") == std::string::npos;
  }));
  json pinned;
  const json now = status();  // a named object: the loop must not outlive it
  for (auto& c : now["conditions"])
    if (c["type"] == "Pinned") pinned = c;
  ASSERT_FALSE(pinned.is_null());
  EXPECT_EQ(pinned["status"], "True");
  EXPECT_NE(pinned["message"].get<std::string>().find("deploying revision 1"), std::string::npos);
  EXPECT_EQ(revision_numbered(before + 1)["data"]["cause"], "rollout undo to 1");
  EXPECT_EQ(status()["commit"], first);

  // Pinned: a push is not followed.
  push("v3");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(deployed(first, undone));

  // The spec changes: the pin no longer holds, the ref is followed again.
  api_.update(sites_path("team-a") + "/www",
              static_site("1s", {{"hosts", {"www.team-a.test", "v3.team-a.test"}}}));
  EXPECT_TRUE(eventually([&] {
    auto d = deployment("team-a", "www");
    return d && fetched_ref(*d) != first && !status().contains("pinnedRevision");
  }));
}

// A restore in place runs the backup's revision, as on wok up: the
// restore Job's container says which (its termination message) and the
// operator pins it as an undo does, when this cluster still keeps it.
TEST_F(RevisionsTest, ARestoreInPlacePinsTheBackupsRevision) {
  const std::string first = push("v1");
  api_.create(kProjects, project("team-a"));
  const json keeps = {{"backup", {{"schedule", "0 3 * * *"}}}};
  api_.create(sites_path("team-a"), static_site("1s", keeps));
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(
      eventually([&] { return deployed(first, "1") && status().value("revision", 0) == 1; }));
  const std::string second = push("v2");
  ASSERT_TRUE(
      eventually([&] { return deployed(second, "2") && status().value("revision", 0) == 2; }));

  const std::string jobs = "/apis/batch/v1/namespaces/team-a/jobs/";
  auto restore = [&](const std::string& token, const json& said) {
    RolloutResult asked = kube_restore_request(*member_, "team-a", "www", "0a1b2c3d", token);
    ASSERT_TRUE(asked.ok) << asked.text;
    const std::string job = restore_job_name("www", token);
    ASSERT_TRUE(eventually([&] { return api_.get(jobs + job).has_value(); }));
    // A pod that only carries the Job's label (any pod may) is not heard.
    job_pod_said("team-a", job, job + "-forged", "restore",
                 json{{"revision", 2}, {"commit", second}}.dump(), false, true);
    job_pod_said("team-a", job, job + "-x1y2z", "restore", said.dump(), true, true);
    api_.set_status(jobs + job, {{"succeeded", 1}});
  };
  auto restored = [&] {
    const json st = status();
    return st.contains("restore") && st["restore"].value("phase", "") == "Restored"
               ? st["restore"].value("message", "")
               : std::string();
  };
  // The backup was made of revision 1: it runs again, pinned.
  restore("t1", {{"revision", 1}, {"commit", first}});
  ASSERT_TRUE(eventually([&] { return !restored().empty(); }));
  EXPECT_NE(
      restored().find("the backup's revision 1 (commit " + first.substr(0, 7) + ") is pinned"),
      std::string::npos)
      << restored();
  ASSERT_TRUE(
      eventually([&] { return deployed(first, "3") && status().value("pinnedRevision", 0) == 1; }));
  EXPECT_EQ(revision_numbered(3)["data"]["cause"], "rollout undo to 1");

  // A backup of a revision this cluster no longer keeps: said so, nothing
  // pinned anew (the site keeps what it runs).
  restore("t2", {{"revision", 99}, {"commit", second}});
  ASSERT_TRUE(eventually([&] {
    return restored().find("revision 99 is no longer kept") != std::string::npos;
  })) << restored();
  EXPECT_EQ(status().value("pinnedRevision", 0), 1);
  // A container that said nothing (an older wok image): unknown, said so.
  restore("t3", json::object());
  ASSERT_TRUE(eventually([&] {
    return restored().find("revision is unknown") != std::string::npos;
  })) << restored();
}

TEST_F(RevisionsTest, ARefreshAnnotationResolvesTheRefNow) {
  const std::string first = push("v1");
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), static_site("1h"));
  Operator& op = start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(eventually([&] { return deployed(first, "1"); }));
  const std::string second = push("v2");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(deployed(first, "1"));  // an hour's interval: not yet

  annotate({{kRefreshAnnotation, "2026-12-02T20:00:00Z"}});
  ASSERT_TRUE(eventually([&] { return deployed(second, "2"); }));

  // The same call a push webhook makes.
  const std::string third = push("v3");
  op.refresh("team-a", "www");
  EXPECT_TRUE(
      eventually([&] { return deployed(third, "3") && status().value("revision", 0) == 3; }));
  // Handled once: the same annotation asks for nothing more, and a steady state writes nothing.
  EXPECT_EQ(writes_during_quiet_period(), 0);
  EXPECT_EQ(revisions().size(), 3u);
}

// A member who could write ControllerRevisions (members may only read them)
// forges one to deploy a spec that never passed the operator's checks.
TEST_F(RevisionsTest, AForgedRevisionIsRefusedAndNothingChanges) {
  const std::string first = push("v1");
  api_.create(kProjects, project("team-a"));
  json www = api_.create(sites_path("team-a"), static_site("1s"));
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(
      eventually([&] { return deployed(first, "1") && status().value("revision", 0) == 1; }));

  json hostile = www["spec"];
  hostile["hosts"] = {"www.team-b.test"};  // another project's host
  // Labels and owner copied from a real one, hash not recomputed.
  json forged = revision_object(www, 7, hostile, first, "created (generation 1)", 1);
  forged["metadata"]["name"] = "www-forged";
  forged["metadata"]["annotations"][kRevisionHashAnnotation] = "0";
  api_.create("/apis/apps/v1/namespaces/team-a/controllerrevisions", forged);
  annotate({{kRollbackToAnnotation, "7"}});
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "www") == "RevisionNotFound"; }));
  std::string message = status()["lastError"];
  EXPECT_NE(message.find("controllerrevision www-forged: its wok.dev/revision-hash does not match"),
            std::string::npos)
      << message;
  EXPECT_TRUE(deployed(first, "1"));

  // Whole, with the hash recomputed (the recipe is no secret): its spec is
  // checked again, and refused.
  json whole = revision_object(www, 8, hostile, first, "created (generation 1)", 1);
  api_.create("/apis/apps/v1/namespaces/team-a/controllerrevisions", whole);
  annotate({{kRollbackToAnnotation, "8"}});
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "www") == "RevisionInvalid"; }));
  message = status()["lastError"];
  EXPECT_NE(message.find("cannot roll back to revision 8: "), std::string::npos) << message;
  EXPECT_NE(message.find("www.team-b.test"), std::string::npos) << message;
  EXPECT_TRUE(deployed(first, "1"));
  auto ing = ingress("team-a", "www");
  ASSERT_TRUE(ing);
  EXPECT_EQ((*ing)["spec"]["rules"][0]["host"], "www.team-a.test");
  EXPECT_EQ(status()["revision"], 1);

  // A number that is not one.
  annotate({{kRollbackToAnnotation, "latest"}});
  ASSERT_TRUE(eventually([&] { return ready_reason("team-a", "www") == "RollbackInvalid"; }));
  EXPECT_EQ(status()["lastError"],
            "annotation wok.dev/rollback-to: \"latest\" is not a revision number");
}

// `wok db upgrade --kubeconfig`: the version and its annotation in one
// patch (the webhook, not run by the scripted API, judges it:
// WebhookTest.ADatabaseVersionChangesOnlyByWokDbUpgradeWhereItCan).
TEST_F(RevisionsTest, TheClientAsksForADatabaseUpgrade) {
  api_.create(kProjects, project("team-a"));
  json www = static_site("1h");
  www["spec"]["mode"] = "app";
  www["spec"]["app"] = {{"components", {{{"name", "web"}, {"image", "x:1"}, {"port", 80}}}}};
  www["spec"]["database"] = {{"engine", "postgresql"}, {"version", "13"}, {"size", "1Gi"}};
  api_.create(sites_path("team-a"), www);
  RolloutResult up = kube_db_upgrade(*member_, "team-a", "www", "15");
  ASSERT_TRUE(up.ok) << up.text;
  EXPECT_EQ(up.text,
            "site.wok.dev/www: database upgrade from postgresql 13 to 15 requested: CloudNativePG "
            "upgrades the data before 15 starts (kubectl get clusters.postgresql.cnpg.io www-db -n "
            "team-a)\n");
  auto got = api_.get(sites_path("team-a") + "/www");
  ASSERT_TRUE(got.has_value());
  const json& now = *got;
  EXPECT_EQ(now["spec"]["database"]["version"], "15");
  EXPECT_EQ(now["spec"]["database"]["engine"], "postgresql");
  EXPECT_EQ(now["metadata"]["annotations"]["wok.dev/database-upgrade"], "15");
  EXPECT_EQ(kube_db_upgrade(*member_, "team-a", "www", "15").text,
            "site \"www\"'s database runs postgresql 15 already");
  EXPECT_EQ(kube_db_upgrade(*member_, "team-a", "www", "13").text,
            "site \"www\"'s database runs postgresql 15; it is never downgraded to 13 (a dump "
            "imported into a new site is the way back)");
  EXPECT_EQ(kube_db_upgrade(*member_, "team-a", "www", "16; rm").text,
            "--to \"16; rm\" is not a version");
  EXPECT_FALSE(kube_db_upgrade(*member_, "team-a", "ghost", "16").ok);
  json plain = static_site("1h");
  plain["metadata"]["name"] = "plain";
  api_.create(sites_path("team-a"), plain);
  EXPECT_EQ(kube_db_upgrade(*member_, "team-a", "plain", "16").text,
            "site \"plain\" has no database (spec.database)");
}

// What `wok rollout history|undo` and `wok refresh` do with a kubeconfig.
TEST_F(RevisionsTest, TheClientPrintsHistoryUndoesAndRefreshes) {
  const std::string first = push("v1");
  api_.create(kProjects, project("team-a"));
  json www = api_.create(sites_path("team-a"), static_site("1h"));
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(
      eventually([&] { return deployed(first, "1") && status().value("revision", 0) == 1; }));
  const std::string second = push("v2");
  RolloutResult refreshed = kube_refresh(*member_, "team-a", "www", "2026-12-02T20:00:00Z");
  ASSERT_TRUE(refreshed.ok) << refreshed.text;
  EXPECT_EQ(refreshed.text, "site.wok.dev/www refresh requested\n");
  ASSERT_TRUE(
      eventually([&] { return deployed(second, "2") && status().value("revision", 0) == 2; }));
  // A forged one labelled for the site is not listed.
  json forged = revision_object(www, 9, www["spec"], first, "x", 1);
  forged["metadata"]["annotations"][kRevisionHashAnnotation] = "0";
  api_.create("/apis/apps/v1/namespaces/team-a/controllerrevisions", forged);

  RolloutResult history = kube_rollout_history(*member_, "team-a", "www");
  ASSERT_TRUE(history.ok) << history.text;
  std::string created1 = revision_numbered(1)["metadata"]["creationTimestamp"];
  std::string created2 = revision_numbered(2)["metadata"]["creationTimestamp"];
  EXPECT_EQ(history.text,
            "REVISION   COMMIT    CREATED                CAUSE\n"
            "1          " +
                first.substr(0, 7) + "   " + created1 + std::string(23 - created1.size(), ' ') +
                "created (generation 1)\n"
                "2 (live)   " +
                second.substr(0, 7) + "   " + created2 + std::string(23 - created2.size(), ' ') +
                "fetch: commit " + second.substr(0, 7) + " (was " + first.substr(0, 7) +
                ")\n"
                "1 controllerrevision(s) labelled for this site were not made by the operator and "
                "are not listed\n");

  RolloutResult undone =
      kube_rollout_undo(*member_, "team-a", "www", 0);  // the one before the live one
  ASSERT_TRUE(undone.ok) << undone.text;
  EXPECT_EQ(undone.text, "site.wok.dev/www rolled back to revision 1\n");
  ASSERT_TRUE(
      eventually([&] { return deployed(first, "3") && status().value("pinnedRevision", 0) == 1; }));
  EXPECT_FALSE(
      kube_rollout_undo(*member_, "team-a", "www", 9).ok);  // the forged one is no revision
  EXPECT_EQ(kube_rollout_undo(*member_, "team-a", "ghost", 1).text,
            "site \"ghost\" not found in namespace \"team-a\"");

  // A refresh ends the pin: the ref is followed again.
  ASSERT_TRUE(kube_refresh(*member_, "team-a", "www", "2026-12-02T20:01:00Z").ok);
  EXPECT_TRUE(
      eventually([&] { return deployed(second, "4") && !status().contains("pinnedRevision"); }));
}

// What `wok rollout history|undo --kubeconfig` and `wok refresh --kubeconfig`
// run: the kubeconfig read, the verb against the API, the words printed.
TEST_F(RevisionsTest, TheCliVerbsReadTheKubeconfigAndPrint) {
  const std::string first = push("v1");
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), static_site("1h"));
  start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(
      eventually([&] { return deployed(first, "1") && status().value("revision", 0) == 1; }));
  const std::string kubeconfig = dir_ + "/kubeconfig";
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
                               "clusters: [{name: c, cluster: {server: \"" +
                                   api_.url() +
                                   "\"}}]\n"
                                   "users: [{name: alice, user: {token: t}}]\n"
                                   "contexts: [{name: dev, context: {cluster: c, user: alice}}]\n";
  std::ostringstream out, err;
  EXPECT_EQ(run_site_verb(SiteVerb::kHistory, kubeconfig, "", "team-a", "www", 0, out, err), 0)
      << err.str();
  EXPECT_NE(out.str().find("1 (live)   " + first.substr(0, 7)), std::string::npos) << out.str();
  out.str("");
  EXPECT_EQ(run_site_verb(SiteVerb::kRefresh, kubeconfig, "dev", "team-a", "www", 0, out, err), 0)
      << err.str();
  EXPECT_EQ(out.str(), "site.wok.dev/www refresh requested\n");
  auto site = get_site("team-a", "www");
  ASSERT_TRUE(site);
  EXPECT_TRUE((*site)["metadata"]["annotations"].contains(kRefreshAnnotation)) << site->dump();
  // Each failure names its problem, exit code 1.
  err.str("");
  EXPECT_EQ(run_site_verb(SiteVerb::kUndo, kubeconfig, "", "team-a", "www", 7, out, err), 1);
  EXPECT_EQ(err.str(),
            "error: site \"www\" has no revision 7: see `wok rollout history site www`\n");
  err.str("");
  EXPECT_EQ(run_site_verb(SiteVerb::kHistory, kubeconfig, "", "", "www", 0, out, err), 1);
  EXPECT_NE(err.str().find("-n PROJECT"), std::string::npos) << err.str();
  err.str("");
  EXPECT_EQ(run_site_verb(SiteVerb::kHistory, dir_ + "/none", "", "team-a", "www", 0, out, err), 1);
  EXPECT_NE(err.str().find(dir_ + "/none"), std::string::npos) << err.str();
  err.str("");
  EXPECT_EQ(run_site_verb(SiteVerb::kHistory, kubeconfig, "prod", "team-a", "www", 0, out, err), 1);
  EXPECT_NE(err.str().find("prod"), std::string::npos) << err.str();
}

// A member rewriting wok.dev/refresh in a loop costs at most one fetch per
// min_refresh_gap per site (here an hour: none after the first).
TEST_F(RevisionsTest, RefreshesAreRateLimitedPerSite) {
  min_refresh_gap_ = std::chrono::hours(1);
  const std::string first = push("v1");
  api_.create(kProjects, project("team-a"));
  api_.create(sites_path("team-a"), static_site("1h"));
  Operator& op = start_operator("wok-operator/a", false, default_renderer());
  ASSERT_TRUE(
      eventually([&] { return deployed(first, "1") && status().value("revision", 0) == 1; }));
  auto metric = [&](const std::string& name) {
    std::string m = op.metrics();
    auto at = m.find("\n" + name + " ");  // the sample, not its # HELP line
    return at == std::string::npos ? -1 : std::stoi(m.substr(at + name.size() + 2));
  };
  const int fetches = metric("wok_operator_git_fetches_total");
  const int reconciles = metric("wok_operator_reconciles_total");
  ASSERT_GE(fetches, 1);
  push("v2");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        kube_refresh(*member_, "team-a", "www", "2026-12-03T09:00:0" + std::to_string(i) + "Z").ok);
    op.refresh("team-a", "www");  // a push webhook
  }
  // The refreshes were reconciled; none fetched, the site still runs revision 1.
  ASSERT_TRUE(
      eventually([&] { return metric("wok_operator_reconciles_total") >= reconciles + 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(metric("wok_operator_git_fetches_total"), fetches);
  EXPECT_EQ(status().value("revision", 0), 1);
}

TEST(SiteRevisionsTest, DistrustsWhatTheOperatorDidNotWrite) {
  json site = {{"metadata", {{"name", "www"}, {"namespace", "a"}, {"uid", "u1"}}}};
  json spec = {{"mode", "static"}};
  json good = revision_object(site, 3, spec, "c0ffee", "x", 2);
  EXPECT_EQ(distrust(site, good), "");
  json other_site = site;
  other_site["metadata"]["uid"] = "u2";  // same name, recreated
  EXPECT_NE(distrust(other_site, good), "");
  json renumbered = good;
  renumbered["revision"] = 4;
  EXPECT_NE(distrust(site, renumbered).find("does not match"), std::string::npos);
  json edited = good;
  edited["data"]["commit"] = "bad";
  EXPECT_NE(distrust(site, edited).find("does not match"), std::string::npos);
  json unlabelled = good;
  unlabelled["metadata"]["labels"].erase("app.kubernetes.io/managed-by");
  EXPECT_NE(distrust(site, unlabelled), "");
  std::vector<std::string> refused;
  auto list = site_revisions(site, {good, edited}, &refused);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].number, 3);
  EXPECT_EQ(refused.size(), 1u);
}

TEST(SiteRevisionsTest, PrunesTheOldestButNeverThePinned) {
  std::vector<SiteRevision> newest_first;
  for (int n = 5; n >= 1; --n)
    newest_first.push_back({n, "r" + std::to_string(n), {}, "", "", 0, ""});
  EXPECT_EQ(revisions_over_limit(newest_first, 3, 0), (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(revisions_over_limit(newest_first, 3, 1), (std::vector<std::string>{"r2"}));
  EXPECT_TRUE(revisions_over_limit(newest_first, 10, 0).empty());
}

TEST(SiteRevisionsTest, ReadsThePinAndItsGeneration) {
  json site = {{"metadata", {{"generation", 4}, {"annotations", {{kRollbackToAnnotation, "2"}}}}}};
  EXPECT_EQ(pin_request(site).revision, 2);
  EXPECT_FALSE(pin_request(site).stale);
  site["metadata"]["annotations"][kRollbackGenerationAnnotation] = "3";
  EXPECT_TRUE(pin_request(site).stale);
  site["metadata"]["annotations"][kRollbackGenerationAnnotation] = "4";
  EXPECT_FALSE(pin_request(site).stale);
  site["metadata"]["annotations"][kRollbackToAnnotation] = "-1";
  EXPECT_NE(pin_request(site).error, "");
}

}  // namespace
}  // namespace wok::kube::testing
