#include "api/validation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/codec.h"

namespace wok::api {
namespace {

using nlohmann::json;

json site(const char* yaml) {
  std::vector<json> docs;
  std::string error;
  EXPECT_TRUE(parse_documents(yaml, &docs, &error)) << error;
  return docs.at(0);
}

constexpr const char* kSite = R"(
apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {name: www, namespace: team-a}
spec:
  mode: static
  hosts: [www.team-a.localhost]
  source: {git: {url: "file:///srv/www.git", ref: main, path: public, interval: 60s}}
  build: {command: ["sh", "-c", "make site"], output: dist}
)";

TEST(ValidateSite, AcceptsTheDocumentedExample) {
  EXPECT_EQ(join_errors(validate_site(site(kSite))), "");
}

TEST(ValidateSite, NamesTheFieldOfABadHost) {
  json s = site(kSite);
  s["spec"]["hosts"][0] = "www..x";
  auto errors = validate_site(s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "spec.hosts[0]");
  EXPECT_EQ(join_errors(errors), "spec.hosts[0]: \"www..x\" is not a valid host name");
}

TEST(ValidateSite, UnknownFieldsAreErrors) {
  json s = site(kSite);
  s["spec"]["source"]["git"]["branch"] = "main";
  s["spex"] = 1;
  auto text = join_errors(validate_site(s));
  EXPECT_NE(text.find("spec.source.git.branch: unknown field"), std::string::npos) << text;
  EXPECT_NE(text.find("spex: unknown field"), std::string::npos) << text;
}

TEST(ValidateSite, WrongTypesAndMissingFields) {
  json s = site(kSite);
  s["spec"]["hosts"] = "www.team-a.localhost";
  s["spec"].erase("mode");
  auto text = join_errors(validate_site(s));
  EXPECT_NE(text.find("spec.hosts: must be a list"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.mode: is required"), std::string::npos) << text;
  // A static site serves its repository: it cannot go without one.
  s = site(kSite);
  s["spec"].erase("source");
  text = join_errors(validate_site(s));
  EXPECT_EQ(text, "spec.source: is required: a \"static\" site serves the repository's files")
      << text;
}

TEST(ValidateSite, UnknownModesAreRefusedWithAClearMessage) {
  json s = site(kSite);
  s["spec"]["mode"] = "php";
  EXPECT_TRUE(validate_site(s).empty()) << join_errors(validate_site(s));
  s["spec"]["mode"] = "lambda";
  EXPECT_NE(join_errors(validate_site(s)).find("is not a mode"), std::string::npos);
}

TEST(ValidateSite, HostilePathsAndBadDurations) {
  json s = site(kSite);
  s["spec"]["source"]["git"]["path"] = "../../etc";
  s["spec"]["build"]["output"] = "/abs";
  s["spec"]["source"]["git"]["interval"] = "soon";
  auto text = join_errors(validate_site(s));
  EXPECT_NE(text.find("spec.source.git.path"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.build.output"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.source.git.interval: \"soon\" is not a duration"), std::string::npos)
      << text;
}

TEST(ValidateSite, NamesMustBeDnsLabels) {
  json s = site(kSite);
  s["metadata"]["name"] = "WWW_1";
  EXPECT_EQ(validate_site(s).at(0).field, "metadata.name");
  s = site(kSite);
  s["metadata"].erase("namespace");
  EXPECT_EQ(validate_site(s).at(0).field, "metadata.namespace");
}

TEST(ValidateProject, RolesAndHosts) {
  json p = site(R"(
apiVersion: wok.dev/v1alpha1
kind: Project
metadata: {name: team-a}
spec:
  hosts: ["*.team-a.localhost", team-a.localhost]
  members: [{user: alice, role: admin}, {user: bob, role: owner}]
)");
  auto errors = validate_project(p);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "spec.members[1].role");
}

// spec.backup of a project: its sites' default, checked as a site's is.
TEST(ValidateProject, ABackupScheduleForItsSites) {
  json p = site(R"(
apiVersion: wok.dev/v1alpha1
kind: Project
metadata: {name: team-a}
spec:
  hosts: ["*.team-a.localhost"]
  backup: {schedule: "0 3 * * *", keep: {daily: 7}}
)");
  EXPECT_TRUE(validate_project(p).empty());
  p["spec"]["backup"]["schedule"] = "61 * * * *";
  p["spec"]["backup"]["keep"]["weekly"] = 1001;
  std::string said = join_errors(validate_project(p));
  EXPECT_NE(said.find("spec.backup.schedule: "), std::string::npos) << said;
  EXPECT_NE(said.find("spec.backup.keep.weekly: must be from 0 to 1000"), std::string::npos)
      << said;
  p["spec"]["backup"] = {{"keep", {{"daily", 1}}}, {"retain", 3}};
  said = join_errors(validate_project(p));
  EXPECT_NE(said.find("spec.backup.schedule"), std::string::npos) << said;
  EXPECT_NE(said.find("spec.backup.retain"), std::string::npos) << said;
}

// The policy a site follows: its own spec.backup; else, when it keeps
// data, its project's; else none.
TEST(BackupPolicy, TheSitesOwnElseItsProjectsForASiteThatKeepsData) {
  const json project = {{"backup", {{"schedule", "0 3 * * *"}, {"keep", {{"daily", 3}}}}}};
  const json own = {{"schedule", "*/5 * * * *"}};
  EXPECT_EQ(backup_policy({{"mode", "php"}, {"backup", own}}, project), own);
  EXPECT_EQ(backup_policy({{"mode", "static"}, {"backup", own}}, json()), own);
  for (const json& data : {json{{"storage", {{{"name", "files"}, {"path", "f"}, {"size", "1Gi"}}}}},
                           json{{"database", {{"engine", "mariadb"}}}},
                           json{{"services", {{{"name", "queue"}, {"engine", "rabbitmq"}}}}}}) {
    json spec = data;
    spec["mode"] = "app";
    EXPECT_EQ(backup_policy(spec, project), project["backup"]) << spec.dump();
    EXPECT_TRUE(backup_policy(spec, json::object()).is_null()) << spec.dump();
  }
  // Nothing to keep: no schedule of the project's.
  EXPECT_TRUE(backup_policy({{"mode", "static"}}, project).is_null());
  EXPECT_TRUE(backup_policy({{"mode", "app"}, {"storage", json::array()}}, project).is_null());
}

TEST(Hosts, Matching) {
  EXPECT_TRUE(host_matches("*.team-a.localhost", "www.team-a.localhost"));
  EXPECT_FALSE(host_matches("*.team-a.localhost", "a.b.team-a.localhost"));
  EXPECT_FALSE(host_matches("*.team-a.localhost", "team-a.localhost"));
  EXPECT_FALSE(host_matches("*.team-a.localhost", "evilteam-a.localhost"));
  EXPECT_TRUE(host_matches("team-a.localhost", "team-a.localhost"));
  EXPECT_TRUE(host_matches("*.team-a.localhost", "*.team-a.localhost"));
  EXPECT_FALSE(host_matches("www.team-a.localhost", "*.team-a.localhost"));
  EXPECT_TRUE(is_host_name("a-1.b.localhost"));
  EXPECT_FALSE(is_host_name("a..b"));
  EXPECT_FALSE(is_host_name("-a.b"));
  EXPECT_FALSE(is_host_name("A.b"));
  EXPECT_FALSE(is_host_name("a.b:80"));
  EXPECT_TRUE(is_host_pattern("*.b.c"));
  EXPECT_FALSE(is_host_pattern("a.*.c"));
}

TEST(Durations, GoStyle) {
  EXPECT_EQ(parse_duration_ms("60s"), 60000);
  EXPECT_EQ(parse_duration_ms("1h30m"), 5400000);
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("0"), -1);
  EXPECT_EQ(parse_duration_ms("5 m"), -1);
  EXPECT_EQ(parse_duration_ms(""), -1);
}

}  // namespace
}  // namespace wok::api
