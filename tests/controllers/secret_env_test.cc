// Secrets into instance env: each component gets its own secrets' keys, the
// spec's env and PORT/WOK_* win, a missing secret fails the plan naming the
// field and the secret (no value), and a revision keeps the values it was
// first planned with.
#include "controllers/secret_env.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace wok::controllers {
namespace {

using nlohmann::json;
using Values = std::map<std::string, std::string>;

json site() {
  return json::parse(R"({"metadata": {"name": "api", "namespace": "team-a", "uid": "u1"}, "spec": {
      "mode": "app", "hosts": ["api.team-a.localhost"], "app": {"components": [
        {"name": "web", "command": ["python3", "app.py"], "port": 8080, "replicas": 2,
         "env": {"GREETING": "spec"}, "secrets": ["db", "extra"]},
        {"name": "worker", "command": ["python3", "w.py"]}]}}})");
}

struct FakeSecrets {
  std::map<std::string, Values> by_key;  // "ns/name"
  std::vector<std::string> asked;
  SecretReader reader() {
    return [this](const std::string& ns, const std::string& name,
                  std::string* error) -> std::optional<Values> {
      asked.push_back(ns + "/" + name);
      auto it = by_key.find(ns + "/" + name);
      if (it == by_key.end()) {
        *error = "secret \"" + name + "\" not found in project \"" + ns + "\"";
        return std::nullopt;
      }
      return it->second;
    };
  }
};

WorkloadPlan plan_of(const json& s) {
  return plan_workloads("team-a", "api", "u1", s["spec"], 4, "/data/rev/4", "/data/storage");
}

TEST(SecretEnv, KeysOfTheComponentsOwnSecretsTheSpecAndPlatformWin) {
  FakeSecrets fake;
  fake.by_key["team-a/db"] = {
      {"DB_PASSWORD", "pw"}, {"GREETING", "secret"}, {"PORT", "1"}, {"SHARED", "db"}};
  fake.by_key["team-a/extra"] = {{"SHARED", "extra"}, {"WOK_PROJECT", "team-b"}};
  WorkloadPlan plan = plan_of(site());
  ASSERT_EQ(plan.error, "");
  ASSERT_EQ(add_secret_env(site(), plan, fake.reader()), "");
  for (const auto& s : plan.instances) {
    if (s.id.find(".web.") != std::string::npos) {
      EXPECT_EQ(s.env.at("DB_PASSWORD"), "pw");
      EXPECT_EQ(s.env.at("GREETING"), "spec");
      EXPECT_EQ(s.env.at("PORT"), "8080");
      EXPECT_EQ(s.env.at("WOK_PROJECT"), "team-a");
      EXPECT_EQ(s.env.at("SHARED"), "extra");  // the later secret in the list
    } else {
      EXPECT_EQ(s.env.count("DB_PASSWORD"), 0u) << s.id;  // the worker names none
    }
  }
  EXPECT_EQ(fake.asked,
            (std::vector<std::string>{"team-a/db", "team-a/extra"}));  // its own project only
}

TEST(SecretEnv, MissingSecretNamesTheFieldAndTheSecret) {
  FakeSecrets fake;
  fake.by_key["team-a/db"] = {{"DB_PASSWORD", "pw"}};
  fake.by_key["team-b/extra"] = {{"X", "elsewhere"}};  // another project's: never found
  WorkloadPlan plan = plan_of(site());
  EXPECT_EQ(add_secret_env(site(), plan, fake.reader()),
            "spec.app.components[0].secrets[1]: secret \"extra\" not found in project \"team-a\"");
  WorkloadPlan again = plan_of(site());
  EXPECT_EQ(add_secret_env(site(), again, {}),
            "spec.app.components[0].secrets[0]: secrets are not available on this platform");
}

TEST(SecretEnv, NoSecretsNothingAsked) {
  json s = site();
  s["spec"]["app"]["components"][0].erase("secrets");
  WorkloadPlan plan = plan_of(s);
  EXPECT_EQ(add_secret_env(s, plan, {}), "");
}

TEST(PlannedSecrets, ARevisionKeepsItsFirstValues) {
  FakeSecrets fake;
  fake.by_key["team-a/db"] = {{"K", "v1"}};
  PlannedSecrets planned;
  std::string error;
  auto r4 = planned.reader_for("u1", 4, fake.reader());
  EXPECT_EQ(r4("team-a", "db", &error)->at("K"), "v1");
  fake.by_key["team-a/db"] = {{"K", "v2"}};
  EXPECT_EQ(planned.reader_for("u1", 4, fake.reader())("team-a", "db", &error)->at("K"), "v1");
  EXPECT_EQ(planned.reader_for("u1", 5, fake.reader())("team-a", "db", &error)->at("K"), "v2");
  EXPECT_EQ(planned.reader_for("u2", 4, fake.reader())("team-a", "db", &error)->at("K"),
            "v2");  // another site
  // A failure is not remembered: the secret made later is found.
  EXPECT_FALSE(planned.reader_for("u1", 6, fake.reader())("team-a", "new", &error));
  fake.by_key["team-a/new"] = {{"K", "n"}};
  EXPECT_TRUE(planned.reader_for("u1", 6, fake.reader())("team-a", "new", &error));
  // Only a few revisions per site are kept: the oldest is read again.
  for (int rev = 7; rev <= 9; ++rev)
    planned.reader_for("u1", rev, fake.reader())("team-a", "db", &error);
  EXPECT_EQ(planned.reader_for("u1", 4, fake.reader())("team-a", "db", &error)->at("K"), "v2");
  EXPECT_FALSE(planned.reader_for("u1", 4, {}));
}

TEST(SecretEnv, TheDatabasePasswordReachesEveryComponentAndTheServer) {
  json s = site();
  s["spec"]["app"]["components"][0].erase("secrets");
  s["spec"]["app"]["components"][0]["env"]["DB_USER"] = "mine";  // the spec's env wins
  s["spec"]["database"] = {{"engine", "postgresql"}, {"size", "1Gi"}};
  WorkloadPlan plan = plan_of(s);
  ASSERT_EQ(plan.database_id, "team-a.api.db.r0.0");
  ASSERT_TRUE(plan.gating.count(plan.database_id));
  FakeSecrets fake;
  // No secret yet: the field and the secret are named.
  EXPECT_EQ(add_secret_env(s, plan, fake.reader()),
            "spec.database: secret \"api-db\" not found in project \"team-a\"");
  fake.by_key["team-a/api-db"] = {{"pass", "x"}};
  plan = plan_of(s);
  EXPECT_EQ(add_secret_env(s, plan, fake.reader()),
            "spec.database: secret \"api-db\" has no key \"password\"");
  // A member's own password that would break SQL or a URL is refused.
  fake.by_key["team-a/api-db"] = {{"password", "x'; DROP DATABASE api; --"}};
  plan = plan_of(s);
  EXPECT_EQ(add_secret_env(s, plan, fake.reader()),
            "spec.database: secret \"api-db\": key \"password\" may hold only letters, digits "
            "and . _ ~ -");
  fake.by_key["team-a/api-db"] = {{"password", "short"}};
  plan = plan_of(s);
  EXPECT_NE(add_secret_env(s, plan, fake.reader()).find("must be 12 to 128 characters long"),
            std::string::npos);
  fake.by_key["team-a/api-db"] = {{"password", "Secret-pw_123.~"}};
  plan = plan_of(s);
  ASSERT_EQ(add_secret_env(s, plan, fake.reader()), "");
  int servers = 0, web = 0, worker = 0;
  for (const auto& i : plan.instances) {
    if (i.id == plan.database_id) {
      ++servers;
      EXPECT_EQ(i.service, "db");
      EXPECT_EQ(i.port, 5432);
      EXPECT_EQ(i.volumes.at(0).host_path, "/data/database/data");
      EXPECT_NE(i.files.at("init.sql").find("PASSWORD 'Secret-pw_123.~'"), std::string::npos);
      EXPECT_FALSE(i.env.count("DB_PASSWORD"));
      continue;
    }
    (i.id.find(".web.") != std::string::npos ? web : worker)++;
    EXPECT_EQ(i.env.at("DB_PASSWORD"), "Secret-pw_123.~");
    EXPECT_EQ(i.env.at("DB_HOST"), "api-db");
    EXPECT_EQ(i.env.at("DB_PORT"), "5432");
    const std::string user = i.id.find(".web.") != std::string::npos ? "mine" : "api";
    EXPECT_EQ(i.env.at("DB_USER"), user);
    EXPECT_EQ(i.env.at("DATABASE_URL"), "postgresql://api:Secret-pw_123.~@api-db:5432/api");
  }
  EXPECT_EQ(servers, 1);
  EXPECT_EQ(web, 2);
  EXPECT_EQ(worker, 1);
  EXPECT_EQ(plan.network.services.at("db").names, (std::vector<std::string>{"db", "api-db"}));
}

// spec.services: a member's own password that would break redis.conf or
// rabbitmq.conf (a newline and a directive of theirs) is refused by name;
// a good one reaches the server's file and every component.
TEST(SecretEnv, AServicesPasswordIsCheckedAndReachesItsServer) {
  json s = site();
  s["spec"]["app"]["components"][0].erase("secrets");
  s["spec"]["services"] = {{{"name", "cache"}, {"engine", "redis"}}};
  FakeSecrets fake;
  fake.by_key["team-a/api-cache"] = {{"password", "pw-long-enough\nrename-command CONFIG \"\""}};
  WorkloadPlan plan = plan_of(s);
  EXPECT_EQ(add_secret_env(s, plan, fake.reader()),
            "spec.services service:cache: secret \"api-cache\": key \"password\" may hold only "
            "letters, digits and . _ ~ -");
  fake.by_key["team-a/api-cache"] = {{"password", "Cache-pw_1234"}};
  plan = plan_of(s);
  ASSERT_EQ(add_secret_env(s, plan, fake.reader()), "");
  int servers = 0;
  for (const auto& i : plan.instances) {
    if (i.id == "team-a.api.cache.r0.0") {
      ++servers;
      EXPECT_NE(i.files.at("redis.conf").find("\nrequirepass Cache-pw_1234\n"), std::string::npos);
      continue;
    }
    EXPECT_EQ(i.env.at("CACHE_URL"), "redis://:Cache-pw_1234@api-cache:6379/0") << i.id;
  }
  EXPECT_EQ(servers, 1);
}

}  // namespace
}  // namespace wok::controllers
