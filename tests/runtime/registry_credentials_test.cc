// A tenant's docker:// pull uses none of the host's registry credentials
// (issue 12). Credentials are planted where skopeo looks for them (an auth
// file named by REGISTRY_AUTH_FILE, HOME/.docker/config.json,
// XDG_RUNTIME_DIR/containers/auth.json); a loopback registry stub answers
// every request with a Basic challenge and records the Authorization
// headers it gets. skopeo run as the host would run it sends the planted
// credentials (so each planting is where skopeo really looks); the
// ImageStore's pull sends none. The stub speaks plain HTTP, so both run
// skopeo through a wrapper that only adds --src-tls-verify=false after
// "copy" (this skopeo reads no CONTAINERS_REGISTRIES_CONF to say so).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/image_store.h"
#include "sandbox_fixture.h"

namespace wok::runtime::testing {
namespace {

namespace fs = std::filesystem;

// Answers every request 401 with WWW-Authenticate: Basic; keeps each
// request's Authorization header value ("" when it had none).
class RegistryStub {
 public:
  RegistryStub() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RegistryStub() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::vector<std::string> authorizations() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  size_t requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    seen_.clear();
    requests_ = 0;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 2000) <= 0) break;
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      record(request);
      static const char kAnswer[] =
          "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"wok-test\"\r\n"
          "Docker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 0\r\nConnection: "
          "close\r\n\r\n";
      [[maybe_unused]] ssize_t w = ::write(c, kAnswer, sizeof kAnswer - 1);
      ::close(c);
    }
  }
  void record(const std::string& request) {
    std::string lower = request;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string value;
    if (auto at = lower.find("\r\nauthorization:"); at != std::string::npos) {
      size_t start = at + 16, end = request.find("\r\n", start);
      value = request.substr(start, end - start);
      value.erase(0, value.find_first_not_of(' '));
    }
    std::lock_guard lock(mu_);
    ++requests_;
    seen_.push_back(value);
  }

  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> seen_;
  size_t requests_ = 0;
};

// Sets an environment variable for the test's lifetime, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class RegistryCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have("skopeo")) GTEST_SKIP() << "skopeo is not installed (Debian package skopeo)";
    char tmpl[] = "/tmp/wok-registry-creds-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
    host_ = "127.0.0.1:" + std::to_string(stub_.port());
    ref_ = "docker://" + host_ + "/team-b/private:1";
    skopeo_ = (dir_ / "skopeo-over-http").string();
    std::ofstream(skopeo_) << "#!/bin/sh\n"
                              "for a; do shift; set -- \"$@\" \"$a\";\n"
                              "  [ \"$a\" = copy ] && set -- \"$@\" --src-tls-verify=false; done\n"
                              "exec skopeo \"$@\"\n";
    fs::permissions(skopeo_, fs::perms(0755));
    fs::create_directories(dir_ / "empty-home");
    fs::create_directories(dir_ / "empty-run");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // An auth file granting `user` at the stub (base64 of "user:secret").
  void plant(const fs::path& file, const std::string& user_b64) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << R"({"auths":{")" << host_ << R"(":{"auth":")" << user_b64 << R"("}}})";
  }

  // skopeo as wok ran it before: the host's environment, its credentials.
  void host_pull() {
    run_command({skopeo_, "--insecure-policy", "copy", ref_,
                 "oci:" + (dir_ / "host-pull").string() + ":latest"},
                std::chrono::seconds(60));
  }

  bool stub_saw(const std::string& authorization) {
    for (const auto& a : stub_.authorizations())
      if (a == authorization) return true;
    return false;
  }

  // Pulls as a tenant: refused by the stub, with no credential sent.
  void expect_anonymous_pull() {
    stub_.clear();
    ImageStore store(dir_ / "images", "umoci", skopeo_);
    RootFs root;
    std::string error;
    EXPECT_FALSE(store.resolve("team-a", ref_, &root, &error));
    EXPECT_NE(error.find("cannot pull image " + ref_), std::string::npos) << error;
    EXPECT_GT(stub_.requests(), 0u) << "skopeo never reached the stub: " << error;
    // --src-no-creds answers a Basic challenge with an empty user and
    // password (base64 of ":"): no credential at all.
    for (const auto& a : stub_.authorizations())
      EXPECT_TRUE(a == "" || a == "Basic Og==") << "the tenant's pull sent credentials: " << a;
    EXPECT_FALSE(fs::exists(dir_ / "images" / ".pull-env")) << "the empty HOME is left behind";
  }

  RegistryStub stub_;
  fs::path dir_;
  std::string host_, ref_, skopeo_;
};

// base64("admin:secret"), base64("root:secret"), base64("xdg:secret")
constexpr char kAdmin[] = "YWRtaW46c2VjcmV0";
constexpr char kRoot[] = "cm9vdDpzZWNyZXQ=";
constexpr char kXdg[] = "eGRnOnNlY3JldA==";

TEST_F(RegistryCredentialsTest, AuthFileNamedByTheEnvironmentIsNotUsed) {
  ScopedEnv home("HOME", (dir_ / "empty-home").string());
  ScopedEnv run("XDG_RUNTIME_DIR", (dir_ / "empty-run").string());
  plant(dir_ / "admin-auth.json", kAdmin);
  ScopedEnv auth("REGISTRY_AUTH_FILE", (dir_ / "admin-auth.json").string());
  host_pull();
  ASSERT_TRUE(stub_saw(std::string("Basic ") + kAdmin))
      << "control: skopeo did not use REGISTRY_AUTH_FILE";
  expect_anonymous_pull();
}

TEST_F(RegistryCredentialsTest, DockerConfigInHomeIsNotUsed) {
  ScopedEnv run("XDG_RUNTIME_DIR", (dir_ / "empty-run").string());
  plant(dir_ / "root-home" / ".docker" / "config.json", kRoot);
  ScopedEnv home("HOME", (dir_ / "root-home").string());
  host_pull();
  ASSERT_TRUE(stub_saw(std::string("Basic ") + kRoot))
      << "control: skopeo did not use ~/.docker/config.json";
  expect_anonymous_pull();
  // DOCKER_CONFIG names the same kind of file elsewhere.
  ScopedEnv docker_config("DOCKER_CONFIG", (dir_ / "root-home" / ".docker").string());
  expect_anonymous_pull();
}

TEST_F(RegistryCredentialsTest, AuthFileInTheRuntimeDirectoryIsNotUsed) {
  ScopedEnv home("HOME", (dir_ / "empty-home").string());
  plant(dir_ / "xdg" / "containers" / "auth.json", kXdg);
  ScopedEnv run("XDG_RUNTIME_DIR", (dir_ / "xdg").string());
  host_pull();
  ASSERT_TRUE(stub_saw(std::string("Basic ") + kXdg))
      << "control: skopeo did not use XDG_RUNTIME_DIR";
  expect_anonymous_pull();
}

TEST(SkopeoPullArgv, EnvironmentIsScrubbedAndCredentialsOff) {
  ScopedEnv auth("REGISTRY_AUTH_FILE", "/root/auth.json");
  ScopedEnv docker("DOCKER_CONFIG", "/root/.docker");
  ScopedEnv proxy("HTTPS_PROXY", "http://proxy.example:3128");
  auto argv = skopeo_pull_argv("skopeo", "docker://r.example/a:1", "oci:/x:latest", "/empty");
  ASSERT_GE(argv.size(), 3u);
  EXPECT_EQ(argv[0], "env");
  EXPECT_EQ(argv[1], "-i");
  auto has = [&](const std::string& s) {
    return std::find(argv.begin(), argv.end(), s) != argv.end();
  };
  EXPECT_TRUE(has("HOME=/empty"));
  EXPECT_TRUE(has("XDG_RUNTIME_DIR=/empty"));
  EXPECT_TRUE(has("--src-no-creds"));
  EXPECT_TRUE(has("--src-cert-dir=/empty"));
  EXPECT_TRUE(has("HTTPS_PROXY=http://proxy.example:3128"));
  for (const auto& a : argv) {
    EXPECT_EQ(a.rfind("REGISTRY_AUTH_FILE=", 0), std::string::npos) << a;
    EXPECT_EQ(a.rfind("DOCKER_CONFIG=", 0), std::string::npos) << a;
  }
  EXPECT_EQ(argv[argv.size() - 2], "docker://r.example/a:1");
  EXPECT_EQ(argv.back(), "oci:/x:latest");
}

}  // namespace
}  // namespace wok::runtime::testing
