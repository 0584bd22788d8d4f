#include "controllers/site_certificates.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "certs/certificate.h"
#include "router/route_table.h"

namespace wok::controllers {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/wok-sitecerts-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

CertificateIssuers local(const certs::LocalCa* ca, int valid_days = 90) {
  CertificateIssuers issuers;
  issuers.local_ca = ca;
  issuers.local_valid_days = valid_days;
  return issuers;
}

render::SitePlan plan_of(std::string mode = "auto") {
  render::SitePlan plan;
  plan.ns = "team";
  plan.name = "www";
  plan.tls.mode = std::move(mode);
  return plan;
}

class SiteCertificatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ca_ = certs::LocalCa::open(dir_.path / "ca", &error);
    ASSERT_TRUE(ca_) << error;
  }
  TempDir dir_;
  std::unique_ptr<certs::LocalCa> ca_;
};

TEST_F(SiteCertificatesTest, AutoIssuesOnceAndAgainWhenHostsChange) {
  SiteCertificates certs(local(ca_.get()), nullptr);
  auto first = certs.ensure(plan_of(), {"www.team.localhost"});
  ASSERT_TRUE(first.tls && first.tls->context);
  EXPECT_EQ(first.status["hosts"], nlohmann::json::array({"www.team.localhost"}));
  EXPECT_FALSE(first.status.contains("message"));
  auto again = certs.ensure(plan_of(), {"www.team.localhost"});
  EXPECT_EQ(again.tls, first.tls) << "reissued without a reason";
  auto more = certs.ensure(plan_of(), {"www.team.localhost", "team.localhost"});
  EXPECT_NE(more.tls, first.tls);
  EXPECT_EQ(more.status["hosts"].size(), 2u);
}

TEST_F(SiteCertificatesTest, AutoRenewsWhenAThirdOfItsLifeIsLeft) {
  // Valid for no time at all: every look finds it due.
  SiteCertificates certs(local(ca_.get(), 0), nullptr);
  auto first = certs.ensure(plan_of(), {"www.team.localhost"});
  auto second = certs.ensure(plan_of(), {"www.team.localhost"});
  ASSERT_TRUE(first.tls && second.tls);
  EXPECT_NE(first.tls, second.tls);
  EXPECT_NE(first.status["notAfter"], nlohmann::json());
}

TEST_F(SiteCertificatesTest, WithoutAnIssuerStatusSaysSoAndNothingRedirects) {
  SiteCertificates certs(local(nullptr), nullptr);
  render::SitePlan plan = plan_of();
  plan.tls.redirect = true;
  auto result = certs.ensure(plan, {"www.team.localhost"});
  ASSERT_TRUE(result.tls);
  EXPECT_FALSE(result.tls->context);
  EXPECT_FALSE(result.tls->redirect);
  EXPECT_EQ(result.status["message"], "no certificate issuer is configured");
}

TEST_F(SiteCertificatesTest, SecretModeReadsTheProjectsSecretAndChecksIt) {
  std::string error;
  auto issued = ca_->issue({"other.example"}, 30, &error);
  ASSERT_TRUE(issued);
  std::map<std::string, std::string> secret = {{"tls.crt", issued->certificate_pem},
                                               {"tls.key", issued->key_pem}};
  std::string asked;
  SiteCertificates certs(
      local(nullptr),
      [&](const std::string& ns, const std::string& name,
          std::string* error) -> std::optional<std::map<std::string, std::string>> {
        asked = ns + "/" + name;
        if (name != "www-cert") {
          *error = "no such secret";
          return std::nullopt;
        }
        return secret;
      });
  render::SitePlan plan = plan_of("secret");
  plan.tls.secret_name = "www-cert";
  plan.tls.hsts_max_age_s = 60;
  auto result = certs.ensure(plan, {"www.team.localhost"});
  EXPECT_EQ(asked, "team/www-cert");
  ASSERT_TRUE(result.tls && result.tls->context);
  EXPECT_EQ(result.tls->hsts, "max-age=60");
  EXPECT_EQ(result.status["message"], "the certificate does not cover www.team.localhost");
  plan.tls.secret_name = "gone";
  result = certs.ensure(plan, {"www.team.localhost"});
  EXPECT_EQ(result.status["message"], "secret gone: no such secret");
  EXPECT_FALSE(result.tls->context);
  plan.tls.mode = "off";
  EXPECT_FALSE(certs.ensure(plan, {"www.team.localhost"}).tls);
}

}  // namespace
}  // namespace wok::controllers
