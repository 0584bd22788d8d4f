// Local sources (issue 12): a member's site reads a path of this machine
// only under a directory the admin allowed; the platform admin may use any.
#include "server/source_policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/api_server.h"
#include "server/auth.h"
#include "store/store.h"

namespace wok::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kSites[] = "/apis/wok.dev/v1alpha1/namespaces/team-a/sites";

// ROOT/allowed (the admin's directory), ROOT/other-team/repo (another
// team's repository), ROOT/allowed/link -> ROOT/other-team, ROOT/allowed2.
class SourcePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-sources-XXXXXX";
    root_ = mkdtemp(tmpl);
    fs::create_directories(root_ + "/allowed/repo");
    fs::create_directories(root_ + "/allowed2/repo");
    fs::create_directories(root_ + "/other-team/repo");
    fs::create_symlink(root_ + "/other-team", root_ + "/allowed/link");
    std::string error;
    store_ = store::Store::open(root_ + "/wok.db", &error);
    ASSERT_TRUE(store_) << error;
    for (const auto& [user, admin] :
         std::vector<std::pair<std::string, bool>>{{"admin", true}, {"alice", false}}) {
      tokens_[user] = new_token();
      store_->add_token(user, hash_token(tokens_[user]), admin);
    }
    json project = {{"apiVersion", "wok.dev/v1alpha1"},
                    {"kind", "Project"},
                    {"metadata", {{"name", "team-a"}}},
                    {"spec",
                     {{"hosts", {"*.team-a.localhost"}},
                      {"members", {{{"user", "alice"}, {"role", "developer"}}}}}}};
    ASSERT_TRUE(store_->create("Project", project).ok());
    ApiOptions options;
    options.allowed_local_sources = {allowed()};
    api_ = std::make_unique<ApiHandler>(*store_, options);
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    fs::remove_all(root_);
  }

  std::string allowed() const { return root_ + "/allowed"; }

  static json site(const std::string& name, const std::string& url) {
    return {{"apiVersion", "wok.dev/v1alpha1"},
            {"kind", "Site"},
            {"metadata", {{"name", name}, {"namespace", "team-a"}}},
            {"spec",
             {{"mode", "static"},
              {"hosts", {name + ".team-a.localhost"}},
              {"source", {{"git", {{"url", url}, {"ref", "main"}}}}}}}};
  }
  static json app_site(const std::string& name, const std::string& image) {
    json s = site(name, "https://git.example.org/a.git");
    s["spec"]["mode"] = "app";
    s["spec"]["app"] = {{"components", {{{"name", "web"}, {"image", image}, {"port", 8080}}}}};
    return s;
  }

  http::Response call(const std::string& user, const std::string& method, const std::string& target,
                      const json& body) {
    http::Request req;
    req.method = method;
    req.path = req.target = target;
    req.body = body.dump();
    req.headers.push_back({"Authorization", "Bearer " + tokens_[user]});
    http::Response res;
    api_->handle(req, res);
    return res;
  }
  http::Response create(const std::string& user, const json& body) {
    return call(user, "POST", kSites, body);
  }

  std::string root_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiHandler> api_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(SourcePolicyTest, PathsAreComparedComponentByComponentAfterRealpath) {
  EXPECT_TRUE(path_under(allowed() + "/repo", allowed()));
  EXPECT_TRUE(path_under(allowed(), allowed()));
  EXPECT_TRUE(path_under(allowed() + "/repo/", allowed() + "/"));
  EXPECT_TRUE(path_under(allowed() + "/not-yet/there", allowed()));
  EXPECT_FALSE(path_under(root_ + "/allowed2/repo", allowed()))
      << "a string prefix is not a parent";
  EXPECT_FALSE(path_under(allowed() + "/link/repo", allowed())) << "a symlink out of the directory";
  EXPECT_FALSE(path_under(allowed() + "/../other-team/repo", allowed()));
  EXPECT_FALSE(path_under(allowed() + "/not-yet/../../other-team", allowed()));
  EXPECT_FALSE(path_under("relative/path", allowed()));
  EXPECT_FALSE(path_under(allowed() + "/repo", root_ + "/no-such-dir"));
}

TEST_F(SourcePolicyTest, EveryKindOfLocalSourceIsFound) {
  const std::vector<std::string> none;
  auto git = [&](const std::string& url) {
    return local_source_errors(site("s", url)["spec"], {allowed()});
  };
  auto image = [&](const std::string& ref) {
    return local_source_errors(app_site("s", ref)["spec"], {allowed()});
  };
  EXPECT_TRUE(git("https://git.example.org/a.git").empty());
  EXPECT_TRUE(git("file://" + allowed() + "/repo").empty());
  EXPECT_TRUE(git("file://localhost" + allowed() + "/repo").empty());
  EXPECT_TRUE(git(allowed() + "/repo").empty());
  EXPECT_EQ(git("file://" + root_ + "/other-team/repo").size(), 1u);
  EXPECT_EQ(git(root_ + "/other-team/repo").size(), 1u);
  // libgit2 percent-decodes file URLs: "%2e%2e" is "..".
  EXPECT_EQ(git("file://" + allowed() + "/%2e%2e/other-team/repo").size(), 1u);
  EXPECT_EQ(git("file://other-host/srv/x").size(), 1u);
  EXPECT_EQ(git("repo").size(), 1u);

  EXPECT_TRUE(image("docker://registry.example.org/a:1").empty());
  EXPECT_TRUE(image("oci:" + allowed() + "/repo:1.0").empty());
  for (const char* transport : {"oci:", "dir:", "oci-archive:", "docker-archive:"}) {
    auto e = image(transport + root_ + "/other-team/repo");
    ASSERT_EQ(e.size(), 1u) << transport;
    EXPECT_EQ(e[0].field, "spec.app.components[0].image");
  }
  // skopeo ends an oci-archive path at the first colon: that path counts too.
  EXPECT_EQ(image("oci-archive:" + root_ + "/other-team/repo:" + allowed() + "/x").size(), 1u);
  EXPECT_EQ(image("containers-storage:alpine").size(), 1u);
  EXPECT_EQ(image("docker-daemon:alpine:3").size(), 1u);
  EXPECT_EQ(local_source_errors(app_site("s", "oci:" + allowed() + "/repo")["spec"], none).size(),
            1u);
}

TEST_F(SourcePolicyTest, MemberIsRefusedOutsideTheAllowedDirectoriesNamingTheField) {
  const std::string url = "file://" + root_ + "/other-team/repo";
  http::Response r = create("alice", site("www", url));
  EXPECT_EQ(r.status, 422) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["details"]["causes"][0]["field"], "spec.source.git.url");
  const std::string message = body["message"];
  EXPECT_NE(message.find("spec.source.git.url: " + url +
                         " is a local path; members may use local sources only under " + allowed() +
                         " (wok up --allow-local-source)"),
            std::string::npos)
      << message;
  EXPECT_FALSE(store_->get("Site", "team-a", "www"));

  http::Response image = create("alice", app_site("api", "oci:/var/lib:latest"));
  EXPECT_EQ(image.status, 422) << image.body;
  EXPECT_NE(image.body.find("spec.app.components[0].image"), std::string::npos) << image.body;
  EXPECT_FALSE(store_->get("Site", "team-a", "api"));
}

TEST_F(SourcePolicyTest, MemberMayUseTheAllowedDirectory) {
  http::Response r = create("alice", site("www", "file://" + allowed() + "/repo"));
  EXPECT_EQ(r.status, 201) << r.body;
  auto stored = store_->get("Site", "team-a", "www");
  ASSERT_TRUE(stored);
  EXPECT_EQ(fetch_time_source_error(*stored, {allowed()}), "");
  EXPECT_FALSE((*stored)["status"].contains(kLocalSourcesApproved)) << "no admin approval needed";
}

TEST_F(SourcePolicyTest, SymlinkFromTheAllowedDirectoryToAnotherTeamIsRefused) {
  http::Response r = create("alice", site("www", "file://" + allowed() + "/link/repo"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("it leads to " + root_ + "/other-team/repo"), std::string::npos) << r.body;
}

TEST_F(SourcePolicyTest, MemberCannotMoveAnAllowedSiteOutside) {
  ASSERT_EQ(create("alice", site("www", "file://" + allowed() + "/repo")).status, 201);
  http::Response r =
      call("alice", "PUT", std::string(kSites) + "/www", site("www", root_ + "/other-team/repo"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ((*store_->get("Site", "team-a", "www"))["spec"]["source"]["git"]["url"],
            "file://" + allowed() + "/repo");
}

// The admin may name any directory; the controllers then fetch it (the
// approval is for that generation only: a member's change is checked again).
TEST_F(SourcePolicyTest, AdminMayUseAnyLocalSource) {
  http::Response r = create("admin", site("www", "file://" + root_ + "/other-team/repo"));
  EXPECT_EQ(r.status, 201) << r.body;
  json stored = *store_->get("Site", "team-a", "www");
  EXPECT_EQ(stored["status"][kLocalSourcesApproved], stored["metadata"]["generation"]);
  EXPECT_EQ(fetch_time_source_error(stored, {allowed()}), "");

  json changed = stored;
  changed["spec"]["source"]["git"]["ref"] = "other";
  changed["metadata"]["generation"] = stored["metadata"]["generation"].get<int64_t>() + 1;
  EXPECT_NE(fetch_time_source_error(changed, {allowed()}).find("spec.source.git.url"),
            std::string::npos);
  EXPECT_EQ(call("alice", "PUT", std::string(kSites) + "/www",
                 site("www", "file://" + root_ + "/other-team/repo"))
                .status,
            422);
}

// A site admitted when the allow-list was wider is refused at fetch time.
TEST_F(SourcePolicyTest, FetchTimeCheckFollowsTheCurrentAllowList) {
  json s = site("www", "file://" + root_ + "/allowed2/repo");
  s["metadata"]["generation"] = 1;
  s["status"] = json::object();
  EXPECT_EQ(fetch_time_source_error(s, {root_ + "/allowed2"}), "");
  std::string refused = fetch_time_source_error(s, {allowed()});
  EXPECT_EQ(
      refused.rfind("spec.source.git.url: file://" + root_ + "/allowed2/repo is a local path", 0),
      0u)
      << refused;
  EXPECT_NE(fetch_time_source_error(s, {}).find("members may not use local sources here"),
            std::string::npos);
}

}  // namespace
}  // namespace wok::server
