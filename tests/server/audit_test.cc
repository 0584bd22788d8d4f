// The audit log (server/audit.h): every change asked of the API, allowed or
// refused, with who, from where and what changed; never a secret's value, a
// token or SQL; read by the platform admin only; rotated by size.
#include "server/audit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/base64.h"
#include "server/api_server.h"
#include "server/auth.h"
#include "store/secret_cipher.h"
#include "store/secrets.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace wok::server {
namespace {

using nlohmann::json;

constexpr char kBase[] = "/apis/wok.dev/v1alpha1";
constexpr char kSecretValue[] = "hunter2-never-logged";

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = store::Store::open((dir_.path / "wok.db").string(), &error);
    ASSERT_TRUE(store_) << error;
    for (const auto& [user, admin] : std::map<std::string, bool>{
             {"admin", true}, {"dev", false}, {"view", false}, {"eve", false}}) {
      tokens_[user] = new_token();
      store_->add_token(user, hash_token(tokens_[user]), admin);
    }
    secrets_ = std::make_unique<store::SecretStore>(
        *store_, store::SecretCipher::load_or_create((dir_.path / "secrets.key").string(), &error));
    audit_ = std::make_unique<AuditLog>((dir_.path / "audit").string());
    ASSERT_EQ(audit_->error(), "");
    ApiOptions options;
    options.secrets = secrets_.get();
    options.audit = audit_.get();
    options.site_database = [](const std::string&, const std::string&, bool, const std::string&,
                               int) {
      return DatabaseAnswer{404, "no database"};
    };
    api_ = std::make_unique<ApiHandler>(*store_, options);
  }

  http::Response call(const std::string& user, const std::string& method, const std::string& target,
                      const json& body = nullptr, const std::string& raw = "") {
    http::Request req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.remote_addr = "192.0.2.7";
    if (!user.empty()) req.headers.push_back({"Authorization", "Bearer " + tokens_[user]});
    req.body = body.is_null() ? raw : body.dump();
    http::Response res;
    api_->handle(req, res);
    return res;
  }
  std::string file_text() {
    std::ifstream in(dir_.path / "audit" / "audit.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<json> entries() { return audit_->read({"", "", 1000}); }

  json project() {
    return {
        {"apiVersion", "wok.dev/v1alpha1"},
        {"kind", "Project"},
        {"metadata", {{"name", "team-a"}}},
        {"spec",
         {{"hosts", {"*.team-a.localhost"}},
          {"members",
           {{{"user", "dev"}, {"role", "developer"}}, {{"user", "view"}, {"role", "viewer"}}}}}}};
  }
  json site(const std::string& host) {
    return {{"apiVersion", "wok.dev/v1alpha1"},
            {"kind", "Site"},
            {"metadata", {{"name", "www"}, {"namespace", "team-a"}}},
            {"spec",
             {{"mode", "static"},
              {"hosts", {host}},
              {"source", {{"git", {{"url", "https://example.org/www.git"}}}}}}}};
  }

  test_support::TempDir dir_{"wok-audit"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::SecretStore> secrets_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<ApiHandler> api_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(AuditTest, ChangesAreRecordedWithWhoWhereAndWhatAndReadsAreNot) {
  ASSERT_EQ(call("admin", "POST", std::string(kBase) + "/projects", project()).status, 201);
  ASSERT_EQ(call("dev", "POST", std::string(kBase) + "/namespaces/team-a/sites",
                 site("www.team-a.localhost"))
                .status,
            201);
  ASSERT_EQ(call("dev", "PUT", std::string(kBase) + "/namespaces/team-a/sites/www",
                 site("blog.team-a.localhost"))
                .status,
            200);
  ASSERT_EQ(call("dev", "GET", std::string(kBase) + "/namespaces/team-a/sites/www").status, 200);
  auto log = entries();
  ASSERT_EQ(log.size(), 3u);  // the GET is not there
  EXPECT_EQ(log[0]["user"], "admin");
  EXPECT_EQ(log[0]["verb"], "create");
  EXPECT_EQ(log[0]["kind"], "Project");
  EXPECT_EQ(log[0]["name"], "team-a");
  EXPECT_EQ(log[1]["user"], "dev");
  EXPECT_EQ(log[1]["sourceIP"], "192.0.2.7");
  EXPECT_EQ(log[1]["name"], "www");
  EXPECT_EQ(log[1]["namespace"], "team-a");
  EXPECT_EQ(log[1]["code"], 201);
  EXPECT_EQ(log[1]["decision"], "allowed");
  // The update's change: a JSON Patch of the spec, the host replaced.
  EXPECT_EQ(log[2]["verb"], "update");
  EXPECT_EQ(
      log[2]["change"],
      json::parse(R"([{"op":"replace","path":"/spec/hosts/0","value":"blog.team-a.localhost"}])"));
  // The file: owner-only, one JSON object per line.
  struct stat st {};
  ASSERT_EQ(stat((dir_.path / "audit" / "audit.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuditTest, RefusedRequestsAreRecordedAsRefused) {
  call("admin", "POST", std::string(kBase) + "/projects", project());
  call("dev", "POST", std::string(kBase) + "/namespaces/team-a/sites",
       site("www.team-a.localhost"));
  EXPECT_EQ(call("view", "DELETE", std::string(kBase) + "/namespaces/team-a/sites/www").status,
            403);
  EXPECT_EQ(call("eve", "PUT", std::string(kBase) + "/namespaces/team-a/sites/www",
                 site("evil.team-a.localhost"))
                .status,
            403);
  tokens_["forged"] = "not-a-token";
  EXPECT_EQ(call("forged", "DELETE", std::string(kBase) + "/projects/team-a").status, 401);
  auto log = entries();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[2]["user"], "view");
  EXPECT_EQ(log[2]["decision"], "refused");
  EXPECT_EQ(log[2]["verb"], "delete");
  EXPECT_NE(log[2]["message"].get<std::string>().find("may only read"), std::string::npos);
  EXPECT_EQ(log[3]["user"], "eve");
  EXPECT_EQ(log[3]["decision"], "refused");
  EXPECT_FALSE(log[3].contains("change"));  // nothing changed
  EXPECT_EQ(log[4]["user"], "");
  EXPECT_EQ(log[4]["code"], 401);
  EXPECT_EQ(log[4]["decision"], "refused");
  // The site is untouched and the forged token is not in the log.
  EXPECT_EQ(file_text().find("not-a-token"), std::string::npos);
}

TEST_F(AuditTest, NeverASecretsValueATokenOrSql) {
  call("admin", "POST", std::string(kBase) + "/projects", project());
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "db"}}},
                 {"stringData", {{"PASSWORD", kSecretValue}}}};
  ASSERT_EQ(
      call("dev", "PUT", std::string(kBase) + "/namespaces/team-a/secrets/db", secret).status / 100,
      2);
  http::Response made =
      call("admin", "POST", std::string(kBase) + "/tokens", json{{"user", "carol"}});
  ASSERT_EQ(made.status, 201);
  std::string token = json::parse(made.body)["token"];
  call("admin", "POST", std::string(kBase) + "/namespaces/team-a/sites",
       site("www.team-a.localhost"));
  call("dev", "POST", std::string(kBase) + "/namespaces/team-a/sites/www/dbexec", nullptr,
       "UPDATE users SET password = 'sql-secret-never-logged';");
  std::string text = file_text();
  EXPECT_EQ(text.find(kSecretValue), std::string::npos) << text;
  EXPECT_EQ(text.find(token), std::string::npos);
  EXPECT_EQ(text.find("sql-secret-never-logged"), std::string::npos);
  auto log = entries();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[1]["kind"], "Secret");
  EXPECT_EQ(log[1]["change"]["keysAfter"], json({"PASSWORD"}));
  EXPECT_EQ(log[2]["kind"], "Token");
  EXPECT_EQ(log[2]["request"]["user"], "carol");  // who it was made for, not the token
  EXPECT_EQ(log[4]["verb"], "dbexec");
  EXPECT_GT(log[4]["requestBytes"].get<int>(), 0);
}

TEST_F(AuditTest, OnlyThePlatformAdminReadsItFilteredByUserAndProject) {
  call("admin", "POST", std::string(kBase) + "/projects", project());
  call("dev", "POST", std::string(kBase) + "/namespaces/team-a/sites",
       site("www.team-a.localhost"));
  call("eve", "DELETE", std::string(kBase) + "/namespaces/team-a/sites/www");
  EXPECT_EQ(call("dev", "GET", std::string(kBase) + "/audit").status, 403);
  EXPECT_EQ(call("view", "GET", std::string(kBase) + "/audit").status, 403);
  http::Response r = call("admin", "GET", std::string(kBase) + "/audit?user=eve");
  ASSERT_EQ(r.status, 200);
  json items = json::parse(r.body)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["user"], "eve");
  items = json::parse(
      call("admin", "GET", std::string(kBase) + "/audit?namespace=team-a&limit=1").body)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["user"], "eve");  // the newest
  EXPECT_EQ(call("admin", "GET", std::string(kBase) + "/audit?limit=0").status, 400);
  EXPECT_EQ(call("admin", "DELETE", std::string(kBase) + "/audit").status, 405);
}

TEST_F(AuditTest, AFloodOfStrangersIsCountedNotAllWrittenAndLargeChangesAreSummed) {
  tokens_["forged"] = "not-a-token";
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(call("forged", "DELETE", std::string(kBase) + "/projects/x").status, 401);
  EXPECT_EQ(entries().size(), 20u);
  call("admin", "POST", std::string(kBase) + "/projects", project());
  json big = site("www.team-a.localhost");
  for (int i = 0; i < 500; ++i)
    big["spec"]["env"]["VAR_" + std::to_string(i)] = std::string(100, 'v');
  big["spec"].erase("env");
  big["metadata"]["annotations"] = json::object();
  for (int i = 0; i < 500; ++i)
    big["metadata"]["annotations"]["a" + std::to_string(i)] = std::string(100, 'v');
  ASSERT_EQ(call("dev", "POST", std::string(kBase) + "/namespaces/team-a/sites", big).status, 201);
  json last = entries().back();
  EXPECT_EQ(last["change"]["truncated"], true);
  EXPECT_GT(last["change"]["operations"].get<int>(), 0);
  EXPECT_LT(last.dump().size(), 20000u);
}

TEST(AuditLogFiles, RotatedBySizeKeepingTheNewestFilesAndReadAcrossThem) {
  test_support::TempDir dir("wok-audit-rotate");
  AuditLog log((dir.path / "a").string(), 1000, 2);
  for (int i = 0; i < 100; ++i)
    log.append({{"n", i}, {"user", i % 2 ? "odd" : "even"}, {"pad", std::string(40, 'x')}});
  EXPECT_TRUE(std::filesystem::exists(dir.path / "a" / "audit.log.1"));
  EXPECT_TRUE(std::filesystem::exists(dir.path / "a" / "audit.log.2"));
  EXPECT_FALSE(std::filesystem::exists(dir.path / "a" / "audit.log.3"));
  for (const char* f : {"audit.log", "audit.log.1", "audit.log.2"})
    EXPECT_LE(std::filesystem::file_size(dir.path / "a" / f), 1000u);
  auto newest = log.read({"", "", 20});
  ASSERT_EQ(newest.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(newest[i]["n"], 80 + i);  // oldest first, across files
  auto odd = log.read({"odd", "", 3});
  ASSERT_EQ(odd.size(), 3u);
  EXPECT_EQ(odd[2]["n"], 99);
}

}  // namespace
}  // namespace wok::server
