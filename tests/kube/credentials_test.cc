#include "kube/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace wok::kube {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/wok-kubeconfig-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name) << text;
  }

 private:
  std::string path_;
};

// "PEM-CA" and "PEM-CERT" / "PEM-KEY" in base64.
constexpr char kConfig[] = R"(
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example.org:6443
    certificate-authority-data: UEVNLUNB
- name: prod-cluster
  cluster:
    server: https://prod.example.org:6443/
    certificate-authority: ca.pem
    insecure-skip-tls-verify: true
users:
- name: dev-user
  user:
    token: secret-token
- name: prod-user
  user:
    client-certificate-data: UEVNLUNFUlQ=
    client-key: keys/prod.key
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
- name: broken
  context: {cluster: nowhere, user: dev-user}
- name: nouser
  context: {cluster: dev-cluster, user: ghost}
)";

TEST(Kubeconfig, CurrentContextWithTokenAndInlineCa) {
  Credentials c;
  std::string error;
  ASSERT_TRUE(parse_kubeconfig(kConfig, "/nowhere", "", &c, &error)) << error;
  EXPECT_EQ(c.server, "https://dev.example.org:6443");
  EXPECT_EQ(c.token, "secret-token");
  EXPECT_EQ(c.ca_pem, "PEM-CA");
  EXPECT_TRUE(c.ca_file.empty());
  EXPECT_EQ(c.ns, "team-a");
  EXPECT_FALSE(c.insecure_skip_tls_verify);
}

TEST(Kubeconfig, NamedContextWithFilesResolvedAgainstItsDirectory) {
  TempDir dir;
  fs::create_directories(dir.path() + "/keys");
  dir.write("ca.pem", "CA");
  dir.write("keys/prod.key", "KEY");
  Credentials c;
  std::string error;
  ASSERT_TRUE(parse_kubeconfig(kConfig, dir.path(), "prod", &c, &error)) << error;
  EXPECT_EQ(c.server, "https://prod.example.org:6443/");
  EXPECT_EQ(c.ca_file, dir.path() + "/ca.pem");
  EXPECT_EQ(c.client_cert_pem, "PEM-CERT");
  EXPECT_EQ(c.client_key_file, dir.path() + "/keys/prod.key");
  EXPECT_TRUE(c.insecure_skip_tls_verify);
  EXPECT_TRUE(c.token.empty());
}

TEST(Kubeconfig, ErrorsNameTheProblem) {
  Credentials c;
  std::string error;
  EXPECT_FALSE(parse_kubeconfig(kConfig, "/nowhere", "staging", &c, &error));
  EXPECT_EQ(error, "kubeconfig: context \"staging\" not found");
  EXPECT_FALSE(parse_kubeconfig(kConfig, "/nowhere", "broken", &c, &error));
  EXPECT_NE(error.find("cluster \"nowhere\", which is not defined"), std::string::npos) << error;
  EXPECT_FALSE(parse_kubeconfig(kConfig, "/nowhere", "nouser", &c, &error));
  EXPECT_NE(error.find("user \"ghost\", which is not defined"), std::string::npos) << error;
  // prod's CA is a file that is not there.
  EXPECT_FALSE(parse_kubeconfig(kConfig, "/nowhere", "prod", &c, &error));
  EXPECT_NE(error.find("certificate-authority: cannot read /nowhere/ca.pem"), std::string::npos)
      << error;
}

TEST(Kubeconfig, MalformedInputIsRefused) {
  Credentials c;
  std::string error;
  EXPECT_FALSE(parse_kubeconfig("clusters: [unclosed", "/", "", &c, &error));
  EXPECT_NE(error.find("kubeconfig: line"), std::string::npos) << error;
  EXPECT_FALSE(parse_kubeconfig("clusters: []\n", "/", "", &c, &error));
  EXPECT_EQ(error, "kubeconfig: no current-context set and no --context given");
  EXPECT_FALSE(parse_kubeconfig(R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://a", certificate-authority-data: "!!notbase64"}}]
contexts: [{name: x, context: {cluster: c}}]
)",
                                "/", "", &c, &error));
  EXPECT_EQ(error, "clusters[c].cluster.certificate-authority-data: not valid base64");
  EXPECT_FALSE(parse_kubeconfig(R"(
current-context: x
clusters: [{name: c, cluster: {certificate-authority-data: UEVN}}]
contexts: [{name: x, context: {cluster: c}}]
)",
                                "/", "", &c, &error));
  EXPECT_EQ(error, "kubeconfig: cluster \"c\" has no server");
  EXPECT_FALSE(parse_kubeconfig(R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://a"}}]
users: [{name: u, user: {client-certificate-data: UEVN}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)",
                                "/", "", &c, &error));
  EXPECT_NE(error.find("needs its key"), std::string::npos) << error;
  EXPECT_FALSE(parse_kubeconfig(R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://a"}}]
users: [{name: u, user: {exec: {command: aws}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)",
                                "/", "", &c, &error));
  EXPECT_NE(error.find("exec and auth-provider credentials are not supported"), std::string::npos);
}

TEST(Kubeconfig, LoadNamesTheFile) {
  Credentials c;
  std::string error;
  EXPECT_FALSE(load_kubeconfig("/nonexistent/kubeconfig", "", &c, &error));
  EXPECT_EQ(error, "kubeconfig: cannot read /nonexistent/kubeconfig");
  TempDir dir;
  dir.write("config", "current-context: missing\n");
  EXPECT_FALSE(load_kubeconfig(dir.path() + "/config", "", &c, &error));
  EXPECT_EQ(error, dir.path() + "/config: kubeconfig: context \"missing\" not found");
}

TEST(InCluster, ReadsTheServiceAccount) {
  TempDir dir;
  dir.write("token", "sa-token\n");
  dir.write("ca.crt", "CA");
  dir.write("namespace", "wok-system\n");
  Credentials c;
  std::string error;
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  ASSERT_TRUE(load_in_cluster(dir.path(), env, &c, &error)) << error;
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.token, "sa-token");
  EXPECT_EQ(c.token_file, dir.path() + "/token");
  EXPECT_EQ(c.ca_file, dir.path() + "/ca.crt");
  EXPECT_EQ(c.ns, "wok-system");

  env["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  ASSERT_TRUE(load_in_cluster(dir.path(), env, &c, &error));
  EXPECT_EQ(c.server, "https://[fd00::1]:443");

  EXPECT_FALSE(load_in_cluster(dir.path(), {}, &c, &error));
  EXPECT_NE(error.find("KUBERNETES_SERVICE_HOST/PORT are not set"), std::string::npos);
  fs::remove(dir.path() + "/token");
  EXPECT_FALSE(load_in_cluster(dir.path(), env, &c, &error));
  EXPECT_EQ(error, "in-cluster: cannot read the service account token " + dir.path() + "/token");
}

}  // namespace
}  // namespace wok::kube
