// Failures a user can see from the CLI (issue 13): build output (wok logs
// --build, describe's tail), crashed instances' output (wok logs, --previous),
// describe's components, instances, storage and serving revision, and the
// cause of every revision in rollout history.
#include <gtest/gtest.h>

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

const std::string kSite = "/apis/wok.dev/v1alpha1/namespaces/team-a/sites/api";

class VisibleFailuresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.set("WOK_CONFIG", dir_.path() + "/no-config.yaml");
    env_.unset("WOK_SERVER");
    env_.unset("WOK_TOKEN");
  }
  int wok(std::vector<std::string> args) {
    args.insert(args.begin(), "wok");
    args.insert(args.end(), {"--server", server_.url(), "--token", "t0ken", "-n", "team-a"});
    std::istringstream in;
    out_.str("");
    err_.str("");
    return run(args, {}, in, out_, err_);
  }
  std::string build_log(int lines) {
    std::string log;
    for (int i = 1; i <= lines; ++i) log += "step " + std::to_string(i) + "\n";
    return log + "npm ERR! missing script: build\n";
  }
  json revisions() {
    json spec = {{"mode", "app"},
                 {"resources", {{"memory", "128Mi"}}},
                 {"storage", {{{"name", "data"}, {"path", "var/data"}, {"size", "100Mi"}}}},
                 {"app",
                  {{"components",
                    {{{"name", "web"},
                      {"command", {"python3", "app.py"}},
                      {"port", 8080},
                      {"replicas", 2}}}}}}};
    return {{"kind", "RevisionList"},
            {"items",
             {{{"revision", 3},
               {"commit", "ccccccc333"},
               {"outcome", "Failed"},
               {"message", "build: exit status 1"},
               {"cause", "fetch: commit ccccccc (was bbbbbbb)"},
               {"log", build_log(30)},
               {"createdAt", "t3"}},
              {{"revision", 2},
               {"commit", "bbbbbbb222"},
               {"outcome", "Deployed"},
               {"live", true},
               {"spec", spec},
               {"cause", "apply: spec changed (generation 2)"},
               {"log", "built fine\n"},
               {"createdAt", "t2"}},
              {{"revision", 1},
               {"commit", "aaaaaaa111"},
               {"outcome", "Deployed"},
               {"cause", "created (generation 1)"},
               {"log", ""},
               {"createdAt", "t1"}}}}};
  }

  ScopedEnv env_;
  TempDir dir_;
  FakeApiServer server_;
  std::ostringstream out_, err_;
};

TEST_F(VisibleFailuresTest, LogsBuildPrintsTheNewestBuildOrTheOneAsked) {
  server_.reply(200, revisions().dump());
  EXPECT_EQ(wok({"logs", "site", "api", "--build"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), build_log(30));
  EXPECT_NE(err_.str().find("revision 3 (Failed: build: exit status 1)"), std::string::npos)
      << err_.str();
  server_.reply(200, revisions().dump());
  EXPECT_EQ(wok({"logs", "site", "api", "--build", "2"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "built fine\n");
  server_.reply(200, revisions().dump());
  EXPECT_EQ(wok({"logs", "site", "api", "--build", "9"}), 1);
  EXPECT_NE(err_.str().find("has no revision 9"), std::string::npos) << err_.str();
  server_.reply(
      200, json({{"items", {{{"revision", 1}, {"outcome", "Deployed"}, {"log", ""}}}}}).dump());
  EXPECT_EQ(wok({"logs", "site", "api", "--build"}), 1);
  EXPECT_NE(err_.str().find("no revision of site \"api\" ran a build"), std::string::npos)
      << err_.str();
  for (const auto& r : server_.requests()) EXPECT_EQ(r.path, kSite + "/revisions");
  EXPECT_EQ(wok({"logs", "site", "api", "--build", "-f"}), 2);  // a build's output does not grow
}

TEST_F(VisibleFailuresTest, LogsShowsStoppedInstancesAndAsksForThePreviousRun) {
  json logs = {{"kind", "SiteLogs"},
               {"items",
                {{{"instance", "team-a.api.web.r3.0"},
                  {"phase", "Stopped"},
                  {"stream", "stdout"},
                  {"offset", 12},
                  {"lines", {"boom: no DATABASE_URL"}}},
                 {{"instance", "team-a.api.web.r3.0"},
                  {"phase", "Stopped"},
                  {"stream", "stderr"},
                  {"offset", 0},
                  {"lines", json::array()}}}}};
  server_.reply(200, logs.dump());
  EXPECT_EQ(wok({"logs", "site", "api"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "boom: no DATABASE_URL\n");
  EXPECT_NE(
      err_.str().find(
          "instance team-a.api.web.r3.0 is not running (Stopped): the output of its last run"),
      std::string::npos)
      << err_.str();
  EXPECT_EQ(err_.str().find("No instances"), std::string::npos) << err_.str();

  logs["items"][0]["lines"] = json::array();
  server_.reply(200, logs.dump());
  EXPECT_EQ(wok({"logs", "site", "api", "--previous", "--tail", "5"}), 0) << err_.str();
  EXPECT_NE(err_.str().find("instance team-a.api.web.r3.0 has no previous run"), std::string::npos)
      << err_.str();
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].path, kSite + "/logs?tail=100");
  EXPECT_EQ(requests[1].path, kSite + "/logs?tail=5&previous=true");
  EXPECT_EQ(wok({"logs", "site", "api", "-p", "-f"}), 2);
}

TEST_F(VisibleFailuresTest, DescribeShowsWorkloadsServingRevisionAndTheFailedBuildsTail) {
  json site = {
      {"metadata", {{"name", "api"}, {"namespace", "team-a"}}},
      {"spec", {{"mode", "app"}}},
      {"status",
       {{"revision", 2},
        {"instances",
         {{{"name", "team-a.api.web.r2.0"},
           {"component", "web"},
           {"phase", "Ready"},
           {"restarts", 2},
           {"lastExitCode", 3},
           {"lastSignal", 0},
           {"lastError", "exited with code 3"},
           {"oomKilled", false}},
          {{"name", "team-a.api.web.r2.1"},
           {"phase", "CrashLoopBackOff"},
           {"restarts", 5},
           {"lastExitCode", -1},
           {"lastSignal", 9},
           {"oomKilled", true}}}},
        {"storage", {{{"name", "data"}, {"path", "/srv/app/var/data"}, {"bytes", 1536}}}}}}};
  server_.reply(200, site.dump());
  server_.reply(200, revisions().dump());
  EXPECT_EQ(wok({"describe", "site", "api"}), 0) << err_.str();
  std::string text = out_.str();
  // What runs comes from the serving revision's spec (2 replicas), not the site's.
  EXPECT_NE(text.find("  NAME   READY   PORT   COMMAND\n  web    1/2     8080   python3 app.py\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  team-a.api.web.r2.0   Ready              2          exited with code 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  team-a.api.web.r2.1   CrashLoopBackOff   5          OOMKilled"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Resources:    memory 128Mi, cpu unlimited (default) per instance\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  data   var/data   1.5 KiB   100Mi\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Serving:      revision 2 (commit bbbbbbb) since t2: apply: spec changed "
                      "(generation 2)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Last failed build: revision 3: build: exit status 1 (all of it: wok logs "
                      "site api --build 3)\n"),
            std::string::npos)
      << text;
  // The last 20 lines of the build: steps 12 to 30 and the error.
  EXPECT_EQ(text.find("  step 11\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  step 12\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  npm ERR! missing script: build\nRevisions:"), std::string::npos) << text;
  EXPECT_NE(text.find("fetch: commit ccccccc (was bbbbbbb)"), std::string::npos)
      << text;  // CAUSE column
}

TEST_F(VisibleFailuresTest, RolloutHistoryShowsEveryRevisionsCause) {
  server_.reply(200, revisions().dump());
  EXPECT_EQ(wok({"rollout", "history", "site", "api"}), 0) << err_.str();
  std::string text = out_.str();
  EXPECT_NE(text.find("CAUSE"), std::string::npos) << text;
  EXPECT_LT(text.find("created (generation 1)"), text.find("apply: spec changed (generation 2)"))
      << text;
  EXPECT_LT(text.find("apply: spec changed (generation 2)"),
            text.find("fetch: commit ccccccc (was bbbbbbb)"))
      << text;
}

TEST_F(VisibleFailuresTest, NewFlagsHaveExamplesInHelp) {
  EXPECT_EQ(wok({"logs", "--help"}), 0);
  EXPECT_NE(out_.str().find("wok logs site api -n team-a --previous"), std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("wok logs site www -n team-a --build 4"), std::string::npos)
      << out_.str();
  EXPECT_EQ(wok({"describe", "--help"}), 0);
  EXPECT_NE(out_.str().find("wok describe site www -n team-a"), std::string::npos) << out_.str();
  EXPECT_EQ(wok({"rollout", "history", "--help"}), 0);
  EXPECT_NE(out_.str().find("wok rollout history site www -n team-a"), std::string::npos)
      << out_.str();
}

}  // namespace
}  // namespace wok::cmd
