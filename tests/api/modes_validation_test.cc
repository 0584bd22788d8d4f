// The php and app modes: their sections, storage, resources and quantities.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/codec.h"
#include "api/validation.h"

namespace wok::api {
namespace {

using nlohmann::json;

json doc(const char* yaml) {
  std::vector<json> docs;
  std::string error;
  EXPECT_TRUE(parse_documents(yaml, &docs, &error)) << error;
  return docs.at(0);
}

std::string errors_of(const json& s) { return join_errors(validate_site(s)); }

constexpr const char* kPhp = R"(
apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {name: blog, namespace: team-a}
spec:
  mode: php
  hosts: [blog.team-a.localhost]
  source: {git: {url: "file:///srv/blog.git"}}
  php: {docroot: public, frontController: index.php, ini: {memory_limit: 256M}}
  storage: [{name: uploads, path: public/uploads, size: 1Gi}]
  resources: {memory: 256Mi, cpu: 500m}
)";

constexpr const char* kApp = R"(
apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {name: api, namespace: team-a}
spec:
  mode: app
  hosts: [api.team-a.localhost]
  source: {git: {url: "file:///srv/api.git"}}
  app:
    components:
      - {name: web, command: [python3, app.py], port: 8080, replicas: 2, health: {path: /healthz}, env: {A: b}}
      - {name: worker, image: "oci:/srv/images/w:1"}
)";

TEST(Quantities, MemoryInBytes) {
  EXPECT_EQ(parse_memory_bytes("256Mi"), 256ll << 20);
  EXPECT_EQ(parse_memory_bytes("1Gi"), 1ll << 30);
  EXPECT_EQ(parse_memory_bytes("1G"), 1'000'000'000);
  EXPECT_EQ(parse_memory_bytes("1.5Gi"), 3ll << 29);
  EXPECT_EQ(parse_memory_bytes("1048576"), 1048576);
  EXPECT_EQ(parse_memory_bytes("500m"), -1);  // half a byte
  EXPECT_EQ(parse_memory_bytes("lots"), -1);
  EXPECT_EQ(parse_memory_bytes("Mi"), -1);
  EXPECT_EQ(parse_memory_bytes(""), -1);
  EXPECT_EQ(parse_memory_bytes("-1Gi"), -1);
  EXPECT_EQ(parse_memory_bytes("99999999999Ei"), -1);  // overflow
}

TEST(Quantities, CpuInMillicores) {
  EXPECT_EQ(parse_cpu_millis("500m"), 500);
  EXPECT_EQ(parse_cpu_millis("2"), 2000);
  EXPECT_EQ(parse_cpu_millis("0.5"), 500);
  EXPECT_EQ(parse_cpu_millis("0.0005"), -1);  // finer than a millicore
  EXPECT_EQ(parse_cpu_millis("1.5x"), -1);
}

TEST(ValidatePhp, AFullSpecIsAccepted) {
  json s = doc(kPhp);
  EXPECT_EQ(errors_of(s), "");
  s["spec"].erase("php");  // optional
  s["spec"].erase("storage");
  EXPECT_EQ(errors_of(s), "");
}

TEST(ValidatePhp, BadFieldsAreNamed) {
  json s = doc(kPhp);
  s["spec"]["php"]["docroot"] = "../etc";
  s["spec"]["php"]["colour"] = "blue";
  EXPECT_NE(errors_of(s).find("spec.php.colour: unknown field"), std::string::npos) << errors_of(s);
  s["spec"]["php"].erase("colour");
  EXPECT_NE(errors_of(s).find("spec.php.docroot"), std::string::npos) << errors_of(s);
  s = doc(kPhp);
  s["spec"]["storage"].push_back({{"name", "uploads"}, {"path", "/abs"}, {"size", "big"}});
  std::string e = errors_of(s);
  EXPECT_NE(e.find("spec.storage[1].name: \"uploads\" is listed twice"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.storage[1].path"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.storage[1].size: \"big\" is not a size"), std::string::npos) << e;
  s = doc(kPhp);
  s["spec"]["resources"] = {{"memory", "256MB"}, {"cpu", "fast"}};
  e = errors_of(s);
  EXPECT_NE(e.find("spec.resources.memory: \"256MB\" is not a memory quantity"), std::string::npos)
      << e;
  EXPECT_NE(e.find("spec.resources.cpu: \"fast\" is not a CPU quantity"), std::string::npos) << e;
}

// spec.access: networks in CIDR notation, on every mode; each bad entry named.
TEST(ValidateTls, ModesSecretsAndHstsAreCheckedByField) {
  json s = doc(kPhp);
  s["spec"]["tls"] = {{"mode", "auto"},
                      {"redirect", true},
                      {"hsts", {{"maxAge", "8760h"}, {"includeSubDomains", true}}}};
  EXPECT_EQ(errors_of(s), "");
  s["spec"]["tls"] = {{"mode", "secret"}, {"secretName", "www-cert"}};
  EXPECT_EQ(errors_of(s), "");
  auto expect = [&](json tls, const std::string& error) {
    s["spec"]["tls"] = std::move(tls);
    std::string e = errors_of(s);
    EXPECT_NE(e.find(error), std::string::npos) << error << " not in: " << e;
  };
  expect({{"mode", "secret"}}, "spec.tls.secretName: is required with mode secret");
  expect({{"mode", "auto"}, {"secretName", "x"}},
         "spec.tls.secretName: is only read with mode secret (mode is auto)");
  expect({{"mode", "secret"}, {"secretName", "../etc"}},
         "spec.tls.secretName: \"../etc\" is not a secret name");
  expect({{"mode", "off"}, {"redirect", true}}, "spec.tls.redirect: needs HTTPS: mode is off");
  expect({{"mode", "off"}, {"hsts", {{"maxAge", "1h"}}}}, "spec.tls.hsts: needs HTTPS");
  expect({{"hsts", {{"maxAge", "forever"}}}},
         "spec.tls.hsts.maxAge: \"forever\" is not a duration (e.g. 8760h)");
  expect({{"hsts", {{"maxAge", "20000h"}}}}, "spec.tls.hsts.maxAge: \"20000h\" is over two years");
  expect({{"hsts", {{"includeSubDomains", true}}}}, "spec.tls.hsts.maxAge");
  expect({{"mode", "letsencrypt"}}, "spec.tls.mode");
  expect({{"certificate", "x"}}, "spec.tls.certificate: unknown field");
}

TEST(ValidateAccess, LoginsAndExemptPathsAreCheckedByField) {
  json s = doc(kPhp);
  s["spec"]["access"] = {{"basicAuth", {{"secretName", "users"}, {"realm", "Team A"}}},
                         {"exempt", {"/.well-known/", "/healthz"}}};
  EXPECT_EQ(errors_of(s), "");
  auto expect = [&](json access, const std::string& error) {
    s["spec"]["access"] = std::move(access);
    std::string e = errors_of(s);
    EXPECT_NE(e.find(error), std::string::npos) << error << " not in: " << e;
  };
  expect({{"basicAuth", {{"realm", "x"}}}}, "spec.access.basicAuth.secretName");
  expect({{"basicAuth", {{"secretName", "../x"}}}},
         "spec.access.basicAuth.secretName: \"../x\" is not a secret name");
  expect({{"basicAuth", {{"secretName", "u"}, {"realm", "a\"b"}}}},
         "spec.access.basicAuth.realm: must be at most 100 printable characters");
  expect({{"exempt", {"/x"}}}, "spec.access.exempt: exempts paths from a login: set basicAuth");
  for (const char* bad : {"relative", "/a/../b", "/a b", "/a?b", "//x", "/%2e%2e/"}) {
    expect({{"basicAuth", {{"secretName", "u"}}}, {"exempt", {bad}}},
           "spec.access.exempt[0]: \"" + std::string(bad) + "\" is not a plain absolute path");
  }
}

TEST(ValidateAccess, NetworksAreCheckedByField) {
  for (const char* mode : {kPhp, kApp}) {
    json s = doc(mode);
    s["spec"]["access"] = {{"ipAllow", {"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}},
                           {"ipDeny", {"10.6.0.0/16"}}};
    EXPECT_EQ(errors_of(s), "");
    s["spec"]["access"] = {{"ipAllow", {"10.0.0.0/8", "10.0.0.1/8", "example.org"}},
                           {"ipDeny", {"10.0.0.0/33"}}};
    std::string e = errors_of(s);
    EXPECT_NE(e.find("spec.access.ipAllow[1]: \"10.0.0.1/8\" has bits set past its prefix"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("spec.access.ipAllow[2]: \"example.org\" is not an IP network"),
              std::string::npos)
        << e;
    EXPECT_NE(
        e.find("spec.access.ipDeny[0]: \"10.0.0.0/33\" has a prefix length that is not 0 to 32"),
        std::string::npos)
        << e;
    EXPECT_EQ(e.find("ipAllow[0]"), std::string::npos) << e;
    s["spec"]["access"] = {{"users", {"alice"}}};
    EXPECT_NE(errors_of(s).find("spec.access.users: unknown field"), std::string::npos)
        << errors_of(s);
    s["spec"]["access"] = {{"ipDeny", json::array()}};
    for (int i = 0; i < 101; ++i)
      s["spec"]["access"]["ipDeny"].push_back("10.0.0." + std::to_string(i % 250));
    EXPECT_NE(errors_of(s).find("spec.access.ipDeny: lists 101 networks; at most 100"),
              std::string::npos)
        << errors_of(s);
  }
}

// ini goes into php-fpm's pool file on both platforms: a hostile key or
// value must never write a directive of its own (listen, another pool).
TEST(ValidatePhp, IniNamesAndValuesCannotWriteDirectives) {
  json s = doc(kPhp);
  s["spec"]["php"]["ini"] = {{"memory_limit", "256M"}, {"date.timezone", "Europe/Zurich"}};
  EXPECT_EQ(errors_of(s), "");
  for (const char* key : {"x] = 1\nlisten = 0.0.0.0:9000\nphp_value[y", "a b", "k=v", ""}) {
    s["spec"]["php"]["ini"] = {{key, "1"}};
    EXPECT_NE(errors_of(s).find("spec.php.ini: "), std::string::npos)
        << key << ": " << errors_of(s);
    EXPECT_NE(errors_of(s).find("is not an ini name"), std::string::npos) << errors_of(s);
  }
  for (const std::string& value : {std::string("1\nlisten = 0.0.0.0:9000"), std::string("\"1\""),
                                   std::string("1\r"), std::string(4097, 'x')}) {
    s["spec"]["php"]["ini"] = {{"memory_limit", value}};
    EXPECT_NE(errors_of(s).find(
                  "spec.php.ini.memory_limit: must be at most 4096 characters, without quotes"),
              std::string::npos)
        << errors_of(s);
  }
}

TEST(ValidatePhp, TimeoutIsWholeSecondsFromOneSecondToOneHour) {
  json s = doc(kPhp);
  EXPECT_EQ(php_timeout_ms(s["spec"]), 60'000) << "the default";
  for (const char* good : {"1s", "2s", "90s", "5m", "1h", "1m30s"}) {
    s["spec"]["php"]["timeout"] = good;
    EXPECT_EQ(errors_of(s), "") << good;
  }
  EXPECT_EQ(php_timeout_ms(s["spec"]), 90'000);
  const std::pair<const char*, const char*> bad[] = {
      {"forever", "is not a duration"}, {"", "is not a duration"},   {"-5s", "is not a duration"},
      {"60", "is not a duration"},      {"0s", "between 1s and 1h"}, {"500ms", "between 1s and 1h"},
      {"2h", "between 1s and 1h"},      {"1500ms", "whole seconds"},
  };
  for (const auto& [value, why] : bad) {
    s["spec"]["php"]["timeout"] = value;
    std::string e = errors_of(s);
    EXPECT_NE(e.find("spec.php.timeout: \"" + std::string(value) + "\" "), std::string::npos)
        << value << ": " << e;
    EXPECT_NE(e.find(why), std::string::npos) << value << ": " << e;
  }
  s["spec"]["php"]["timeout"] = 60;
  EXPECT_NE(errors_of(s).find("spec.php.timeout: must be a string"), std::string::npos)
      << errors_of(s);
  s["spec"]["php"]["timeout"] = "2s";
  s["spec"]["mode"] = "static";
  EXPECT_NE(errors_of(s).find("spec.php: is only for \"php\" sites"), std::string::npos)
      << errors_of(s);
}

TEST(ValidateModes, SectionsOfAnotherModeAreRefusedByName) {
  json s = doc(kPhp);
  s["spec"]["mode"] = "static";
  std::string e = errors_of(s);
  EXPECT_NE(e.find("spec.php: is only for \"php\" sites"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.storage: is only for \"php\" and \"app\" sites"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.resources: is only for"), std::string::npos) << e;
  s = doc(kApp);
  s["spec"]["php"] = {{"docroot", "public"}};
  EXPECT_NE(errors_of(s).find("spec.php: is only for \"php\" sites, not \"app\""),
            std::string::npos);
  s = doc(kPhp);
  s["spec"]["app"] = doc(kApp)["spec"]["app"];
  EXPECT_NE(errors_of(s).find("spec.app: is only for \"app\" sites"), std::string::npos);
}

TEST(ValidateModes, MaxBodySizeIsASizeAndNotForStaticSites) {
  json s = doc(kPhp);
  s["spec"]["maxBodySize"] = "64Mi";
  EXPECT_EQ(errors_of(s), "");
  s["spec"]["maxBodySize"] = "lots";
  EXPECT_NE(errors_of(s).find("spec.maxBodySize: \"lots\" is not a size"), std::string::npos)
      << errors_of(s);
  s["spec"]["maxBodySize"] = 5;
  EXPECT_NE(errors_of(s).find("spec.maxBodySize: must be"), std::string::npos) << errors_of(s);
  s = doc(kApp);
  s["spec"]["maxBodySize"] = "1Mi";
  s["spec"]["mode"] = "static";
  s["spec"].erase("app");
  EXPECT_NE(errors_of(s).find("spec.maxBodySize: is only for \"php\" and \"app\" sites"),
            std::string::npos)
      << errors_of(s);
}

TEST(ValidateModes, ServeDotFilesIsABooleanForStaticAndPhpSites) {
  json s = doc(kPhp);
  s["spec"]["serveDotFiles"] = true;
  EXPECT_EQ(errors_of(s), "");
  s["spec"]["mode"] = "static";
  for (const char* field : {"php", "storage", "resources"}) s["spec"].erase(field);
  EXPECT_EQ(errors_of(s), "");
  s["spec"]["serveDotFiles"] = "yes";
  EXPECT_NE(errors_of(s).find("spec.serveDotFiles: must be a boolean"), std::string::npos)
      << errors_of(s);
  s = doc(kApp);
  s["spec"]["serveDotFiles"] = false;
  EXPECT_NE(errors_of(s).find("spec.serveDotFiles: is only for \"static\" and \"php\" sites"),
            std::string::npos)
      << errors_of(s);
}

TEST(ValidateApp, AFullSpecIsAcceptedAndReplicasDefaultToOne) {
  json s = doc(kApp);
  EXPECT_EQ(errors_of(s), "");
  default_site(s);
  EXPECT_EQ(s["spec"]["app"]["components"][0]["replicas"], 2);
  EXPECT_EQ(s["spec"]["app"]["components"][1]["replicas"], 1);
}

TEST(ValidateApp, ComponentsAreChecked) {
  json s = doc(kApp);
  s["spec"].erase("app");
  EXPECT_NE(errors_of(s).find("spec.app: is required"), std::string::npos);
  s = doc(kApp);
  s["spec"]["app"]["components"] = json::array();
  EXPECT_NE(errors_of(s).find("spec.app.components: must list at least one"), std::string::npos);
  s = doc(kApp);
  json& c = s["spec"]["app"]["components"];
  c[0]["image"] = "oci:/x:1";  // both image and command
  c[1]["name"] = "Worker";     // not a DNS label
  c[1]["port"] = 70000;
  c[1]["replicas"] = 21;
  c[1]["health"] = {{"path", "healthz"}};
  c[1]["balance"] = "fastest";
  c.push_back({{"name", "web"}, {"command", {"x"}}});  // duplicate name
  c.push_back({{"name", "idle"}});                     // neither image nor command
  c.push_back({{"name", "bg"}, {"command", {"x"}}, {"balance", "least-connections"}});  // no port
  c.push_back({{"name", "admin"},
               {"command", {"x"}},
               {"port", 9000},
               {"balance", "round-robin"}});  // not routed
  std::string e = errors_of(s);
  EXPECT_NE(e.find("spec.app.components[1].balance: \"fastest\" is not one of round-robin, "
                   "least-connections"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("spec.app.components[4].balance: only the routed component"), std::string::npos)
      << e;
  EXPECT_NE(e.find("spec.app.components[5].balance: only the routed component"), std::string::npos)
      << e;
  EXPECT_NE(e.find("spec.app.components[0]: needs exactly one of image and command"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("spec.app.components[1].name"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.app.components[1].port: 70000 is not a port"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.app.components[1].replicas: 21 is out of range"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.app.components[1].health.path: \"healthz\" must start with '/'"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("spec.app.components[2].name: \"web\" is listed twice"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.app.components[3]: needs exactly one"), std::string::npos) << e;
}

TEST(ValidateApp, AnAppOfImagesNeedsNoSource) {
  json s = doc(kApp);
  s["spec"].erase("source");
  s["spec"]["app"]["components"][0].erase("command");
  s["spec"]["app"]["components"][0]["image"] = "oci:/srv/images/web:1";
  EXPECT_EQ(errors_of(s), "");
  default_site(s);  // no source to default
  EXPECT_FALSE(s["spec"].contains("source")) << s.dump();
  EXPECT_FALSE(has_source(s["spec"]));
  EXPECT_TRUE(has_source(doc(kApp)["spec"]));
}

TEST(ValidateApp, ASourceIsRequiredWhereTheRepositoryIsUsed) {
  json s = doc(kApp);  // web runs a command
  s["spec"].erase("source");
  EXPECT_EQ(errors_of(s),
            "spec.source: is required: component web runs a command from the repository");
  s["spec"]["app"]["components"][0].erase("command");
  s["spec"]["app"]["components"][0]["image"] = "oci:/srv/images/web:1";
  s["spec"]["build"] = {{"command", {"make"}}};
  EXPECT_EQ(errors_of(s), "spec.source: is required: spec.build runs in the repository");
  s = doc(kPhp);
  s["spec"].erase("source");
  EXPECT_EQ(errors_of(s), "spec.source: is required: a \"php\" site serves the repository's files");
  s["spec"]["source"] = nullptr;  // null is absent
  EXPECT_NE(errors_of(s).find("spec.source: is required"), std::string::npos) << errors_of(s);
}

// An app's volume is mounted in every component: under the source for a
// command, at "/" + path for an image. A member cannot point it out of the
// site or over the sandbox's own directories.
TEST(ValidateApp, StorageIsAcceptedAndHostilePathsAreRefusedByField) {
  json s = doc(kApp);
  s["spec"]["storage"] = json::parse(R"([{"name":"data","path":"data","size":"64Mi"}])");
  EXPECT_EQ(errors_of(s), "");
  for (const char* hostile : {"/proc", "..", "data/../../etc", "proc", "proc/self", "./sys", "dev",
                              "etc", "run/wok", "tmp", ".", "./"}) {
    s["spec"]["storage"][0]["path"] = hostile;
    std::string e = errors_of(s);
    EXPECT_NE(e.find("spec.storage[0].path: "), std::string::npos) << hostile << ": " << e;
  }
  s["spec"]["storage"][0]["path"] = "var/lib/data";
  EXPECT_EQ(errors_of(s), "");
}

}  // namespace
// One rule for every platform: "web" if it listens, else the first that does.
TEST(RoutedComponent, WebIfItListensElseTheFirstWithAPort) {
  EXPECT_EQ(
      routed_component(json::parse(R"([{"name":"admin","port":9000},{"name":"web","port":8080}])")),
      1);
  EXPECT_EQ(routed_component(
                json::parse(R"([{"name":"worker"},{"name":"web"},{"name":"api","port":80}])")),
            2);
  EXPECT_EQ(routed_component(json::parse(R"([{"name":"worker"}])")), -1);
  EXPECT_EQ(routed_component(json::parse(R"([{"name":"web","port":null},"junk"])")), -1);
  EXPECT_EQ(routed_component(json::object()), -1);
}

TEST(Database, VersionsOfferedAreComparedAsNumbers) {
  EXPECT_EQ(compare_versions("9", "13"), -1);
  EXPECT_EQ(compare_versions("10.11", "11.4"), -1);
  EXPECT_EQ(compare_versions("10.11", "10.5"), 1);
  EXPECT_EQ(compare_versions("15", "15"), 0);
  EXPECT_EQ(compare_versions("15", "15.0"), 0);
  EXPECT_EQ(compare_versions("x", "1"), -1);  // no endless loop on what is no number
  EXPECT_EQ(database_versions("postgresql"), (std::vector<std::string>{"15"}));
  offer_database_versions("postgresql", {"16", "13"});
  EXPECT_EQ(database_versions("postgresql"), (std::vector<std::string>{"13", "15", "16"}));
  json s = doc(kApp);
  s["spec"]["database"] = {{"engine", "postgresql"}, {"version", "13"}, {"size", "1Gi"}};
  EXPECT_EQ(errors_of(s), "");
  s["spec"]["database"]["version"] = "14";
  EXPECT_NE(errors_of(s).find("\"14\" is not a version of postgresql this platform runs (13, 15, "
                              "16)"),
            std::string::npos)
      << errors_of(s);
  offer_database_versions("postgresql", {});
  EXPECT_EQ(database_versions("postgresql"), (std::vector<std::string>{"15"}));
  EXPECT_TRUE(database_versions("mongodb").empty());
}

TEST(Database, ANextSpecKeepsTheDatabasesVersion) {
  const json now = {{"database", {{"engine", "postgresql"}, {"version", "15"}, {"size", "1Gi"}}}};
  json left_out = {{"database", {{"engine", "postgresql"}, {"size", "2Gi"}}}};
  EXPECT_EQ(keep_database_version(now, left_out), "");
  EXPECT_EQ(left_out["database"]["version"], "15");
  json older = {{"database", {{"engine", "postgresql"}, {"version", "13"}, {"size", "1Gi"}}}};
  EXPECT_EQ(keep_database_version(now, older), "13");  // an apply is refused; a rollback keeps 15
  EXPECT_EQ(older["database"]["version"], "15");
  json other_engine = {{"database", {{"engine", "mariadb"}, {"size", "1Gi"}}}};
  EXPECT_EQ(keep_database_version(now, other_engine), "");
  EXPECT_FALSE(other_engine["database"].contains("version"));
  json none = {{"mode", "app"}};
  EXPECT_EQ(keep_database_version(now, none), "");
  EXPECT_FALSE(none.contains("database"));
}

TEST(Database, EnginesVersionsSizesAndTheNameDb) {
  json s = doc(kApp);
  s["spec"]["database"] = {{"engine", "mariadb"}, {"size", "1Gi"}};
  EXPECT_EQ(errors_of(s), "");
  default_site(s);  // the platform's version is written into the spec
  EXPECT_EQ(s["spec"]["database"]["version"], "10.11");
  s["spec"]["database"] = {{"engine", "postgresql"}, {"size", "1Gi"}, {"memory", "256Mi"}};
  EXPECT_EQ(errors_of(s), "");
  s["spec"]["database"] = {{"engine", "mongodb"}, {"size", "1Gi"}};
  EXPECT_NE(errors_of(s).find("spec.database.engine: \"mongodb\""), std::string::npos)
      << errors_of(s);
  s["spec"]["database"] = {{"engine", "postgresql"}, {"version", "16"}, {"size", "1Gi"}};
  EXPECT_NE(errors_of(s).find("spec.database.version: \"16\" is not a version of postgresql "
                              "this platform runs (15)"),
            std::string::npos)
      << errors_of(s);
  s["spec"]["database"] = {{"engine", "mariadb"}, {"size", "100Mi"}};
  EXPECT_NE(errors_of(s).find("spec.database.size: \"100Mi\" is too small for mariadb"),
            std::string::npos)
      << errors_of(s);
  s["spec"]["database"] = {{"engine", "mariadb"}, {"size", "lots"}};
  EXPECT_NE(errors_of(s).find("spec.database.size: \"lots\" is not a size"), std::string::npos);
  s["spec"]["database"] = {{"engine", "mariadb"}, {"size", "1Gi"}, {"memory", "64Mi"}};
  EXPECT_NE(errors_of(s).find("spec.database.memory: \"64Mi\" is too small"), std::string::npos);
  s["spec"]["database"] = {{"engine", "mariadb"}, {"size", "1Gi"}, {"extra", 1}};
  EXPECT_NE(errors_of(s).find("spec.database.extra"), std::string::npos) << errors_of(s);
  s["spec"]["database"] = {{"engine", "mariadb"}};
  EXPECT_NE(errors_of(s).find("spec.database.size"), std::string::npos) << errors_of(s);
  // "db" is the database's name in the site's network and on a cluster.
  s["spec"]["database"] = {{"engine", "mariadb"}, {"size", "1Gi"}};
  s["spec"]["app"]["components"][1]["name"] = "db";
  EXPECT_NE(errors_of(s).find("spec.app.components[1].name: \"db\" is the database's name"),
            std::string::npos)
      << errors_of(s);
  // SITE-db names a StatefulSet on a cluster: at most 52 characters.
  json long_name = doc(kApp);
  long_name["metadata"]["name"] = std::string(50, 'a');
  long_name["spec"]["database"] = {{"engine", "mariadb"}, {"size", "1Gi"}};
  EXPECT_NE(errors_of(long_name).find("is too long a name for its server"), std::string::npos)
      << errors_of(long_name);
  json php = doc(kPhp);
  php["spec"]["database"] = {{"engine", "mariadb"}, {"size", "1Gi"}};
  EXPECT_EQ(errors_of(php), "");
  php["spec"]["mode"] = "static";
  php["spec"].erase("php");
  php["spec"].erase("storage");
  php["spec"].erase("resources");
  EXPECT_NE(errors_of(php).find("spec.database: is only for \"php\" and \"app\" sites"),
            std::string::npos)
      << errors_of(php);
}

TEST(Backups, ScheduleKeepAndCloneFrom) {
  json s = doc(kApp);
  s["spec"]["backup"] = {{"schedule", "0 3 * * *"}, {"keep", {{"daily", 7}, {"weekly", 4}}}};
  s["spec"]["cloneFrom"] = {{"site", "blog"}, {"backup", "latest"}};
  EXPECT_EQ(errors_of(s), "");
  s["spec"]["cloneFrom"] = {{"site", "blog"}, {"project", "team-b"}, {"backup", "3f2a9c1d"}};
  EXPECT_EQ(errors_of(s), "");
  auto error_for = [&](const char* field, json value) {
    json t = doc(kApp);
    t["spec"][field] = std::move(value);
    return errors_of(t);
  };
  EXPECT_NE(error_for("backup", {{"schedule", "61 * * * *"}}).find("spec.backup.schedule: "),
            std::string::npos);
  EXPECT_NE(error_for("backup", {{"keep", {{"daily", 1}}}}).find("spec.backup.schedule"),
            std::string::npos);
  EXPECT_NE(error_for("backup", {{"schedule", "@daily"}, {"keep", {{"weekly", 1001}}}})
                .find("spec.backup.keep.weekly: must be from 0 to 1000"),
            std::string::npos);
  EXPECT_NE(error_for("backup", {{"schedule", "@daily"}, {"keep", {{"yearly", 1}}}})
                .find("spec.backup.keep.yearly"),
            std::string::npos);
  // A name that is not a DNS label could bend restic's tag filters (",").
  for (const char* site : {"a,b", "../x", "Blog", ""})
    EXPECT_NE(error_for("cloneFrom", {{"site", site}}).find("spec.cloneFrom.site"),
              std::string::npos)
        << site;
  // Required fields left out are named, never read as present.
  EXPECT_NE(error_for("cloneFrom", {{"backup", "latest"}}).find("spec.cloneFrom.site"),
            std::string::npos);
  EXPECT_NE(
      error_for("cloneFrom", {{"site", "a"}, {"project", "x,y"}}).find("spec.cloneFrom.project"),
      std::string::npos);
  for (const char* id : {"zzzzzzzz", "abc", "latest2", "ABCDEF12"})
    EXPECT_NE(error_for("cloneFrom", {{"site", "a"}, {"backup", id}}).find("spec.cloneFrom.backup"),
              std::string::npos)
        << id;
  // Every mode may be backed up (a static site's revision) and cloned.
  json stat = doc(kPhp);
  stat["spec"]["backup"] = {{"schedule", "@daily"}};
  EXPECT_EQ(errors_of(stat), "");
}

TEST(Services, EnginesNamesAndSizes) {
  json s = doc(kApp);
  s["spec"]["services"] = {{{"name", "queue"}, {"engine", "rabbitmq"}},
                           {{"name", "cache"}, {"engine", "redis"}, {"size", "512Mi"}}};
  EXPECT_EQ(errors_of(s), "");
  auto error_for = [&](json service) {
    json t = doc(kApp);
    t["spec"]["services"] = {service};
    return errors_of(t);
  };
  EXPECT_NE(error_for({{"name", "q"}, {"engine", "kafka"}})
                .find("spec.services[0].engine: \"kafka\" is not an engine (redis, rabbitmq)"),
            std::string::npos);
  // "-" would let SITE-NAME be another site's; db and database are the
  // database's; a component's name is taken.
  for (const char* name : {"x-db", "db", "database", "web", "Queue"})
    EXPECT_NE(error_for({{"name", name}, {"engine", "redis"}}).find("spec.services[0].name"),
              std::string::npos)
        << name;
  EXPECT_NE(error_for({{"name", "q"}, {"engine", "redis"}, {"size", "1Mi"}})
                .find("spec.services[0].size: \"1Mi\" is too small"),
            std::string::npos);
  EXPECT_NE(error_for({{"name", "q"}, {"engine", "rabbitmq"}, {"memory", "128Mi"}})
                .find("spec.services[0].memory: \"128Mi\" is too small for rabbitmq"),
            std::string::npos);
  json many = doc(kApp);
  many["spec"]["services"] = json::array();
  for (int i = 0; i < 6; ++i)
    many["spec"]["services"].push_back({{"name", "s" + std::to_string(i)}, {"engine", "redis"}});
  EXPECT_NE(errors_of(many).find("at most 5"), std::string::npos);
}

}  // namespace wok::api
