// Secrets through the API, staged by every kind of caller: a project's
// developer and admin write and read values; its viewer sees names and keys,
// never a value; a member of another project and a user of none learn
// nothing; the platform admin may do all. No answer but the one read with
// ?showValues=true ever carries a value.
#include "server/secrets_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "api/base64.h"
#include "api/secret.h"
#include "server/api_server.h"
#include "server/auth.h"
#include "store/secrets.h"
#include "store/store.h"

namespace wok::server {
namespace {

using nlohmann::json;

constexpr char kNs[] = "/apis/wok.dev/v1alpha1/namespaces/";
const std::string kValue = "hunter2-very-secret";

class SecretsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-secrets-api-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string error;
    store_ = store::Store::open(dir_ + "/wok.db", &error);
    ASSERT_TRUE(store_) << error;
    for (const auto& [user, admin] : std::map<std::string, bool>{{"admin", true},
                                                                 {"dev", false},
                                                                 {"lead", false},
                                                                 {"view", false},
                                                                 {"bob", false},
                                                                 {"eve", false}}) {
      tokens_[user] = new_token();
      store_->add_token(user, hash_token(tokens_[user]), admin);
    }
    add_project("team-a", {{"dev", "developer"}, {"lead", "admin"}, {"view", "viewer"}});
    add_project("team-b", {{"bob", "developer"}});
    secrets_ = std::make_unique<store::SecretStore>(
        *store_, store::SecretCipher::load_or_create(dir_ + "/secrets.key", &error));
    ApiOptions options;
    options.secrets = secrets_.get();
    api_ = std::make_unique<ApiHandler>(*store_, options);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void add_project(const std::string& name, const std::map<std::string, std::string>& members) {
    json list = json::array();
    for (const auto& [u, r] : members) list.push_back({{"user", u}, {"role", r}});
    json p = {{"apiVersion", "wok.dev/v1alpha1"},
              {"kind", "Project"},
              {"metadata", {{"name", name}}},
              {"spec", {{"hosts", {"*." + name + ".localhost"}}, {"members", list}}}};
    ASSERT_TRUE(store_->create("Project", p).ok());
  }

  http::Response call(const std::string& user, const std::string& method, const std::string& target,
                      const json& body = nullptr) {
    http::Request req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.headers.push_back({"Authorization", "Bearer " + tokens_[user]});
    if (!body.is_null()) req.body = body.dump();
    http::Response res;
    api_->handle(req, res);
    return res;
  }
  http::Response put_db(const std::string& user, const std::string& ns = "team-a") {
    json s = {{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", "db"}}},
              {"stringData", {{"PASSWORD", kValue}}},
              {"data", {{"USER", api::base64_encode("app")}}}};
    return call(user, "PUT", std::string(kNs) + ns + "/secrets/db", s);
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::SecretStore> secrets_;
  std::unique_ptr<ApiHandler> api_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(SecretsApiTest, DeveloperWritesAndReadsValues) {
  auto r = put_db("dev");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body.find(kValue), std::string::npos);
  json view = json::parse(r.body);
  EXPECT_EQ(view["keys"], json::array({"PASSWORD", "USER"}));
  EXPECT_EQ(view["metadata"]["namespace"], "team-a");
  EXPECT_EQ(put_db("dev").status, 200);  // replaced

  r = call("dev", "GET", std::string(kNs) + "team-a/secrets/db");
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(json::parse(r.body).contains("data"));
  r = call("dev", "GET", std::string(kNs) + "team-a/secrets/db?showValues=true");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["data"]["PASSWORD"], api::base64_encode(kValue));

  // PATCH merges keys; null removes one.
  r = call("lead", "PATCH", std::string(kNs) + "team-a/secrets/db",
           {{"stringData", {{"TOKEN", "t"}}}, {"data", {{"USER", nullptr}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["keys"], json::array({"PASSWORD", "TOKEN"}));

  r = call("dev", "DELETE", std::string(kNs) + "team-a/secrets/db");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(call("dev", "GET", std::string(kNs) + "team-a/secrets/db").status, 404);
  EXPECT_EQ(call("dev", "DELETE", std::string(kNs) + "team-a/secrets/db").status, 404);
}

TEST_F(SecretsApiTest, ViewerSeesNamesAndKeysNeverValues) {
  ASSERT_EQ(put_db("dev").status, 201);
  auto r = call("view", "GET", std::string(kNs) + "team-a/secrets");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["items"][0]["metadata"]["name"], "db");
  EXPECT_EQ(r.body.find(kValue), std::string::npos);
  r = call("view", "GET", std::string(kNs) + "team-a/secrets/db?showValues=true");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body.find(kValue), std::string::npos);
  EXPECT_NE(r.body.find("never their values"), std::string::npos) << r.body;
  EXPECT_EQ(put_db("view").status, 403);
  EXPECT_EQ(call("view", "DELETE", std::string(kNs) + "team-a/secrets/db").status, 403);
  EXPECT_EQ(
      call("view", "PATCH", std::string(kNs) + "team-a/secrets/db", {{"stringData", {{"X", "y"}}}})
          .status,
      403);
  EXPECT_TRUE(secrets_->describe("team-a", "db"));
}

TEST_F(SecretsApiTest, OtherProjectsAndOutsidersLearnNothing) {
  ASSERT_EQ(put_db("dev").status, 201);
  for (const std::string user : {"bob", "eve"}) {
    for (const std::string target :
         {"team-a/secrets", "team-a/secrets/db", "team-a/secrets/db?showValues=true",
          "team-a/secrets/nope", "no-such/secrets"}) {
      auto r = call(user, "GET", std::string(kNs) + target);
      EXPECT_EQ(r.status, 403) << user << " " << target;
      EXPECT_EQ(r.body.find(kValue), std::string::npos);
    }
    EXPECT_EQ(put_db(user).status, 403);
    EXPECT_EQ(call(user, "DELETE", std::string(kNs) + "team-a/secrets/db").status, 403);
  }
  // bob's own project has no "db": the same name is another secret.
  EXPECT_EQ(call("bob", "GET", std::string(kNs) + "team-b/secrets/db").status, 404);
  // The platform admin may read every project's.
  auto r = call("admin", "GET", std::string(kNs) + "team-a/secrets/db?showValues=true");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["data"]["PASSWORD"], api::base64_encode(kValue));
}

TEST_F(SecretsApiTest, HostileBodiesChangeNothingAndQuoteNoValue) {
  const std::string path = std::string(kNs) + "team-a/secrets/db";
  struct Case {
    json body;
    std::string field;
  };
  std::vector<Case> cases = {
      {{{"metadata", {{"name", "db"}}}, {"data", {{"K", kValue + "!"}}}}, "data.K"},  // not base64
      {{{"metadata", {{"name", "db"}}}, {"stringData", {{"a=b", kValue}}}},
       "stringData"},  // bad key
      {{{"metadata", {{"name", "db"}}}, {"stringData", {{"../x", kValue}}}}, "stringData"},
      {{{"metadata", {{"name", "db"}}}, {"stringData", {{"K", std::string("a\0b", 3)}}}},
       "stringData.K"},
      {{{"metadata", {{"name", "db"}}}, {"stringData", {{"K", 5}}}}, "stringData.K"},
      {{{"metadata", {{"name", "other"}}}, {"stringData", {{"K", kValue}}}}, "metadata.name"},
      {{{"metadata", {{"name", "db"}, {"namespace", "team-b"}}}, {"stringData", {{"K", kValue}}}},
       "metadata.namespace"},
      {{{"metadata", {{"name", "db"}}}, {"kind", "Site"}}, "kind"},
      {{{"metadata", {{"name", "db"}}}, {"spec", json::object()}}, "spec"},
      {{{"metadata", {{"name", "db"}}},
        {"stringData", {{"K", std::string(api::kMaxSecretBytes, 'x')}}}},
       "data"},
  };
  for (const auto& c : cases) {
    auto r = call("dev", "PUT", path, c.body);
    EXPECT_EQ(r.status, 422) << c.body.dump().substr(0, 200) << " -> " << r.body;
    EXPECT_NE(r.body.find("\"field\": \"" + c.field + "\""), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(kValue), std::string::npos) << r.body;
  }
  auto r = call("dev", "PUT", path);  // no body
  EXPECT_EQ(r.status, 400);
  r = call("dev", "PUT", std::string(kNs) + "team-a/secrets/Bad_Name",
           {{"metadata", {{"name", "Bad_Name"}}}});
  EXPECT_EQ(r.status, 404);  // not a path segment wok knows
  EXPECT_FALSE(secrets_->describe("team-a", "db"));
  EXPECT_EQ(call("dev", "POST", std::string(kNs) + "team-a/secrets").status, 405);
}

TEST_F(SecretsApiTest, ProjectHoldsAtMostSoManySecrets) {
  for (size_t i = 0; i < kMaxSecretsPerProject; ++i) {
    ASSERT_TRUE(secrets_->put("team-a", "s" + std::to_string(i), {{"K", "v"}}, nullptr).ok());
  }
  auto r = put_db("dev");
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("the most one project may hold"), std::string::npos);
  EXPECT_EQ(call("dev", "PUT", std::string(kNs) + "team-a/secrets/s1",
                 {{"metadata", {{"name", "s1"}}}, {"stringData", {{"K", "w"}}}})
                .status,
            200);  // replacing is fine
}

TEST_F(SecretsApiTest, DeletedProjectTakesItsSecretsAlong) {
  ASSERT_EQ(put_db("dev").status, 201);
  ASSERT_EQ(call("admin", "DELETE", "/apis/wok.dev/v1alpha1/projects/team-a").status, 200);
  add_project("team-a", {{"eve", "admin"}});
  auto r = call("eve", "GET", std::string(kNs) + "team-a/secrets");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body)["items"].empty());
}

}  // namespace
}  // namespace wok::server
