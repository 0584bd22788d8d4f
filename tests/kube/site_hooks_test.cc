// Push webhooks on Kubernetes: the operator's endpoint (the same one as wok
// up's, hooks/push_hook.h) against the scripted API. A verified push makes
// the leader resolve the ref at once (the interval is an hour), through the
// wok.dev/refresh annotation any replica may write; an unverified one
// writes nothing to the cluster.
#include "kube/site_hooks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "api/base64.h"
#include "git/repository.h"
#include "hooks/signature.h"
#include "http/server.h"
#include "kube/operator_fixture.h"

namespace wok::kube::testing {
namespace {

const std::string kSecret = "cluster-webhook-secret-0123456789abcdef";
const std::string kOtherSecret = "team-b-webhook-secret-0123456789abcdef";

class SiteHooksTest : public OperatorTest {
 protected:
  void SetUp() override {
    OperatorTest::SetUp();
    char tmpl[] = "/tmp/wok-hooks-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
    mirror_dir_ = dir_ + "/mirrors";
    follow_git_ = true;
    renderer_checks_ = true;
    std::filesystem::create_directories(dir_ + "/files");
  }
  void TearDown() override {
    if (server_) server_->stop(1000);
    server_.reset();
    endpoint_.reset();
    OperatorTest::TearDown();
    std::filesystem::remove_all(dir_);
  }

  std::string commit(const std::string& text) {
    std::ofstream(dir_ + "/files/index.html") << text;
    std::string error;
    std::string c = git::commit_directory(dir_ + "/files", dir_ + "/repo", "main", text, &error);
    EXPECT_FALSE(c.empty()) << error;
    return c;
  }
  void secret(const std::string& ns, const std::string& name, const std::string& token) {
    api_.create("/api/v1/namespaces/" + ns + "/secrets",
                {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", name}, {"namespace", ns}}},
                 {"type", "Opaque"},
                 {"data", {{"token", api::base64_encode(token)}}}});
  }
  json static_site(const std::string& ns, const std::string& name, const std::string& hook_secret) {
    json git = {{"url", "file://" + dir_ + "/repo"}, {"interval", "1h"}};
    if (!hook_secret.empty()) git["webhookSecret"] = hook_secret;
    return {
        {"apiVersion", "wok.dev/v1alpha1"},
        {"kind", "Site"},
        {"metadata", {{"name", name}, {"namespace", ns}}},
        {"spec",
         {{"mode", "static"}, {"hosts", {name + "." + ns + ".test"}}, {"source", {{"git", git}}}}}};
  }
  // The operator's --webhook-listen, as run.cc serves it.
  void serve_hooks(Operator& op) {
    endpoint_ = std::make_unique<hooks::PushHookEndpoint>(operator_hook_backend(
        *clients_.back(),
        [&op](const std::string& ns, const std::string& name) { return op.site(ns, name); }));
    http::ServerOptions options;
    options.threads = 1;
    server_ = std::make_unique<http::Server>(
        options, [this](const http::Request& q, http::Response& r) { endpoint_->handle(q, r); });
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }
  // POSTs `body` with `headers`; the status and the answer's message.
  std::pair<int, std::string> post(
      const std::string& path, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers) {
    http::Request q;
    q.method = "POST";
    q.path = q.target = path;
    for (const auto& [k, v] : headers) q.headers.push_back({k, v});
    q.body = body;
    http::Response r;
    endpoint_->handle(q, r);
    return {r.status, json::parse(r.body).value("message", "")};
  }
  static std::vector<std::pair<std::string, std::string>> github(
      const std::string& body, const std::string& secret = kSecret) {
    return {{"X-GitHub-Event", "push"},
            {"X-Hub-Signature-256", "sha256=" + hooks::hmac_sha256_hex(secret, body)}};
  }
  std::string status_commit(const std::string& ns, const std::string& name) {
    auto s = get_site(ns, name);
    return s ? (*s).value(json::json_pointer("/status/commit"), "") : "";
  }
  // What a hook writes: the refresh annotation ("" while there is none).
  std::string refresh_requested(const std::string& ns, const std::string& name) {
    auto s = get_site(ns, name);
    return s ? (*s).value(json::json_pointer("/metadata/annotations/wok.dev~1refresh"), "") : "";
  }

  std::string dir_;
  std::unique_ptr<hooks::PushHookEndpoint> endpoint_;
  std::unique_ptr<http::Server> server_;
};

const std::string kPush = R"({"ref":"refs/heads/main"})";

TEST_F(SiteHooksTest, VerifiedPushResolvesTheRefAtOnce) {
  const std::string first = commit("v1");
  api_.create(kProjects, project("team-a"));
  secret("team-a", "www-hooks", kSecret);
  api_.create(sites_path("team-a"), static_site("team-a", "www", "www-hooks"));
  Operator& op = start_operator("wok-operator/a", false, default_renderer());
  serve_hooks(op);
  ASSERT_TRUE(eventually([&] { return status_commit("team-a", "www") == first; }));

  const std::string second = commit("v2");
  auto [code, message] = post("/hooks/v1/projects/team-a/sites/www", kPush, github(kPush));
  EXPECT_EQ(code, 202) << message;
  // The interval is an hour: only the hook explains the new commit.
  EXPECT_TRUE(eventually([&] { return status_commit("team-a", "www") == second; }));
  EXPECT_NE(refresh_requested("team-a", "www"), "");

  // GitLab's and Gitea's forms, the same endpoint.
  const std::string third = commit("v3");
  std::tie(code, message) = post("/hooks/v1/projects/team-a/sites/www", kPush,
                                 {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", kSecret}});
  EXPECT_EQ(code, 202) << message;
  EXPECT_TRUE(eventually([&] { return status_commit("team-a", "www") == third; }));
}

TEST_F(SiteHooksTest, OverHttpOnTheListener) {
  commit("v1");
  api_.create(kProjects, project("team-a"));
  secret("team-a", "www-hooks", kSecret);
  api_.create(sites_path("team-a"), static_site("team-a", "www", "www-hooks"));
  Operator& op = start_operator("wok-operator/a", false, default_renderer());
  serve_hooks(op);
  ASSERT_TRUE(eventually([&] { return op.site("team-a", "www") != nullptr; }));
  // A raw request through the listener, as a forge sends it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string sig = "sha256=" + hooks::hmac_sha256_hex(kSecret, "{\"zen\":\"ok\"}");
  std::string request =
      "POST /hooks/v1/projects/team-a/sites/www HTTP/1.1\r\nHost: x\r\n"
      "X-GitHub-Event: ping\r\nX-Hub-Signature-256: " +
      sig + "\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"zen\":\"ok\"}";
  ASSERT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_NE(reply.find("pong"), std::string::npos) << reply;
}

TEST_F(SiteHooksTest, UnverifiedHooksWriteNothingAndRevealNothing) {
  const std::string first = commit("v1");
  api_.create(kProjects, project("team-a"));
  api_.create(kProjects, project("team-b"));
  secret("team-a", "www-hooks", kSecret);
  secret("team-b", "blog-hooks", kOtherSecret);
  secret("team-a", "weak", "short");
  api_.create(sites_path("team-a"), static_site("team-a", "www", "www-hooks"));
  api_.create(sites_path("team-a"), static_site("team-a", "nohooks", ""));
  api_.create(sites_path("team-a"), static_site("team-a", "weakhooks", "weak"));
  api_.create(sites_path("team-a"), static_site("team-a", "missing", "no-such-secret"));
  api_.create(sites_path("team-b"), static_site("team-b", "blog", "blog-hooks"));
  Operator& op = start_operator("wok-operator/a", false, default_renderer());
  serve_hooks(op);
  ASSERT_TRUE(eventually([&] { return status_commit("team-a", "www") == first; }));
  ASSERT_TRUE(eventually([&] { return op.site("team-b", "blog") != nullptr; }));
  commit("v2");

  auto wrong = post("/hooks/v1/projects/team-a/sites/www", kPush,
                    github(kPush, "a guess of thirty-two bytes long"));
  EXPECT_EQ(wrong.first, 401);
  // team-b's member signs with their own secret and aims at team-a's site.
  EXPECT_EQ(post("/hooks/v1/projects/team-a/sites/www", kPush, github(kPush, kOtherSecret)), wrong);
  // Unknown site, unknown project, no webhook secret, a weak one, a missing one:
  // the same answer as a wrong signature.
  for (const char* path :
       {"/hooks/v1/projects/team-a/sites/nope", "/hooks/v1/projects/nope/sites/www",
        "/hooks/v1/projects/team-a/sites/nohooks", "/hooks/v1/projects/team-a/sites/weakhooks",
        "/hooks/v1/projects/team-a/sites/missing", "/hooks/v1/projects/team-b/sites/www"}) {
    std::string key = std::string(path).ends_with("weakhooks") ? "short" : kSecret;
    EXPECT_EQ(post(path, kPush, github(kPush, key)), wrong) << path;
  }
  EXPECT_EQ(post("/hooks/v1/projects/team-a/sites/www", kPush, {{"X-GitHub-Event", "push"}}).first,
            401);
  EXPECT_EQ(post("/hooks/v1/projects/team-a/sites/../sites/www", kPush, github(kPush)).first, 404);
  EXPECT_EQ(
      post("/hooks/v1/projects/team-a/sites/www", std::string(hooks::kMaxHookBodyBytes + 1, ' '),
           github(std::string(hooks::kMaxHookBodyBytes + 1, ' ')))
          .first,
      413);
  // A push to another branch is verified but changes nothing either.
  std::string dev = R"({"ref":"refs/heads/dev"})";
  EXPECT_EQ(
      post("/hooks/v1/projects/team-a/sites/www", dev, github(dev)),
      std::make_pair(200, std::string("ignored: ref refs/heads/dev is not the site's ref main")));

  for (const char* name : {"www", "nohooks", "weakhooks", "missing"})
    EXPECT_EQ(refresh_requested("team-a", name), "");
  EXPECT_EQ(refresh_requested("team-b", "blog"), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(status_commit("team-a", "www"), first);
}

}  // namespace
}  // namespace wok::kube::testing
