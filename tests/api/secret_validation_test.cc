// Secret objects and the secrets a site names: field paths in every error,
// never a value quoted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/secret.h"
#include "api/validation.h"

namespace wok::api {
namespace {

using nlohmann::json;

json app_with(json secrets) {
  json s = json::parse(R"({"apiVersion": "wok.dev/v1alpha1", "kind": "Site",
      "metadata": {"name": "api", "namespace": "team-a"},
      "spec": {"mode": "app", "hosts": ["api.team-a.localhost"], "source": {"git": {"url": "https://example.org/x.git"}},
               "app": {"components": [{"name": "web", "command": ["python3", "app.py"], "port": 8080}]}}})");
  s["spec"]["app"]["components"][0]["secrets"] = std::move(secrets);
  return s;
}

TEST(SiteSecrets, NamesAreDnsLabelsListedOnce) {
  EXPECT_EQ(join_errors(validate_site(app_with({"db", "tls"}))), "");
  EXPECT_EQ(join_errors(validate_site(app_with({"db", "../x"}))),
            "spec.app.components[0].secrets[1]: \"../x\" is not a valid secret name (a DNS label)");
  EXPECT_EQ(join_errors(validate_site(app_with({"db", "db"}))),
            "spec.app.components[0].secrets[1]: \"db\" is listed twice");
  EXPECT_NE(join_errors(validate_site(app_with({1})))
                .find("spec.app.components[0].secrets[0]: must be a string"),
            std::string::npos);
  EXPECT_NE(join_errors(validate_site(app_with("db")))
                .find("spec.app.components[0].secrets: must be a list"),
            std::string::npos);
}

TEST(SecretObject, KubernetesShapeAccepted) {
  json s = {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", "db"}, {"namespace", "team-a"}}},
            {"type", "Opaque"},
            {"data", {{"A", "Zm9v"}}},
            {"stringData", {{"A", "bar"}, {"tls.crt", "x"}}}};
  EXPECT_EQ(join_errors(validate_secret(s)), "");
  EXPECT_EQ(secret_data(s), (std::map<std::string, std::string>{
                                {"A", "bar"}, {"tls.crt", "x"}}));  // stringData wins
}

TEST(SecretObject, BadInputNamedNeverQuoted) {
  const std::string value = "V4LU3-n0t-b4s364!";
  json s = {
      {"metadata", {{"name", "Db"}}}, {"type", "kubernetes.io/tls"}, {"data", {{"K", value}}}};
  std::string e = join_errors(validate_secret(s));
  EXPECT_NE(e.find("metadata.name: \"Db\" is not a valid name"), std::string::npos) << e;
  EXPECT_EQ(e.find(value), std::string::npos) << e;
  s["type"] = "Opaque";
  e = join_errors(validate_secret(s));
  EXPECT_NE(e.find("data.K: is not base64"), std::string::npos) << e;
  EXPECT_EQ(e.find(value), std::string::npos) << e;
  EXPECT_NE(join_errors(validate_secret({{"metadata", {{"name", "db"}}}, {"extra", 1}}))
                .find("extra: unknown field"),
            std::string::npos);
  EXPECT_NE(join_errors(validate_secret(json::array())).find("must be an object"),
            std::string::npos);
  EXPECT_NE(
      join_errors(validate_secret({{"metadata", {{"name", "db"}}}, {"apiVersion", "apps/v1"}}))
          .find("apiVersion"),
      std::string::npos);
}

}  // namespace
}  // namespace wok::api
