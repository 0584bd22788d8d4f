// The kubectl habits (issue 13): unknown commands, help that shows -n and
// examples, delete of several names or of a file's objects, -o jsonpath,
// rollout status/restart and apply --wait, shell completion.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cmd/cli.h"
#include "cmd/jsonpath.h"
#include "cmd/resources.h"
#include "cmd/rollout.h"
#include "fake_api_server.h"
#include "test_env.h"

namespace wok::cmd {
namespace {

using nlohmann::json;
using testing::FakeApiServer;
using testing::ScopedEnv;
using testing::TempDir;

const std::string kBase = "/apis/wok.dev/v1alpha1";

const char kFileYaml[] = R"(apiVersion: wok.dev/v1alpha1
kind: Project
metadata:
  name: team-a
spec:
  hosts: ["*.team-a.example.org"]
---
apiVersion: wok.dev/v1alpha1
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

json spec() {
  return {{"mode", "static"},
          {"hosts", {"www.team-a.example.org"}},
          {"source", {{"git", {{"url", "https://git.example.org/www.git"}, {"ref", "main"}}}}}};
}

json site(int64_t generation, int64_t observed, const std::string& ready,
          const std::string& message) {
  return {
      {"apiVersion", "wok.dev/v1alpha1"},
      {"kind", "Site"},
      {"metadata",
       {{"name", "www"},
        {"namespace", "team-a"},
        {"generation", generation},
        {"resourceVersion", "7"}}},
      {"spec", spec()},
      {"status",
       {{"observedGeneration", observed},
        {"revision", 3},
        {"conditions",
         {{{"type", "Ready"}, {"status", ready}, {"reason", "Deployed"}, {"message", message}}}}}}};
}

json revision(int64_t number, const std::string& outcome, bool live, json spec_of = spec()) {
  return {{"revision", number}, {"generation", 2},    {"commit", "4f2c1e0d9a8b"},
          {"spec", spec_of},    {"outcome", outcome}, {"live", live},
          {"message", ""},      {"log", ""}};
}

json list(std::initializer_list<json> items) {
  json out = json::array();
  for (const auto& item : items) out.push_back(item);
  return {{"items", out}};
}

class KubectlHabitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.set("WOK_CONFIG", dir_.path() + "/no-config.yaml");
    env_.unset("WOK_SERVER");
    env_.unset("WOK_TOKEN");
  }

  int wok(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), "wok");
    args.insert(args.end(), {"--server", server_.url(), "--token", "t0ken"});
    std::istringstream in(stdin_text);
    out_.str("");
    err_.str("");
    return run(args, {}, in, out_, err_);
  }

  int wait(const std::vector<RolloutTarget>& targets, std::chrono::milliseconds timeout) {
    std::istringstream in;
    Session session{ApiClient(server_.url(), "t0ken"), "team-a", Io{in, out_, err_}};
    return wait_for_rollout(session, targets, timeout, std::chrono::milliseconds(1));
  }

  ScopedEnv env_;
  TempDir dir_;
  FakeApiServer server_;
  std::ostringstream out_, err_;
};

TEST_F(KubectlHabitsTest, UnknownCommandIsNamedAtItsLevel) {
  EXPECT_EQ(wok({"frobnicate"}), 2);
  EXPECT_EQ(err_.str(),
            "error: unknown command \"frobnicate\" for \"wok\"\nRun 'wok --help' for usage.\n");
  EXPECT_EQ(wok({"rollout", "frob", "site", "www"}), 2);
  EXPECT_EQ(
      err_.str(),
      "error: unknown command \"frob\" for \"wok rollout\"\nRun 'wok rollout --help' for usage.\n");
  EXPECT_EQ(wok({"get", "pods"}), 2);  // a bad kind is still CLI11's message naming it
  EXPECT_EQ(err_.str().find("unknown command"), std::string::npos) << err_.str();
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(KubectlHabitsTest, EveryClientCommandsHelpShowsNamespaceAndExamples) {
  for (std::string command :
       {"apply", "get", "describe", "delete", "rollout", "rollout status", "rollout restart",
        "rollout undo", "rollout history", "refresh", "stats site", "logs", "scale", "token create",
        "secret", "secret set", "secret get", "secret delete", "version"}) {
    std::vector<std::string> args;
    std::istringstream words(command);
    for (std::string w; words >> w;) args.push_back(w);
    args.push_back("--help");
    EXPECT_EQ(wok(args), 0) << command;
    EXPECT_NE(out_.str().find("-n,--namespace,--project PROJECT"), std::string::npos)
        << command << out_.str();
    EXPECT_NE(out_.str().find("Example"), std::string::npos) << command << out_.str();
    EXPECT_NE(out_.str().find("  wok " + command), std::string::npos) << command << out_.str();
  }
  EXPECT_EQ(wok({"completion", "--help"}), 0);
  EXPECT_NE(out_.str().find("wok completion bash"), std::string::npos) << out_.str();
}

TEST_F(KubectlHabitsTest, DeleteSeveralNamesGoesOnPastOneNotFound) {
  server_.reply(200, "{}");
  server_.reply(404, R"({"kind":"Status","message":"not found"})");
  server_.reply(200, "{}");
  EXPECT_EQ(wok({"delete", "site", "www", "blog", "shop", "-n", "team-a"}), 1);
  EXPECT_EQ(out_.str(), "site.wok.dev/www deleted\nsite.wok.dev/shop deleted\n");
  EXPECT_EQ(err_.str(), "error: site \"blog\" not found in project \"team-a\"\n");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(requests[i].method, "DELETE");
  EXPECT_EQ(requests[1].path, kBase + "/namespaces/team-a/sites/blog");
}

TEST_F(KubectlHabitsTest, DeleteFromAFileOrStdinDeletesItsObjectsSitesFirst) {
  std::string file = dir_.write("all.yaml", kFileYaml);
  server_.reply(200, "{}");
  server_.reply(200, "{}");
  EXPECT_EQ(wok({"delete", "-f", file}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "site.wok.dev/www deleted\nproject.wok.dev/team-a deleted\n");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].path, kBase + "/namespaces/team-a/sites/www");
  EXPECT_EQ(requests[1].path, kBase + "/projects/team-a");

  server_.reply(200, "{}");
  std::string site_only = std::string(kFileYaml).substr(std::string(kFileYaml).find("---\n") + 4);
  site_only.replace(site_only.find("  namespace: team-a\n"), 20, "");
  EXPECT_EQ(wok({"delete", "-f", "-", "-n", "team-a"}, site_only), 0) << err_.str();
  EXPECT_EQ(out_.str(), "site.wok.dev/www deleted\n");
  EXPECT_EQ(server_.requests().back().path, kBase + "/namespaces/team-a/sites/www");

  // Only the names count: a spec the server would refuse is still deleted.
  server_.reply(200, "{}");
  EXPECT_EQ(wok({"delete", "-f", "-"},
                "apiVersion: wok.dev/v1alpha1\nkind: Project\nmetadata: {name: team-a}\n"),
            0)
      << err_.str();
  EXPECT_EQ(out_.str(), "project.wok.dev/team-a deleted\n");
}

TEST_F(KubectlHabitsTest, DeleteNeedsNamesOrAFileNotBoth) {
  EXPECT_EQ(wok({"delete", "site", "-n", "team-a"}), 2);
  EXPECT_NE(err_.str().find("KIND NAME... or -f FILE"), std::string::npos) << err_.str();
  std::string file = dir_.write("all.yaml", kFileYaml);
  EXPECT_EQ(wok({"delete", "site", "www", "-f", file}), 2);
  EXPECT_EQ(wok({"delete", "-f", dir_.write("bad.yaml", "kind: [")}), 1);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(KubectlHabitsTest, JsonPathSubset) {
  json document = {
      {"items",
       {{{"metadata", {{"name", "www"}}},
         {"spec", {{"hosts", {"a.example.org", "b.example.org"}}}},
         {"status", {{"revision", 3}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}},
        {{"metadata", {{"name", "blog"}}}, {"status", {{"revision", 1}}}}}}};
  auto render = [&](const std::string& tmpl, const json& doc) {
    std::string out, error;
    EXPECT_TRUE(render_jsonpath(tmpl, doc, &out, &error)) << tmpl << ": " << error;
    return out;
  };
  const json& www = document["items"][0];
  EXPECT_EQ(render("{.status.revision}", www), "3");
  EXPECT_EQ(render("{.items[*].metadata.name}", document), "www blog");
  EXPECT_EQ(render("{.spec.hosts[0]}", www), "a.example.org");
  EXPECT_EQ(render("{.spec.hosts[-1]}", www), "b.example.org");
  EXPECT_EQ(render("{.items[1].status.revision}", document), "1");
  EXPECT_EQ(render("{.status.conditions[?(@.type==\"Ready\")].status}", www), "True");
  EXPECT_EQ(render("{.metadata['name']}", www), "www");
  EXPECT_EQ(render("{.spec.hosts}", www), R"(["a.example.org","b.example.org"])");
  EXPECT_EQ(render("rev={.status.revision}{\"\\n\"}", www), "rev=3\n");
  EXPECT_EQ(render("{.status.nothing}", www), "");
  std::string out, error;
  EXPECT_FALSE(render_jsonpath("{.status.revision", www, &out, &error));
  EXPECT_NE(error.find("'{' without '}'"), std::string::npos) << error;
  EXPECT_FALSE(render_jsonpath("{..name}", www, &out, &error));
  EXPECT_FALSE(render_jsonpath("{.spec.hosts[x]}", www, &out, &error));
}

TEST_F(KubectlHabitsTest, GetWithJsonPathAndName) {
  server_.reply(200, site(2, 2, "True", "revision 3 serves commit 4f2c1e0").dump());
  EXPECT_EQ(wok({"get", "site", "www", "-n", "team-a", "-o", "jsonpath={.status.revision}"}), 0)
      << err_.str();
  EXPECT_EQ(out_.str(), "3");
  server_.reply(200, json({{"kind", "SiteList"}, {"items", {site(2, 2, "True", "")}}}).dump());
  EXPECT_EQ(wok({"get", "sites", "-n", "team-a", "-o", "jsonpath={.items[*].metadata.name}"}), 0);
  EXPECT_EQ(out_.str(), "www");
  server_.reply(200, json({{"kind", "SiteList"}, {"items", {site(2, 2, "True", "")}}}).dump());
  EXPECT_EQ(wok({"get", "sites", "-n", "team-a", "-o", "name"}), 0);
  EXPECT_EQ(out_.str(), "site.wok.dev/www\n");
  server_.reply(200, site(2, 2, "True", "").dump());
  EXPECT_EQ(wok({"get", "site", "www", "-n", "team-a", "-o", "jsonpath={.spec.hosts[x]}"}), 1);
  EXPECT_NE(err_.str().find("unsupported subscript [x]"), std::string::npos) << err_.str();
  EXPECT_EQ(wok({"get", "sites", "-o", "jsonpth={.a}"}), 2);
}

TEST_F(KubectlHabitsTest, WaitShowsEachStepThenSucceeds) {
  server_.reply(200, site(2, 1, "True", "revision 3 serves commit 0c0ffee").dump());
  server_.reply(200, list({revision(3, "Deployed", true, json::object())}).dump());
  server_.reply(
      200, site(2, 2, "True", "waiting for a build slot for commit 4f2c1e0 as revision 4").dump());
  server_.reply(
      200,
      list({revision(4, "Pending", false), revision(3, "Deployed", true, json::object())}).dump());
  server_.reply(200, site(2, 2, "True", "building commit 4f2c1e0 as revision 4").dump());
  server_.reply(
      200,
      list({revision(4, "Pending", false), revision(3, "Deployed", true, json::object())}).dump());
  server_.reply(200, site(2, 2, "True", "revision 4 serves commit 4f2c1e0").dump());
  server_.reply(
      200,
      list({revision(4, "Deployed", true), revision(3, "Deployed", false, json::object())}).dump());
  EXPECT_EQ(wait({{"team-a", "www", 2, 0}}, std::chrono::minutes(1)), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "Waiting for site \"www\" rollout to finish: waiting for the controller...\n"
            "Waiting for site \"www\" rollout to finish: waiting for a build slot for commit "
            "4f2c1e0 as revision 4...\n"
            "Waiting for site \"www\" rollout to finish: building commit 4f2c1e0 as revision 4...\n"
            "site \"www\" successfully rolled out (revision 4, commit 4f2c1e0)\n");
  EXPECT_EQ(server_.requests()[1].path, kBase + "/namespaces/team-a/sites/www/revisions");
}

TEST_F(KubectlHabitsTest, WaitFailsWithTheRevisionsErrorAndBuildOutput) {
  json failed = revision(4, "Failed", false);
  failed["message"] = "build failed: exit status 1";
  failed["log"] = "npm run build\nError: cannot find module 'left-pad'\n";
  server_.reply(200, site(2, 2, "True", "revision 4 failed: build failed").dump());
  server_.reply(200, list({failed, revision(3, "Deployed", true, json::object())}).dump());
  EXPECT_EQ(wait({{"team-a", "www", 2, 0}}, std::chrono::minutes(1)), 1);
  EXPECT_NE(
      err_.str().find(
          "error: site \"www\" (project team-a): revision 4 failed: build failed: exit status 1\n"),
      std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("  Error: cannot find module 'left-pad'\n"), std::string::npos)
      << err_.str();
}

TEST_F(KubectlHabitsTest, WaitTimesOutWithExitOne) {
  for (int i = 0; i < 50; ++i) {
    server_.reply(200, site(2, 1, "True", "").dump());
    server_.reply(200, list({}).dump());
  }
  EXPECT_EQ(wait({{"team-a", "www", 2, 0}}, std::chrono::milliseconds(1)), 1);
  EXPECT_NE(
      err_.str().find("error: timed out waiting for the rollout of site \"www\" (project team-a)"),
      std::string::npos)
      << err_.str();
}

TEST_F(KubectlHabitsTest, WaitForARestartNeedsANewerRevision) {
  json restarted = site(2, 2, "True", "revision 3 serves commit 4f2c1e0");
  restarted["metadata"]["annotations"] = {{kRestartedAtAnnotation, "2026-12-02T10:00:00.000Z"}};
  server_.reply(200, restarted.dump());
  server_.reply(200, list({revision(3, "Deployed", true)}).dump());
  json acted = restarted;
  acted["status"]["restartedAt"] = "2026-12-02T10:00:00.000Z";
  server_.reply(200, acted.dump());
  server_.reply(200, list({revision(3, "Deployed", true)}).dump());  // not yet the new one
  server_.reply(200, acted.dump());
  server_.reply(200, list({revision(4, "Deployed", true), revision(3, "Deployed", false)}).dump());
  EXPECT_EQ(wait({{"team-a", "www", 2, 3}}, std::chrono::minutes(1)), 0) << err_.str();
  EXPECT_NE(out_.str().find("restart requested"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("successfully rolled out (revision 4,"), std::string::npos)
      << out_.str();
}

TEST_F(KubectlHabitsTest, RolloutRestartSetsTheAnnotationKeepingTheResourceVersion) {
  server_.reply(200, site(2, 2, "True", "").dump());
  server_.reply(200, site(2, 2, "True", "").dump());
  EXPECT_EQ(wok({"rollout", "restart", "site", "www", "-n", "team-a"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "site.wok.dev/www restarted\n");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "PUT");
  json sent = json::parse(requests[1].body);
  EXPECT_EQ(sent["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(sent["spec"], spec());
  EXPECT_FALSE(sent.contains("status"));
  std::string at = sent["metadata"]["annotations"][kRestartedAtAnnotation];
  EXPECT_EQ(at.size(), 24u) << at;  // 2026-12-02T10:00:00.123Z
}

TEST_F(KubectlHabitsTest, ApplyWaitWaitsForTheGenerationTheServerAnswered) {
  std::string file = dir_.write(
      "www.yaml", std::string(kFileYaml).substr(std::string(kFileYaml).find("---\n") + 4));
  server_.reply(404, R"({"kind":"Status","message":"not found"})");
  server_.reply(201, site(1, 0, "Unknown", "").dump());
  server_.reply(200, site(1, 1, "True", "revision 1 serves commit 4f2c1e0").dump());
  server_.reply(200, list({revision(1, "Deployed", true)}).dump());
  EXPECT_EQ(wok({"apply", "-f", file, "--wait", "--timeout", "30s"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "site.wok.dev/www created\nsite \"www\" successfully rolled out (revision 1, commit "
            "4f2c1e0)\n");
  EXPECT_EQ(wok({"apply", "-f", file, "--wait", "--timeout", "soon"}), 2);
}

TEST_F(KubectlHabitsTest, RolloutStatusUsesTheSitesGeneration) {
  server_.reply(200, site(5, 5, "True", "").dump());
  json failed = revision(9, "Failed", false);
  failed["message"] = "fetch failed: no ref main";
  server_.reply(200, site(5, 5, "False", "").dump());
  server_.reply(200, list({failed}).dump());
  EXPECT_EQ(wok({"rollout", "status", "site", "www", "-n", "team-a"}), 1);
  EXPECT_NE(err_.str().find("revision 9 failed: fetch failed: no ref main"), std::string::npos)
      << err_.str();
  EXPECT_EQ(wok({"rollout", "status", "site", "www"}), 1);
  EXPECT_NE(err_.str().find("pass -n PROJECT"), std::string::npos) << err_.str();
}

TEST_F(KubectlHabitsTest, TokenListRevokeAndNamedCreate) {
  server_.reply(200, json({{"kind", "TokenList"},
                           {"items",
                            {{{"name", "admin-1a2b3c4d"},
                              {"user", "admin"},
                              {"platformAdmin", true},
                              {"createdAt", "2026-01-01T00:00:00Z"},
                              {"lastUsed", "2026-01-02T00:00:00Z"}},
                             {{"name", "alice-laptop"},
                              {"user", "alice"},
                              {"platformAdmin", false},
                              {"createdAt", "2026-01-01T00:00:00Z"},
                              {"lastUsed", nullptr}}}}})
                         .dump());
  EXPECT_EQ(wok({"token", "list"}), 0) << err_.str();
  std::string text = out_.str();
  EXPECT_EQ(text.rfind("NAME             USER    ROLE             CREATED", 0), 0u) << text;
  EXPECT_NE(text.find("alice-laptop     alice   user             "), std::string::npos) << text;
  EXPECT_NE(text.find(" ago   never\n"), std::string::npos) << text;
  server_.reply(200, R"({"kind":"Status","status":"Success"})");
  EXPECT_EQ(wok({"token", "revoke", "alice-laptop"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "token alice-laptop revoked\n");
  server_.reply(404, R"({"kind":"Status","message":"token \"x\" not found"})");
  EXPECT_EQ(wok({"token", "revoke", "x"}), 1);
  EXPECT_EQ(err_.str(), "error: token \"x\" not found\n");
  server_.reply(201, R"({"user":"alice","name":"ci","token":"abc"})");
  EXPECT_EQ(wok({"token", "create", "alice", "--name", "ci"}), 0) << err_.str();
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, kBase + "/tokens");
  EXPECT_EQ(requests[1].method, "DELETE");
  EXPECT_EQ(requests[1].path, kBase + "/tokens/alice-laptop");
  EXPECT_EQ(json::parse(requests[3].body), json({{"user", "alice"}, {"name", "ci"}}));
}

// The bash script, sourced in a real bash, completes commands, subcommands,
// kinds and flags.
TEST_F(KubectlHabitsTest, CompletionScriptsComeFromTheCommands) {
  EXPECT_EQ(wok({"completion", "bash"}), 0) << err_.str();
  std::string script = dir_.write("wok.bash", out_.str());
  auto complete = [&](const std::string& words, int cword) {
    std::string command = "bash -c 'source " + script + "; COMP_WORDS=(" + words +
                          "); COMP_CWORD=" + std::to_string(cword) +
                          "; _wok; echo \"${COMPREPLY[*]}\"'";
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    std::array<char, 512> buf{};
    while (pipe && std::fgets(buf.data(), buf.size(), pipe)) out += buf.data();
    if (pipe) ::pclose(pipe);
    return out;
  };
  EXPECT_EQ(complete("wok rollout st", 2), "status\n");
  EXPECT_EQ(complete("wok rollout status s", 3), "site sites\n");
  EXPECT_EQ(complete("wok -n team-a apply --w", 4), "--wait\n");
  EXPECT_EQ(complete("wok get site www --names", 4), "--namespace\n");
  EXPECT_EQ(complete("wok comp", 1), "completion\n");
  EXPECT_EQ(complete("wok completion f", 2), "fish\n");

  EXPECT_EQ(wok({"completion", "zsh"}), 0);
  EXPECT_EQ(out_.str().rfind("#compdef wok\n", 0), 0u);
  EXPECT_EQ(wok({"completion", "fish"}), 0);
  EXPECT_NE(out_.str().find("complete -c wok -n '__fish_seen_subcommand_from rollout; and not "
                            "__fish_seen_subcommand_from history undo status restart' -a status"),
            std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("-l wait"), std::string::npos);
  EXPECT_EQ(wok({"completion", "tcsh"}), 2);
  EXPECT_TRUE(server_.requests().empty());
}

// Whatever a user types as a name stays one path segment of the API.
TEST(ObjectPath, ANameStaysOneSegment) {
  EXPECT_EQ(object_path(Kind::kSite, "team-a", "www"),
            "/apis/wok.dev/v1alpha1/namespaces/team-a/sites/www");
  EXPECT_EQ(object_path(Kind::kSite, "team-a", "../x"),
            "/apis/wok.dev/v1alpha1/namespaces/team-a/sites/..%2Fx");
  EXPECT_EQ(object_path(Kind::kSite, "..", "."),
            "/apis/wok.dev/v1alpha1/namespaces/%2E%2E/sites/%2E");
  EXPECT_EQ(object_path(Kind::kSite, "team-a", "a b?c"),
            "/apis/wok.dev/v1alpha1/namespaces/team-a/sites/a%20b%3Fc");
}

}  // namespace
}  // namespace wok::cmd
