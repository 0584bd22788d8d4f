// The webhook endpoint as a forge and as an attacker see it: what is
// refreshed, what is ignored, and that nothing without the site's secret
// refreshes anything or learns whether a project or site exists.
#include "hooks/push_hook.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hooks/signature.h"

namespace wok::hooks {
namespace {

using nlohmann::json;

const std::string kSecret = "0123456789abcdef0123456789abcdef";
const std::string kOtherSecret = "fedcba9876543210fedcba9876543210";
const std::string kPath = "/hooks/v1/projects/team-a/sites/www";

class PushHookTest : public ::testing::Test {
 protected:
  PushHookTest() {
    sites_["team-a/www"] = {"main", kSecret};
    sites_["team-b/blog"] = {"main", kOtherSecret};
    sites_["team-a/weak"] = {"main", "short"};
  }

  HookBackend backend() {
    return {[this](const std::string& ns, const std::string& name) -> std::optional<HookSite> {
              std::lock_guard lock(mu_);
              auto it = sites_.find(ns + "/" + name);
              if (it == sites_.end()) return std::nullopt;
              return it->second;
            },
            [this](const std::string& ns, const std::string& name) {
              std::lock_guard lock(mu_);
              ++refreshes_[ns + "/" + name];
              return fail_refresh_;
            }};
  }

  http::Response post(const std::string& path, const std::string& body,
                      std::vector<http::Header> headers, const std::string& method = "POST") {
    http::Request r;
    r.method = method;
    r.path = path;
    r.target = path;
    r.headers = std::move(headers);
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = body;
    http::Response out;
    endpoint_.handle(r, out);
    return out;
  }
  static std::vector<http::Header> github(const std::string& event, const std::string& body,
                                          const std::string& secret = kSecret) {
    return {{"X-GitHub-Event", event},
            {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(secret, body)}};
  }
  int refreshes(const std::string& key) {
    std::lock_guard lock(mu_);
    return refreshes_[key];
  }
  int total_refreshes() {
    std::lock_guard lock(mu_);
    int n = 0;
    for (auto& [k, v] : refreshes_) n += v;
    return n;
  }
  static std::string message(const http::Response& r) {
    return json::parse(r.body).value("message", "");
  }

  std::mutex mu_;
  std::map<std::string, HookSite> sites_;
  std::map<std::string, int> refreshes_;
  std::string fail_refresh_;
  PushHookEndpoint endpoint_{backend(), std::chrono::milliseconds(300)};
};

const std::string kPushMain = R"({"ref":"refs/heads/main","after":"abc"})";

TEST_F(PushHookTest, GithubPushOfTheSitesBranchRefreshesIt) {
  auto r = post(kPath, kPushMain, github("push", kPushMain));
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(refreshes("team-a/www"), 1);
  EXPECT_NE(message(r).find("refresh of site team-a/www requested"), std::string::npos);
}

TEST_F(PushHookTest, GitlabAndGiteaAndPlainHooks) {
  auto r = post(kPath, kPushMain, {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", kSecret}});
  EXPECT_EQ(r.status, 202) << r.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(350));  // past the window: triggers now
  r = post(kPath, kPushMain,
           {{"X-Gitea-Event", "push"}, {"X-Gitea-Signature", hmac_sha256_hex(kSecret, kPushMain)}});
  EXPECT_EQ(r.status, 202) << r.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  r = post(kPath, kPushMain,
           {{"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(kSecret, kPushMain)}});
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(refreshes("team-a/www"), 3);
}

TEST_F(PushHookTest, PushToAnotherBranchIsIgnoredAndSaysWhy) {
  std::string body = R"({"ref":"refs/heads/dev"})";
  auto r = post(kPath, body, github("push", body));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(message(r), "ignored: ref refs/heads/dev is not the site's ref main");
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, PingAnswersPongAndOtherEventsAreIgnored) {
  std::string body = R"({"zen":"Keep it logically awesome.","hook_id":1})";
  auto r = post(kPath, body, github("ping", body));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(message(r).find("pong"), std::string::npos);
  r = post(kPath, "{}", github("issues", "{}"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(message(r), "ignored: event \"issues\" is not a push");
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, DeletedBranchIsIgnored) {
  std::string body = R"({"ref":"refs/heads/main","deleted":true})";
  auto r = post(kPath, body, github("push", body));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, MissingOrWrongSignatureRefreshesNothing) {
  auto none = post(kPath, kPushMain, {{"X-GitHub-Event", "push"}});
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(message(none).find("no signature"), std::string::npos);
  auto wrong =
      post(kPath, kPushMain, github("push", kPushMain, "not the secret, but 32 bytes long"));
  EXPECT_EQ(wrong.status, 401);
  auto gitlab =
      post(kPath, kPushMain, {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "guess"}});
  EXPECT_EQ(gitlab.status, 401);
  auto malformed = post(kPath, kPushMain, {{"X-Hub-Signature-256", "md5=abc"}});
  EXPECT_EQ(malformed.status, 401);
  EXPECT_NE(message(malformed).find("X-Hub-Signature-256 is not of its form"), std::string::npos);
  // A ping proves itself too: it would otherwise tell which sites exist.
  auto ping = post(kPath, "{}", github("ping", "{}", "not the secret, but 32 bytes long"));
  EXPECT_EQ(ping.status, 401);
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, AnotherSitesSecretDoesNotOpenThisSite) {
  // team-b's member signs with blog's secret and aims at team-a's www.
  auto r = post(kPath, kPushMain, github("push", kPushMain, kOtherSecret));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, UnknownSiteAndProjectAnswerAsAWrongSignature) {
  auto wrong = post(kPath, kPushMain, github("push", kPushMain, kOtherSecret));
  auto no_site = post("/hooks/v1/projects/team-a/sites/nope", kPushMain, github("push", kPushMain));
  auto no_project = post("/hooks/v1/projects/nope/sites/www", kPushMain, github("push", kPushMain));
  EXPECT_EQ(no_site.status, 401);
  EXPECT_EQ(no_project.status, 401);
  EXPECT_EQ(no_site.body, wrong.body);
  EXPECT_EQ(no_project.body, wrong.body);
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, WeakSecretRefusesEvenItsOwnSignature) {
  auto r =
      post("/hooks/v1/projects/team-a/sites/weak", kPushMain, github("push", kPushMain, "short"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, HugeBodyIsRefusedBeforeAnything) {
  std::string body(kMaxHookBodyBytes + 1, ' ');
  auto r = post(kPath, body, github("push", body));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, MalformedJsonOfAVerifiedSenderIs400) {
  for (std::string body : {"{", "[]", "{\"ref\":42}", "{}"}) {
    auto r = post(kPath, body, github("push", body));
    EXPECT_EQ(r.status, 400) << body;
  }
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, HostilePathsAreNotFound) {
  for (std::string path :
       {"/hooks/v1/projects/team-a/sites/www/", "/hooks/v1/projects/team-a/sites/../www",
        "/hooks/v1/projects/../team-a/sites/www", "/hooks/v1/projects/team-a/sites/%2e%2e",
        "/hooks/v1/projects/team-a/sites/www%2fx", "/hooks/v1/projects/team-a//sites/www",
        "/hooks/v1/projects/team-a/sites/", "/hooks/v1/projects/team-a",
        "/hooks/v1/projects//sites/www", "/hooks/v1/projects/Team-A/sites/www",
        "/hooks/v2/projects/team-a/sites/www", "/hooks/",
        "/hooks/v1/projects/team-a/secrets/www"}) {
    auto r = post(path, kPushMain, github("push", kPushMain));
    EXPECT_EQ(r.status, 404) << path;
  }
  EXPECT_EQ(total_refreshes(), 0);
}

TEST_F(PushHookTest, OnlyPost) {
  auto r = post(kPath, "", {}, "GET");
  EXPECT_EQ(r.status, 405);
}

TEST_F(PushHookTest, BurstOfPushesCoalesces) {
  // 50 deliveries (a burst, or a replay): one refresh now, one at the end of the window.
  int accepted = 0;
  for (int i = 0; i < 50; ++i)
    accepted += post(kPath, kPushMain, github("push", kPushMain)).status == 202;
  EXPECT_EQ(accepted, 50);
  EXPECT_EQ(refreshes("team-a/www"), 1);
  for (int i = 0; i < 100 && refreshes("team-a/www") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // nothing more comes
  EXPECT_EQ(refreshes("team-a/www"), 2);
}

TEST_F(PushHookTest, ARefreshThatFailsIs503) {
  fail_refresh_ = "the store is closed";
  auto r = post(kPath, kPushMain, github("push", kPushMain));
  EXPECT_EQ(r.status, 503);
}

TEST_F(PushHookTest, MetricsCountOutcomes) {
  post(kPath, kPushMain, github("push", kPushMain));
  post(kPath, kPushMain, {{"X-GitHub-Event", "push"}});
  std::string m = endpoint_.metrics();
  EXPECT_NE(m.find("wok_webhook_requests_total{outcome=\"accepted\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("wok_webhook_requests_total{outcome=\"unauthorized\"} 1"), std::string::npos)
      << m;
}

}  // namespace
}  // namespace wok::hooks
