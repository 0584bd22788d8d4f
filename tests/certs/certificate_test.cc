#include "certs/certificate.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace wok::certs {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

TEST(LocalCa, IsMadeOnceAndKeptWithItsKeyPrivate) {
  TempDir dir;
  std::string error;
  auto ca = LocalCa::open(dir.path / "ca", &error);
  ASSERT_TRUE(ca) << error;
  struct stat st {};
  ASSERT_EQ(stat((dir.path / "ca" / "ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = LocalCa::open(dir.path / "ca", &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->certificate_pem(), ca->certificate_pem());
  auto info = read_certificate(ca->certificate_pem(), &error);
  ASSERT_TRUE(info) << error;
  EXPECT_NE(info->issuer.find("wok local CA"), std::string::npos) << info->issuer;
}

TEST(LocalCa, AMismatchedOrDamagedCaIsRefusedNotReplaced) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(LocalCa::open(dir.path / "ca", &error)) << error;
  std::ofstream(dir.path / "ca" / "ca.key") << "garbage";
  EXPECT_FALSE(LocalCa::open(dir.path / "ca", &error));
  EXPECT_NE(error.find("do not hold a certificate and its key"), std::string::npos) << error;
}

TEST(LocalCa, IssuesForTheHostsAsked) {
  TempDir dir;
  std::string error;
  auto ca = LocalCa::open(dir.path / "ca", &error);
  ASSERT_TRUE(ca) << error;
  auto issued = ca->issue({"www.a.localhost", "*.a.localhost"}, 30, &error);
  ASSERT_TRUE(issued) << error;
  EXPECT_EQ(issued->info.hosts, (std::vector<std::string>{"www.a.localhost", "*.a.localhost"}));
  EXPECT_NE(issued->info.issuer.find("wok local CA"), std::string::npos);
  int64_t now = time(nullptr);
  EXPECT_LT(issued->info.not_before, now);
  EXPECT_GT(issued->info.not_after, now + 29 * 86400);
  EXPECT_LT(issued->info.not_after, now + 31 * 86400);
  EXPECT_NE(issued->key_pem.find("PRIVATE KEY"), std::string::npos);
  // The chain ends with the CA, so a client given only the CA verifies it.
  EXPECT_NE(issued->certificate_pem.find(ca->certificate_pem()), std::string::npos);
  EXPECT_FALSE(ca->issue({}, 30, &error));
  EXPECT_FALSE(ca->issue({"a,DNS:evil.example"}, 30, &error));
}

TEST(Certificate, CoversExactNamesAndOneLabelWildcards) {
  std::vector<std::string> names{"a.example", "*.b.example"};
  EXPECT_TRUE(covers(names, "a.example"));
  EXPECT_TRUE(covers(names, "x.b.example"));
  EXPECT_FALSE(covers(names, "b.example"));
  EXPECT_FALSE(covers(names, "y.x.b.example"));
  EXPECT_FALSE(covers(names, "www.a.example"));
  EXPECT_FALSE(covers(names, ".b.example"));
}

TEST(Certificate, NotPemIsANamedError) {
  std::string error;
  EXPECT_FALSE(read_certificate("hello", &error));
  EXPECT_NE(error.find("not a PEM certificate"), std::string::npos);
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace wok::certs
