#include "controllers/site_certificates.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "certs/acme.h"
#include "certs/certificate.h"
#include "router/route_table.h"
#include "support/temp_dir.h"

namespace wok::controllers {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

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
  EXPECT_FALSE(certificate_pending(result.status));
  EXPECT_FALSE(result.tls->context);
  plan.tls.mode = "off";
  EXPECT_FALSE(certs.ensure(plan, {"www.team.localhost"}).tls);
}

// A stand-in CA: records the hosts of each order, holds the first until
// told, and fails them all (each failure then waits its backoff).
class RecordingOrderer : public certs::CertificateOrderer {
 public:
  std::optional<certs::Issued> order(const std::vector<std::string>& hosts,
                                     certs::AcmeFailure* failure) override {
    std::unique_lock lock(mu_);
    seen_.push_back(hosts.empty() ? "" : hosts[0]);
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
    failure->message = "refused by the test CA";
    return std::nullopt;
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    changed_.notify_all();
  }
  std::vector<std::string> wait_for(size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return seen_.size() >= n; });
    return seen_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> seen_;
  bool released_ = false;
};

// One project's many failing orders do not hold back another's: the ACME
// thread lets projects take turns.
TEST_F(SiteCertificatesTest, AcmeOrdersTakeTurnsBetweenProjects) {
  RecordingOrderer ca;
  CertificateIssuers issuers;
  issuers.acme = &ca;
  issuers.acme_dir = (dir_.path / "acme").string();
  SiteCertificates certs(std::move(issuers), nullptr);
  auto plan = [](std::string ns, std::string name) {
    render::SitePlan p;
    p.ns = std::move(ns);
    p.name = std::move(name);
    return p;
  };
  auto first = certs.ensure(plan("noisy", "a1"), {"a1.noisy.example"});
  EXPECT_EQ(first.status["message"],
            "waiting for the ACME CA to issue a certificate for a1.noisy.example");
  EXPECT_TRUE(certificate_pending(first.status));  // CertificatePending, not Failed
  ASSERT_EQ(ca.wait_for(1).size(), 1u);            // a1's order runs, held
  certs.ensure(plan("noisy", "a2"), {"a2.noisy.example"});
  certs.ensure(plan("noisy", "a3"), {"a3.noisy.example"});
  certs.ensure(plan("quiet", "b1"), {"b1.quiet.example"});
  ca.release();
  EXPECT_EQ(ca.wait_for(4), (std::vector<std::string>{"a1.noisy.example", "b1.quiet.example",
                                                      "a2.noisy.example", "a3.noisy.example"}));
  // The failure is said, with when the next try comes.
  auto failed = certs.ensure(plan("quiet", "b1"), {"b1.quiet.example"});
  for (int i = 0;
       i < 100 && failed.status.value("message", "").find("refused") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    failed = certs.ensure(plan("quiet", "b1"), {"b1.quiet.example"});
  }
  EXPECT_EQ(failed.status["message"], "refused by the test CA");
  EXPECT_FALSE(certificate_pending(failed.status));
  EXPECT_TRUE(failed.status.contains("retryAt"));
  EXPECT_FALSE(failed.tls->context);
}

}  // namespace
}  // namespace wok::controllers
