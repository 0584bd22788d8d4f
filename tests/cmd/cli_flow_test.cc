// The commands end to end against a scripted HTTP server: what is sent
// (method, path, Authorization, body) and what is printed.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cmd/cli.h"
#include "fake_api_server.h"
#include "test_env.h"

namespace wok::cmd {
namespace {

using nlohmann::json;
using testing::FakeApiServer;
using testing::ScopedEnv;
using testing::TempDir;

const std::string kBase = "/apis/wok.dev/v1alpha1";

const char kProjectYaml[] = R"(apiVersion: wok.dev/v1alpha1
kind: Project
metadata:
  name: team-a
spec:
  hosts: ["*.team-a.example.org"]
)";

const char kSiteYaml[] = R"(apiVersion: wok.dev/v1alpha1
kind: Site
metadata:
  name: www
  namespace: team-a
spec:
  mode: static
  hosts: [www.team-a.example.org]
  source:
    git:
      url: https://git.example.org/www.git
)";

json status(int code, const std::string& reason, const std::string& message) {
  return {{"apiVersion", "v1"}, {"kind", "Status"}, {"status", "Failure"},
          {"code", code},       {"reason", reason}, {"message", message}};
}

// The site as the server stores it: defaults filled in, metadata and status added.
json live_site() {
  return {
      {"apiVersion", "wok.dev/v1alpha1"},
      {"kind", "Site"},
      {"metadata",
       {{"name", "www"},
        {"namespace", "team-a"},
        {"resourceVersion", "12"},
        {"uid", "u1"},
        {"creationTimestamp", "2026-11-25T10:00:00Z"},
        {"labels", json::object()}}},
      {"spec",
       {{"mode", "static"},
        {"hosts", {"www.team-a.example.org"}},
        {"source",
         {{"git",
           {{"url", "https://git.example.org/www.git"}, {"ref", "main"}, {"interval", "3m"}}}}}}},
      {"status",
       {{"revision", 3},
        {"commit", "4f2c1e0d9a8b"},
        {"urls", {"http://www.team-a.example.org:8080/"}},
        {"conditions",
         {{{"type", "Ready"},
           {"status", "True"},
           {"reason", "Deployed"},
           {"message", "revision 3 serves commit 4f2c1e0"}}}}}}};
}

class CliFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.set("WOK_CONFIG", dir_.path() + "/no-config.yaml");
    env_.unset("WOK_SERVER");
    env_.unset("WOK_TOKEN");
  }

  // Runs `wok ARGS --server URL --token T`.
  int wok(std::vector<std::string> args, const std::string& stdin_text = "", bool auth = true) {
    args.insert(args.begin(), "wok");
    if (auth) args.insert(args.end(), {"--server", server_.url(), "--token", "t0ken"});
    std::istringstream in(stdin_text);
    out_.str("");
    err_.str("");
    return run(args, {}, in, out_, err_);
  }

  ScopedEnv env_;
  TempDir dir_;
  FakeApiServer server_;
  std::ostringstream out_, err_;
};

// Runners with one command's work (designated initializers would leave the
// others unnamed, which -Wextra refuses).
Runners op_runner(OperatorCommand op) {
  Runners runners;
  runners.op = std::move(op);
  return runners;
}

Runners up_runner(UpCommand up) {
  Runners runners;
  runners.up = std::move(up);
  return runners;
}

TEST_F(CliFlowTest, ApplyCreatesProjectsBeforeSites) {
  std::string file = dir_.write("all.yaml", std::string(kSiteYaml) + "---\n" + kProjectYaml);
  server_.reply(404, status(404, "NotFound", "not found").dump());
  server_.reply(201, "{}");
  server_.reply(404, status(404, "NotFound", "not found").dump());
  server_.reply(201, "{}");
  EXPECT_EQ(wok({"apply", "-f", file}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "project.wok.dev/team-a created\nsite.wok.dev/www created\n");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, kBase + "/projects/team-a");
  EXPECT_EQ(requests[0].authorization, "Bearer t0ken");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, kBase + "/projects");
  EXPECT_EQ(requests[1].content_type, "application/json");
  EXPECT_EQ(json::parse(requests[1].body)["metadata"]["name"], "team-a");
  EXPECT_EQ(requests[2].path, kBase + "/namespaces/team-a/sites/www");
  EXPECT_EQ(requests[3].method, "POST");
  EXPECT_EQ(requests[3].path, kBase + "/namespaces/team-a/sites");
  json sent = json::parse(requests[3].body);
  EXPECT_EQ(sent["spec"]["source"]["git"]["url"], "https://git.example.org/www.git");
}

TEST_F(CliFlowTest, ApplyLeavesEqualObjectsAloneDespiteServerDefaults) {
  std::string file = dir_.write("www.yaml", kSiteYaml);
  server_.reply(200, live_site().dump());
  EXPECT_EQ(wok({"apply", "-f", file}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "site.wok.dev/www unchanged\n");
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(CliFlowTest, ApplyReplacesChangedObjectsUnconditionally) {
  std::string text = kSiteYaml;
  text.replace(text.find("  name: www\n"), 12,
               "  name: www\n  resourceVersion: \"3\"\n  labels: {tier: web}\n");
  std::string file = dir_.write("www.yaml", text);
  server_.reply(200, live_site().dump());
  server_.reply(200, live_site().dump());
  EXPECT_EQ(wok({"apply", "-f", file}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "site.wok.dev/www configured\n");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].path, kBase + "/namespaces/team-a/sites/www");
  json sent = json::parse(requests[1].body);
  EXPECT_FALSE(sent["metadata"].contains("resourceVersion"));
  EXPECT_EQ(sent["metadata"]["labels"]["tier"], "web");
}

TEST_F(CliFlowTest, ApplySiteWithoutNamespaceUsesTheProjectFlag) {
  std::string text = kSiteYaml;
  text.erase(text.find("  namespace: team-a\n"), 20);
  server_.reply(404, "{}");
  server_.reply(201, "{}");
  EXPECT_EQ(wok({"apply", "-f", "-", "-n", "team-b"}, text), 0) << err_.str();
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].path, kBase + "/namespaces/team-b/sites");
  EXPECT_EQ(json::parse(requests[1].body)["metadata"]["namespace"], "team-b");
}

TEST_F(CliFlowTest, ApplyWithBadYamlSendsNothing) {
  std::string good = dir_.write("a.yaml", kProjectYaml);
  std::string bad = dir_.write("b.yaml", "kind: Site\nmetadata:\n  name: [www\n");
  EXPECT_EQ(wok({"apply", "-f", good, "-f", bad}), 1);
  EXPECT_EQ(err_.str().rfind("error: " + bad + ": line ", 0), 0u) << err_.str();
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(CliFlowTest, ApplyWithAWrongKindSendsNothing) {
  std::string file = dir_.write(
      "a.yaml", std::string(kProjectYaml) +
                    "---\napiVersion: wok.dev/v1alpha1\nkind: ConfigMap\nmetadata: {name: x}\n");
  EXPECT_EQ(wok({"apply", "-f", file}), 1);
  EXPECT_EQ(err_.str(),
            "error: " + file +
                " (document 2): kind \"ConfigMap\" is not supported: wok apply accepts Project, "
                "Site and Secret\n");
  EXPECT_TRUE(server_.requests().empty());
}

// A Kubernetes v1 Secret applies as is, after its Project and before the
// Sites that read it; a bad one sends nothing and quotes no value.
TEST_F(CliFlowTest, ApplySecretsBetweenProjectsAndSites) {
  const std::string secret =
      "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: team-a}\nstringData: "
      "{PASSWORD: s3cret}\n";
  std::string file =
      dir_.write("all.yaml", std::string(kSiteYaml) + "---\n" + secret + "---\n" + kProjectYaml);
  server_.reply(404, status(404, "NotFound", "not found").dump());
  server_.reply(201, "{}");
  server_.reply(201, "{}");
  server_.reply(404, status(404, "NotFound", "not found").dump());
  server_.reply(201, "{}");
  EXPECT_EQ(wok({"apply", "-f", file}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "project.wok.dev/team-a created\nsecret/db created\nsite.wok.dev/www created\n");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[2].method, "PUT");
  EXPECT_EQ(requests[2].path, kBase + "/namespaces/team-a/secrets/db");
  EXPECT_EQ(json::parse(requests[2].body)["stringData"]["PASSWORD"], "s3cret");

  std::string bad =
      dir_.write("bad.yaml",
                 "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: team-a}\n"
                 "data: {PASSWORD: not-base64!}\n");
  err_.str("");
  EXPECT_EQ(wok({"apply", "-f", bad}), 1);
  EXPECT_EQ(err_.str(), "error: " + bad +
                            ": secret \"db\" is invalid: data.PASSWORD: is not base64 (use "
                            "stringData for plain text)\n");
  EXPECT_EQ(server_.requests().size(), 5u);
}

TEST_F(CliFlowTest, ApplyReportsServerErrorsAndGoesOn) {
  std::string blog = kSiteYaml;
  blog.replace(blog.find("name: www"), 9, "name: blog");
  std::string file = dir_.write("sites.yaml", std::string(kSiteYaml) + "---\n" + blog);
  server_.reply(404, "{}");
  server_.reply(
      409,
      status(409, "Conflict", "host \"www.team-a.example.org\" is claimed by site \"old\"").dump());
  server_.reply(404, "{}");
  server_.reply(201, "{}");
  EXPECT_EQ(wok({"apply", "-f", file}), 1);
  EXPECT_EQ(err_.str(),
            "error: site \"www\" (project team-a): host \"www.team-a.example.org\" is claimed by "
            "site \"old\"\n");
  EXPECT_EQ(out_.str(), "site.wok.dev/blog created\n");
  EXPECT_EQ(server_.requests().size(), 4u);
}

TEST_F(CliFlowTest, ApplyStopsWhenTheTokenIsRefused) {
  std::string file = dir_.write("all.yaml", std::string(kProjectYaml) + "---\n" + kSiteYaml);
  server_.reply(401, status(401, "Unauthorized", "unknown token").dump());
  EXPECT_EQ(wok({"apply", "-f", file}), 1);
  EXPECT_EQ(err_.str(),
            "error: the server refused the token (401 Unauthorized): check --token / WOK_TOKEN\n");
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(CliFlowTest, GetSitesOfAllProjectsHasAProjectColumn) {
  server_.reply(200, json({{"kind", "SiteList"}, {"items", {live_site()}}}).dump());
  EXPECT_EQ(wok({"get", "sites"}), 0) << err_.str();
  EXPECT_EQ(server_.requests()[0].path, kBase + "/sites");
  EXPECT_EQ(
      out_.str().rfind("PROJECT   NAME   MODE     HOSTS                    READY   REVISION   AGE\n"
                       "team-a    www    static   www.team-a.example.org   True    3          ",
                       0),
      0u)
      << out_.str();
}

TEST_F(CliFlowTest, GetOneSiteAsYamlAndJson) {
  server_.reply(200, live_site().dump());
  EXPECT_EQ(wok({"get", "site", "www", "-n", "team-a", "-o", "yaml"}), 0) << err_.str();
  EXPECT_EQ(server_.requests()[0].path, kBase + "/namespaces/team-a/sites/www");
  EXPECT_EQ(out_.str().rfind("apiVersion: wok.dev/v1alpha1\nkind: Site\n", 0), 0u) << out_.str();
  server_.reply(200, live_site().dump());
  EXPECT_EQ(wok({"get", "site", "www", "--project", "team-a", "-o", "json"}), 0) << err_.str();
  EXPECT_EQ(json::parse(out_.str()), live_site());
}

TEST_F(CliFlowTest, GetEmptyListAndNotFound) {
  server_.reply(200, R"({"kind": "ProjectList", "items": []})");
  EXPECT_EQ(wok({"get", "projects"}), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "No resources found.\n");
  server_.reply(404, status(404, "NotFound", "sites \"x\" not found").dump());
  EXPECT_EQ(wok({"get", "site", "x", "-n", "team-a"}), 1);
  EXPECT_EQ(err_.str(), "error: site \"x\" not found in project \"team-a\"\n");
}

TEST_F(CliFlowTest, ForbiddenShowsTheServerMessage) {
  server_.reply(403,
                status(403, "Forbidden", "alice may not list sites in project \"team-b\"").dump());
  EXPECT_EQ(wok({"get", "sites", "-n", "team-b"}), 1);
  EXPECT_EQ(err_.str(), "error: alice may not list sites in project \"team-b\"\n");
}

TEST_F(CliFlowTest, DescribeSiteShowsSourceConditionsAndRecentRevisions) {
  server_.reply(200, live_site().dump());
  json revisions = json::array();
  for (int r = 7; r >= 1; --r) {
    revisions.push_back({{"revision", r},
                         {"commit", "c" + std::to_string(r) + "ffffffff"},
                         {"outcome", "Deployed"},
                         {"live", r == 7},
                         {"createdAt", "2026-11-25T10:00:00Z"}});
  }
  server_.reply(200, json({{"kind", "RevisionList"}, {"items", revisions}}).dump());
  EXPECT_EQ(wok({"describe", "site", "www", "-n", "team-a"}), 0) << err_.str();
  std::string text = out_.str();
  EXPECT_NE(text.find("Name:         www\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Project:      team-a\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  URL:        https://git.example.org/www.git\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  Interval:   3m\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Ready   True     Deployed   revision 3 serves commit 4f2c1e0\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("c2fffff"), std::string::npos) << text;  // only the last five
  EXPECT_LT(text.find("c3fffff"), text.find("c7fffff   Deployed (live)")) << text;
  EXPECT_EQ(server_.requests()[1].path, kBase + "/namespaces/team-a/sites/www/revisions");
}

TEST_F(CliFlowTest, DescribeSiteShowsItsCertificate) {
  json site = live_site();
  site["status"]["tls"] = {
      {"mode", "auto"},
      {"hosts", {"www.team-a.example.org"}},
      {"issuer", "R11"},
      {"notAfter", "2027-03-03T11:57:13Z"},
      {"message", "the CA could not validate www.team-a.example.org over HTTP-01"},
      {"retryAt", "2026-12-03T12:00:00Z"}};
  server_.reply(200, site.dump());
  server_.reply(200, json({{"kind", "RevisionList"}, {"items", json::array()}}).dump());
  EXPECT_EQ(wok({"describe", "site", "www", "-n", "team-a"}), 0) << err_.str();
  std::string text = out_.str();
  EXPECT_NE(text.find("TLS:          auto\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Issuer:     R11\n"), std::string::npos) << text;
  EXPECT_NE(text.find("2027-03-03T11:57:13Z"), std::string::npos) << text;
  EXPECT_NE(text.find("over HTTP-01 (next try 2026-12-03T12:00:00Z)"), std::string::npos) << text;
}

TEST_F(CliFlowTest, DeleteRolloutRefreshAndToken) {
  server_.reply(200, "{}");
  EXPECT_EQ(wok({"delete", "site", "www", "-n", "team-a"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "site.wok.dev/www deleted\n");
  server_.reply(200, live_site().dump());
  EXPECT_EQ(wok({"rollout", "undo", "site", "www", "-n", "team-a", "--to-revision", "2"}), 0)
      << err_.str();
  EXPECT_EQ(out_.str(), "site.wok.dev/www rolled back to revision 2\n");
  server_.reply(202, live_site().dump());
  EXPECT_EQ(wok({"refresh", "site", "www", "-n", "team-a"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "site.wok.dev/www refresh requested\n");
  server_.reply(201, R"({"user": "alice", "token": "wok_abc"})");
  EXPECT_EQ(wok({"token", "create", "alice"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "wok_abc\n");

  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method, "DELETE");
  EXPECT_EQ(requests[0].path, kBase + "/namespaces/team-a/sites/www");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, kBase + "/namespaces/team-a/sites/www/rollback");
  EXPECT_EQ(json::parse(requests[1].body), json({{"toRevision", 2}}));
  EXPECT_EQ(requests[2].path, kBase + "/namespaces/team-a/sites/www/refresh");
  EXPECT_EQ(requests[3].path, kBase + "/tokens");
  EXPECT_EQ(json::parse(requests[3].body), json({{"user", "alice"}}));
}

TEST_F(CliFlowTest, RolloutHistoryIsOldestFirst) {
  server_.reply(
      200,
      json(
          {{"items",
            {{{"revision", 2},
              {"commit", "bbbbbbbbb"},
              {"outcome", "Failed"},
              {"message", "build failed"}},
             {{"revision", 1}, {"commit", "aaaaaaaaa"}, {"outcome", "Deployed"}, {"live", true}}}}})
          .dump());
  EXPECT_EQ(wok({"rollout", "history", "site", "www", "-n", "team-a"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "REVISION   COMMIT    OUTCOME           CREATED   BY       CAUSE    MESSAGE\n"
            "1          aaaaaaa   Deployed (live)   <none>    <none>   <none>\n"
            "2          bbbbbbb   Failed            <none>    <none>   <none>   build failed\n");
}

TEST_F(CliFlowTest, VersionAsksTheServerWithoutNeedingAToken) {
  server_.reply(200, R"({"version": "9.9.9"})");
  EXPECT_EQ(wok({"version", "--server", server_.url()}, "", false), 0) << err_.str();
  EXPECT_EQ(out_.str(), "Client Version: 0.1.0\nServer Version: 9.9.9\n");
  EXPECT_EQ(server_.requests()[0].path, "/version");
  EXPECT_EQ(server_.requests()[0].authorization, "");
}

TEST_F(CliFlowTest, MissingTokenSaysWhatToDo) {
  EXPECT_EQ(wok({"get", "sites", "--server", server_.url()}, "", false), 1);
  EXPECT_EQ(err_.str(),
            "error: no token: run `wok up` on this machine, or pass --token / set WOK_TOKEN\n");
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(CliFlowTest, UnreachableServerSaysWhatToDo) {
  int port;
  {
    FakeApiServer gone;
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(wok({"get", "projects", "--server", url, "--token", "t"}, "", false), 1);
  EXPECT_EQ(err_.str().rfind("error: cannot reach the wok API at " + url + " (", 0), 0u)
      << err_.str();
  EXPECT_NE(err_.str().find("): is `wok up` running?\n"), std::string::npos) << err_.str();
}

TEST_F(CliFlowTest, UsageErrorsExitTwo) {
  EXPECT_EQ(wok({"get", "pods"}), 2);
  EXPECT_NE(err_.str().find("pods"), std::string::npos) << err_.str();
  EXPECT_EQ(wok({"frobnicate"}), 2);
  EXPECT_EQ(wok({}), 2);
  EXPECT_EQ(wok({"--help"}, "", false), 0);
  EXPECT_TRUE(server_.requests().empty());
}

// `wok operator --serve-*`: checked before the operator starts (a bad value
// exits 2 naming the flag and never reaches it), handed over as the
// arguments sites' `wok serve` get.
TEST_F(CliFlowTest, OperatorChecksItsServeLimitsAndPassesThemOn) {
  OperatorOptions seen;
  int calls = 0;
  auto op = [&](const OperatorOptions& options) {
    seen = options;
    ++calls;
    return 0;
  };
  std::istringstream in;
  std::vector<std::string> good = {"wok", "operator", "--serve-max-body", "8Mi",
                                   "--serve-idle-timeout=30s"};
  EXPECT_EQ(run(good, op_runner(op), in, out_, err_), 0);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.serve_args, (std::vector<std::string>{"--max-body=8Mi", "--idle-timeout=30s"}));

  std::vector<std::string> bad = {"wok", "operator", "--serve-max-body", "lots"};
  EXPECT_EQ(run(bad, op_runner(op), in, out_, err_), 2);
  EXPECT_EQ(calls, 1);
  EXPECT_NE(err_.str().find("--serve-max-body \"lots\": is not a size"), std::string::npos)
      << err_.str();
}

// `wok rollout history|undo` and `wok refresh` with --kubeconfig/--context
// go to the cluster's runner, with no wok server or token; without them,
// to wok up's API server as before.
TEST_F(CliFlowTest, RevisionVerbsWithAKubeconfigGoToTheCluster) {
  std::vector<ClusterSiteCommand> seen;
  Runners runners;
  runners.cluster = [&](const ClusterSiteCommand& c, std::istream&, std::ostream& out,
                        std::ostream&) {
    seen.push_back(c);
    out << "from the cluster\n";
    return 0;
  };
  std::istringstream in;
  auto wok_cluster = [&](std::vector<std::string> args, const Runners& r) {
    args.insert(args.begin(), "wok");
    out_.str("");
    err_.str("");
    return run(args, r, in, out_, err_);
  };
  EXPECT_EQ(wok_cluster(
                {"rollout", "history", "site", "www", "-n", "team-a", "--kubeconfig", "/k/config"},
                runners),
            0);
  EXPECT_EQ(out_.str(), "from the cluster\n");
  EXPECT_EQ(wok_cluster({"rollout", "undo", "site", "www", "-n", "team-a", "--context", "prod",
                         "--to-revision", "2"},
                        runners),
            0);
  EXPECT_EQ(
      wok_cluster({"refresh", "site", "blog", "--kubeconfig=/k/config", "--namespace", "team-b"},
                  runners),
      0);
  // wok db too (kube/site_database.h).
  EXPECT_EQ(wok_cluster({"db", "import", "site", "blog", "-n", "team-b", "--context", "prod", "-f",
                         "dump.sql"},
                        runners),
            0);
  EXPECT_EQ(
      wok_cluster({"db", "dump", "site", "blog", "-n", "team-b", "--context", "prod"}, runners), 0);
  EXPECT_EQ(
      wok_cluster({"db", "shell", "site", "blog", "-n", "team-b", "--kubeconfig", "/k"}, runners),
      0);
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ((std::vector<std::string>{seen[3].verb, seen[3].ns, seen[3].name, seen[3].file}),
            (std::vector<std::string>{"db-import", "team-b", "blog", "dump.sql"}));
  EXPECT_EQ(seen[4].verb, "db-dump");
  EXPECT_EQ(seen[5].verb, "db-shell");
  EXPECT_EQ(wok_cluster({"backup", "delete", "site", "blog", "--backup", "3f2a9c1d", "-n", "team-b",
                         "--context", "prod"},
                        runners),
            0);
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_EQ((std::vector<std::string>{seen[6].verb, seen[6].backup}),
            (std::vector<std::string>{"delete-backup", "3f2a9c1d"}));
  seen.resize(3);
  EXPECT_EQ((std::vector<std::string>{seen[0].verb, seen[0].kubeconfig, seen[0].context, seen[0].ns,
                                      seen[0].name}),
            (std::vector<std::string>{"history", "/k/config", "", "team-a", "www"}));
  EXPECT_EQ(
      (std::vector<std::string>{seen[1].verb, seen[1].kubeconfig, seen[1].context, seen[1].ns}),
      (std::vector<std::string>{"undo", "", "prod", "team-a"}));
  EXPECT_EQ(seen[1].to_revision, 2);
  EXPECT_EQ((std::vector<std::string>{seen[2].verb, seen[2].ns, seen[2].name}),
            (std::vector<std::string>{"refresh", "team-b", "blog"}));
  EXPECT_TRUE(server_.requests().empty());
  // A build without the cluster's client says so.
  EXPECT_EQ(wok_cluster({"rollout", "history", "site", "www", "-n", "team-a", "--kubeconfig", "/k"},
                        Runners{}),
            1);
  EXPECT_NE(err_.str().find("--kubeconfig is not available in this build"), std::string::npos)
      << err_.str();
  // Without the flags: wok up's API server, which needs a token.
  EXPECT_EQ(wok_cluster({"rollout", "history", "site", "www", "-n", "team-a"}, runners), 1);
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(CliFlowTest, RenderGivesServeLimitsToSitesPodsAndRefusesBadOnes) {
  std::string site = dir_.path() + "/site.yaml";
  std::ofstream(site)
      << "apiVersion: wok.dev/v1alpha1\nkind: Site\nmetadata: {name: www, namespace: team-a}\n"
         "spec:\n  mode: static\n  hosts: [www.team-a.example.org]\n"
         "  source: {git: {url: https://example.org/www.git}}\n";
  EXPECT_EQ(wok({"render", "-f", site, "--serve-header-timeout", "10s"}, "", false), 0)
      << err_.str();
  EXPECT_NE(out_.str().find("- --header-timeout=10s"), std::string::npos) << out_.str();
  EXPECT_EQ(wok({"render", "-f", site, "--serve-header-timeout", "soon"}, "", false), 2);
  EXPECT_NE(err_.str().find("--serve-header-timeout \"soon\""), std::string::npos) << err_.str();
  EXPECT_EQ(out_.str(), "");  // nothing rendered
}

TEST_F(CliFlowTest, UpParsesItsOptionsAndCallsTheHook) {
  UpOptions seen;
  auto up = [&seen](const UpOptions& options) {
    seen = options;
    return 7;
  };
  std::istringstream in;
  std::vector<std::string> args = {"wok",      "up",         "--data", "/srv/wok",
                                   "--listen", "0.0.0.0:80", "--demo"};
  EXPECT_EQ(run(args, up_runner(up), in, out_, err_), 7);
  EXPECT_EQ(seen.data_dir, "/srv/wok");
  EXPECT_EQ(seen.listen, "0.0.0.0:80");
  EXPECT_EQ(seen.api, "127.0.0.1:7070");
  EXPECT_TRUE(seen.demo);
}

}  // namespace
}  // namespace wok::cmd
