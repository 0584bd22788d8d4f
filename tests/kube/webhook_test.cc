// The operator's admission webhook over real TLS: a test certificate made
// here with OpenSSL, the server on port 0, AdmissionReviews POSTed with
// libcurl. Hostile inputs first.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "kube/admission.h"
#include "kube/https_server.h"
#include "kube/site_admission.h"
#include "kube/site_backups.h"
#include "kube/tls_relay.h"

namespace wok::kube {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using testing::make_certificate;

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  json review() const { return json::parse(body, nullptr, false); }
};

json project(const std::string& name) {
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Project"},
          {"metadata", {{"name", name}}},
          {"spec", {{"hosts", {"*." + name + ".test"}}}}};
}

json site(const std::string& ns, const std::string& name, json spec_extra = json::object()) {
  json spec = {
      {"mode", "app"},
      {"hosts", {"www." + ns + ".test"}},
      {"source", {{"git", {{"url", "https://git.example.org/x.git"}}}}},
      {"app",
       {{"components", {{{"name", "web"}, {"command", {"node", "web.js"}}, {"port", 8080}}}}}}};
  spec.merge_patch(spec_extra);
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Site"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", "u-" + name},
            {"creationTimestamp", "2026-12-02T10:00:00Z"},
            {"managedFields", json::array({{{"manager", "kubectl"}}})}}},
          {"spec", spec}};
}

json review(const json& object, const std::string& operation = "CREATE",
            const json& old = nullptr) {
  const std::string kind = object.value("kind", "Site");
  json request = {{"uid", "req-1"},
                  {"kind", {{"group", "wok.dev"}, {"version", "v1alpha1"}, {"kind", kind}}},
                  {"resource",
                   {{"group", "wok.dev"},
                    {"version", "v1alpha1"},
                    {"resource", kind == "Site" ? "sites" : "projects"}}},
                  {"operation", operation},
                  {"userInfo", {{"username", "alice"}}},
                  {"object", object}};
  if (kind == "Site") request["namespace"] = object["metadata"]["namespace"];
  if (!old.is_null()) request["oldObject"] = old;
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wok-webhook-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cert_ = (dir_ / "tls.crt").string();
    key_ = (dir_ / "tls.key").string();
    make_certificate(cert_, key_, "first");
    projects_["team-a"] = project("team-a");
    projects_["team-b"] = project("team-b");
    json b = site("team-b", "shop");
    b["metadata"]["creationTimestamp"] = "2026-12-01T10:00:00Z";
    sites_.push_back(b);
    json a2 = site("team-a", "old", {{"hosts", {"blog.team-a.test"}}});
    a2["metadata"]["creationTimestamp"] = "2026-12-01T10:00:00Z";
    sites_.push_back(a2);
  }
  void TearDown() override {
    if (server_) server_->stop();
    fs::remove_all(dir_);
  }

  void start(HttpsOptions options = {}) {
    AdmissionView view;
    view.synced = [this] { return synced_; };
    view.project = [this](const std::string& name) -> std::shared_ptr<const json> {
      auto it = projects_.find(name);
      return it == projects_.end() ? nullptr : std::make_shared<const json>(it->second);
    };
    view.sites_claiming = [this](const std::vector<std::string>& hosts) {
      std::vector<json> out;
      for (const auto& s : sites_) {
        for (const auto& h : s["spec"]["hosts"]) {
          if (std::find(hosts.begin(), hosts.end(), h) != hosts.end()) {
            out.push_back(s);
            break;
          }
        }
      }
      return out;
    };
    view.bounds.replicas = 3;
    view.api = api_;
    view.grant_ns = "wok-system";
    view.postgresql_operator = postgresql_operator_;
    options.host = "127.0.0.1";
    options.port = 0;
    options.cert_file = cert_;
    options.key_file = key_;
    server_ = std::make_unique<HttpsServer>(options, admission_handler(view));
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }

  Reply call(const std::string& path, const std::string& body, const std::string& method = "POST",
             const std::string& content_type = "application/json", bool tls = true,
             const std::string& ca = "") {
    Reply r;
    CURL* curl = curl_easy_init();
    std::string url = (tls ? "https" : "http") + std::string("://127.0.0.1:") +
                      std::to_string(server_->port()) + path;
    curl_slist* headers = curl_slist_append(nullptr, ("Content-Type: " + content_type).c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CAINFO, (ca.empty() ? cert_ : ca).c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method != "GET") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    r.code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return r;
  }
  Reply admit(const json& body) { return call("/validate/sites", body.dump()); }

  // The decision, checked to be a well-formed AdmissionReview for request req-1.
  json decision(const json& body) {
    Reply r = admit(body);
    EXPECT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200) << r.body;
    json out = r.review();
    EXPECT_EQ(out.value("apiVersion", ""), "admission.k8s.io/v1");
    EXPECT_EQ(out.value("kind", ""), "AdmissionReview");
    EXPECT_EQ(out["response"].value("uid", ""), "req-1");
    return out["response"];
  }

  fs::path dir_;
  std::string cert_, key_;
  std::map<std::string, json> projects_;
  std::vector<json> sites_;
  bool synced_ = true;
  std::string postgresql_operator_;  // the operator's --postgresql-operator
  ApiCall api_;                      // the Kubernetes API a clone from another project asks
  std::unique_ptr<HttpsServer> server_;
};

TEST_F(WebhookTest, PlainHttpIsToldItReachedAnHttpsPort) {
  start();
  Reply r = call("/validate/sites", review(site("team-a", "www")).dump(), "POST",
                 "application/json", false);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "this is an HTTPS endpoint: the client sent plain HTTP\n");
  // And the server still answers TLS afterwards.
  EXPECT_TRUE(decision(review(site("team-a", "www")))["allowed"].get<bool>());
}

TEST_F(WebhookTest, AClientThatDoesNotTrustTheCertificateGetsNothing) {
  start();
  std::string other_cert = (dir_ / "other.crt").string(), other_key = (dir_ / "other.key").string();
  make_certificate(other_cert, other_key, "other");
  Reply r = call("/validate/sites", review(site("team-a", "www")).dump(), "POST",
                 "application/json", true, other_cert);
  EXPECT_NE(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 0);
}

TEST_F(WebhookTest, MalformedReviewsAre400AndTheServerStaysUp) {
  start();
  for (
      const std::string& body :
      {std::string(""), std::string("{"), std::string("[]"), std::string("\"x\""),
       std::string("null"), std::string(200000, '['),
       std::string(
           R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}})"),
       std::string(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})"),
       std::string(
           R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}})"),
       std::string(
           R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"group":"wok.dev","kind":"Site"},"object":[1]}})"),
       std::string(
           R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"group":"","kind":"Pod"},"object":{}}})"),
       std::string("{\"apiVersion\":\"admission.k8s.io/"
                   "v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"\xff\xfe\"}}")}) {
    Reply r = call("/validate/sites", body);
    EXPECT_EQ(r.code, CURLE_OK) << body.substr(0, 80);
    EXPECT_EQ(r.status, 400) << body.substr(0, 80) << " -> " << r.body;
    EXPECT_FALSE(r.body.empty());
  }
  // Values of the wrong type inside a well-formed review: refused by the
  // validator, never a crash.
  json odd = site("team-a", "www");
  odd["metadata"]["name"] = 42;
  odd["spec"]["hosts"] = {{{"$ne", 1}}};
  odd["spec"]["app"] = "x";
  EXPECT_FALSE(decision(review(odd))["allowed"].get<bool>());
  json wrong_ns = review(site("team-a", "www"));
  wrong_ns["request"]["namespace"] = json::array();
  wrong_ns["request"]["object"]["metadata"].erase("namespace");
  EXPECT_EQ(admit(wrong_ns).status, 400);
  EXPECT_TRUE(decision(review(site("team-a", "www")))["allowed"].get<bool>());
}

TEST_F(WebhookTest, AnOversizedBodyIsRefused413) {
  HttpsOptions options;
  options.max_body_bytes = 64 * 1024;
  start(options);
  json big = site("team-a", "www");
  big["spec"]["padding"] = std::string(200 * 1024, 'x');
  Reply r = admit(review(big));
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(decision(review(site("team-a", "www")))["allowed"].get<bool>());
}

TEST_F(WebhookTest, OnlyJsonPostsToTheTwoPaths) {
  start();
  const std::string body = review(site("team-a", "www")).dump();
  EXPECT_EQ(call("/validate/sites", body, "GET").status, 405);
  EXPECT_EQ(call("/validate/sites", body, "PUT").status, 405);
  EXPECT_EQ(call("/validate/sites", body, "POST", "application/x-www-form-urlencoded").status, 415);
  EXPECT_EQ(call("/validate/sites", body, "POST", "text/plain").status, 415);
  EXPECT_EQ(call("/validate/pods", body).status, 404);
  // A Site sent to the Projects' path is not judged as a Project.
  EXPECT_EQ(call("/validate/projects", body).status, 400);
  EXPECT_EQ(call("/validate/sites", body, "POST", "application/json; charset=utf-8").status, 200);
}

TEST_F(WebhookTest, ReplicasOverTheBoundAreRefusedNamingTheField) {
  start();
  json s = site("team-a", "big");
  s["spec"]["app"]["components"][0]["replicas"] = 99;  // over the schema's range too
  json d = decision(review(s));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["message"],
            "Site \"big\" is invalid: spec.app.components[0].replicas: 99 is out of range (0-20)");
  s["spec"]["app"]["components"][0]["replicas"] = 9;  // within it, over the admin's bound
  d = decision(review(s));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["code"], 422);
  EXPECT_EQ(d["status"]["reason"], "Invalid");
  EXPECT_EQ(d["status"]["message"],
            "Site \"big\" is invalid: spec.app.components[0].replicas: 9 is over the platform's "
            "limit of 3 per "
            "component (wok operator --max-site-replicas)");
  EXPECT_EQ(d["status"]["details"]["causes"][0]["field"], "spec.app.components[0].replicas");
}

TEST_F(WebhookTest, ADocrootLeavingTheCheckoutIsRefused) {
  start();
  json s =
      site("team-a", "blog", {{"mode", "php"}, {"app", nullptr}, {"php", {{"docroot", "../.."}}}});
  json d = decision(review(s));
  EXPECT_FALSE(d["allowed"].get<bool>());
  const std::string message = d["status"]["message"];
  EXPECT_EQ(message.rfind("Site \"blog\" is invalid: spec.php.docroot: ", 0), 0u) << message;
}

TEST_F(WebhookTest, AHostOutsideTheProjectsPatternsIsRefused) {
  start();
  json d = decision(
      review(site("team-a", "squat", {{"hosts", {"www.team-a.test", "evil.example.org"}}})));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["message"],
            "Site \"squat\" is invalid: spec.hosts[1]: \"evil.example.org\" is not among the host "
            "names project "
            "\"team-a\" may claim ([\"*.team-a.test\"])");
  // A wildcard matches exactly one label.
  EXPECT_FALSE(decision(review(site("team-a", "deep", {{"hosts", {"a.b.team-a.test"}}})))["allowed"]
                   .get<bool>());
}

TEST_F(WebhookTest, AHostAnotherProjectsSiteServesIsRefused) {
  projects_["team-a"]["spec"]["hosts"].push_back(
      "www.team-b.test");  // allowed by the patterns, held by team-b
  start();
  json d = decision(review(site("team-a", "squat", {{"hosts", {"www.team-b.test"}}})));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["code"], 409);
  // The other project's site is not named to this one's members.
  EXPECT_EQ(d["status"]["message"],
            "spec.hosts[0]: host \"www.team-b.test\" is already served by another project");
  // In its own project, the holder is named.
  json mine = decision(review(site("team-a", "new", {{"hosts", {"blog.team-a.test"}}})));
  EXPECT_EQ(mine["status"]["message"],
            "spec.hosts[0]: host \"blog.team-a.test\" is already served by site \"old\" in project "
            "\"team-a\"");
  // A site created without a timestamp is the youngest claim.
  json untimed = site("team-a", "untimed", {{"hosts", {"blog.team-a.test"}}});
  untimed["metadata"].erase("creationTimestamp");
  EXPECT_FALSE(decision(review(untimed))["allowed"].get<bool>());
  // The holder itself may change its spec.
  json old = sites_[1];
  json changed = old;
  changed["spec"]["app"]["components"][0]["replicas"] = 2;
  EXPECT_TRUE(decision(review(changed, "UPDATE", old))["allowed"].get<bool>());
}

TEST_F(WebhookTest, ASiteOfAMissingProjectOrBeforeTheCachesSyncedIsRefused) {
  start();
  json d = decision(review(site("team-z", "www")));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["message"], "project \"team-z\" not found: create the Project first");
  synced_ = false;
  d = decision(review(site("team-a", "www")));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["code"], 503);
}

TEST_F(WebhookTest, AValidSiteIsAllowed) {
  start();
  json d = decision(review(site("team-a", "www")));
  EXPECT_TRUE(d["allowed"].get<bool>()) << d.dump();
  EXPECT_FALSE(d.contains("status"));
  // Deletions and metadata-only updates are never judged: a site stored
  // before the admin lowered a bound can still lose a finalizer.
  json over = site("team-a", "big");
  over["spec"]["app"]["components"][0]["replicas"] = 9;
  json relabelled = over;
  relabelled["metadata"]["labels"] = {{"x", "y"}};
  EXPECT_TRUE(decision(review(relabelled, "UPDATE", over))["allowed"].get<bool>());
  json changed = over;
  changed["spec"]["app"]["components"][0]["replicas"] = 10;
  EXPECT_FALSE(decision(review(changed, "UPDATE", over))["allowed"].get<bool>());
  EXPECT_TRUE(decision(review(over, "DELETE"))["allowed"].get<bool>());
}

// spec.database.version as wok up keeps it: newer only, only by `wok db
// upgrade` (its annotation names the version), and for PostgreSQL only
// where CloudNativePG runs it (it upgrades the data in place).
TEST_F(WebhookTest, ADatabaseVersionChangesOnlyByWokDbUpgradeWhereItCan) {
  api::offer_database_versions("postgresql", {"13", "15", "16"});
  auto with_db = [](const std::string& version) {
    json s = site("team-a", "www");
    s["spec"]["database"] = {{"engine", "postgresql"}, {"size", "1Gi"}};
    if (!version.empty()) s["spec"]["database"]["version"] = version;
    return s;
  };
  auto asked = [](json s, const std::string& version) {
    s["metadata"]["annotations"]["wok.dev/database-upgrade"] = version;
    return s;
  };
  auto message = [](const json& d) { return d["status"].value("message", ""); };
  start();
  const json v13 = with_db("13");
  json d = decision(review(with_db("15"), "UPDATE", v13));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(message(d),
            "Site \"www\" is invalid: spec.database.version: the database runs postgresql 13; its "
            "version changes only by `wok db upgrade site www --to 15` (or with the annotation "
            "wok.dev/database-upgrade: \"15\" written beside it)");
  d = decision(review(with_db(""), "UPDATE", v13));  // left out: the default, 15
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(message(d),
            "Site \"www\" is invalid: spec.database.version: left out, it would be 15; the "
            "database runs postgresql 13: write version: \"13\" (`wok db upgrade site www --to "
            "15` upgrades it)");
  // Asked, but a StatefulSet of the official image runs it.
  d = decision(review(asked(with_db("15"), "15"), "UPDATE", v13));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_NE(message(d).find("upgrading postgresql 13 to 15 on this cluster is not possible: "
                            "CloudNativePG upgrades PostgreSQL's data in place"),
            std::string::npos)
      << message(d);
  // Asked for another version than the one written.
  EXPECT_FALSE(decision(review(asked(with_db("16"), "15"), "UPDATE", v13))["allowed"].get<bool>());
  // The same version, and other changes beside it: not judged by this.
  json relabelled = v13;
  relabelled["spec"]["hosts"] = {"www2.team-a.test"};
  EXPECT_TRUE(decision(review(relabelled, "UPDATE", v13))["allowed"].get<bool>());

  server_->stop();
  postgresql_operator_ = "cloudnative-pg";
  start();
  EXPECT_TRUE(decision(review(asked(with_db("15"), "15"), "UPDATE", v13))["allowed"].get<bool>());
  EXPECT_FALSE(decision(review(with_db("15"), "UPDATE", v13))["allowed"].get<bool>());
  // Never back.
  d = decision(review(asked(with_db("13"), "13"), "UPDATE", with_db("15")));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(message(d),
            "Site \"www\" is invalid: spec.database.version: the database runs postgresql 15; it "
            "is never downgraded to 13 (a dump imported into a new site is the way back)");
  // A version this cluster has no image of stays refused by validation.
  d = decision(review(asked(with_db("14"), "14"), "UPDATE", v13));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_NE(
      message(d).find("\"14\" is not a version of postgresql this platform runs (13, 15, 16)"),
      std::string::npos)
      << message(d);
  api::offer_database_versions("postgresql", {});
}

TEST_F(WebhookTest, ProjectsGetTheValidator) {
  start();
  json p = project("team-c");
  Reply r = call("/validate/projects", review(p).dump());
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.review()["response"]["allowed"].get<bool>()) << r.body;
  p["spec"]["hosts"] = {"not a host"};
  r = call("/validate/projects", review(p).dump());
  json d = r.review()["response"];
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["message"].get<std::string>().rfind(
                "Project \"team-c\" is invalid: spec.hosts[0]", 0),
            0u)
      << d.dump();
}

TEST_F(WebhookTest, ARotatedCertificateIsServedWithoutARestart) {
  start();
  ASSERT_EQ(call("/validate/sites", review(site("team-a", "www")).dump()).status, 200);
  std::string first = (dir_ / "first.crt").string();
  fs::copy_file(cert_, first);
  make_certificate(cert_, key_, "second");
  Reply r = call("/validate/sites", review(site("team-a", "www")).dump());
  EXPECT_EQ(r.status, 200) << r.code;  // trusts the new file's certificate
  EXPECT_EQ(server_->certificate_loads(), 2u);
  EXPECT_NE(call("/validate/sites", "{}", "POST", "application/json", true, first).code, CURLE_OK);
  // A broken rotation keeps the last good pair.
  { std::ofstream(key_) << "not a key\n"; }
  EXPECT_EQ(call("/validate/sites", review(site("team-a", "www")).dump()).status, 200);
  EXPECT_EQ(server_->certificate_loads(), 2u);
}

TEST_F(WebhookTest, AStalledRequestIsAnswered408) {
  HttpsOptions options;
  options.request_timeout = std::chrono::milliseconds(300);
  start(options);
  // The head promises a body that never comes.
  CURL* curl = curl_easy_init();
  std::string url = "https://127.0.0.1:" + std::to_string(server_->port()) + "/validate/sites";
  std::string body;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Content-Length: 100");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, cert_.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  EXPECT_EQ(status, 408);
}

TEST(HostHolder, TheOlderClaimHoldsAndOneDoesNotHoldAgainstItself) {
  json a = site("a", "www", {{"hosts", {"x.test"}}});
  a["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z";
  json b = site("b", "www", {{"hosts", {"y.test", "x.test"}}});
  b["metadata"]["creationTimestamp"] = "2024-01-02T00:00:00Z";
  std::vector<json> all = {a, b};
  ASSERT_NE(host_holder(b, "x.test", all), nullptr);
  EXPECT_EQ((*host_holder(b, "x.test", all))["metadata"]["namespace"], "a");
  EXPECT_EQ(host_holder(a, "x.test", all), nullptr);
  EXPECT_EQ(host_holder(b, "y.test", all), nullptr);
}

}  // namespace
}  // namespace wok::kube

namespace wok::kube {
namespace {

// The operator client's answer (this file's Reply is the test client's).
using KubeReply = ApiCall::result_type;

TEST_F(WebhookTest, ACloneFromAnotherProjectNeedsTheWritersRightThereAndIsRecorded) {
  std::vector<json> asked;
  std::map<std::string, json> grants;
  bool allow = false, answer = true;
  api_ = [&](const std::string& method, const std::string& path, const std::string& body) {
    if (path == "/apis/authorization.k8s.io/v1/subjectaccessreviews" && method == "POST") {
      if (!answer) return KubeReply{500, "{}", ""};
      json review = json::parse(body);
      asked.push_back(review);
      review["status"] = {{"allowed", allow}};
      return KubeReply{201, review.dump(), ""};
    }
    const std::string collection = "/api/v1/namespaces/wok-system/configmaps";
    if (path == collection && method == "POST") {
      json g = json::parse(body);
      const std::string name = g["metadata"]["name"];
      if (grants.count(name)) return KubeReply{409, "{}", ""};
      grants[name] = g;
      return KubeReply{201, g.dump(), ""};
    }
    if (path.starts_with(collection + "/") && method == "PUT") {
      grants[path.substr(collection.size() + 1)] = json::parse(body);
      return KubeReply{200, body, ""};
    }
    return KubeReply{404, "{}", ""};
  };
  start();
  json clone = site("team-a", "copy", {{"cloneFrom", {{"site", "blog"}, {"project", "team-b"}}}});
  json r = review(clone);
  r["request"]["userInfo"] = {
      {"username", "alice"}, {"groups", {"team-a-devs", "system:authenticated"}}, {"uid", "42"}};

  // Alice may not write sites of team-b: refused, naming the field, nothing recorded.
  json d = decision(r);
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["code"], 403);
  EXPECT_EQ(d["status"]["message"],
            "Site \"copy\" is forbidden: user \"alice\" may not clone from project \"team-b\" "
            "(developers and admins of it only)");
  EXPECT_EQ(d["status"]["details"]["causes"][0]["field"], "spec.cloneFrom.project");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0]["spec"]["resourceAttributes"], json({{"namespace", "team-b"},
                                                          {"verb", "create"},
                                                          {"group", "wok.dev"},
                                                          {"resource", "sites"}}));
  EXPECT_EQ(asked[0]["spec"]["user"], "alice");
  EXPECT_EQ(asked[0]["spec"]["groups"], json({"team-a-devs", "system:authenticated"}));
  EXPECT_EQ(asked[0]["spec"]["uid"], "42");
  EXPECT_TRUE(grants.empty());

  // She may: allowed, and the grant recorded for the Site's uid and source.
  allow = true;
  d = decision(r);
  EXPECT_TRUE(d["allowed"].get<bool>()) << d.dump();
  ASSERT_EQ(grants.count("wok.clone-grant.u-copy"), 1u);
  EXPECT_EQ(grants["wok.clone-grant.u-copy"]["data"], json({{"site", "team-a/copy"},
                                                            {"from", "team-b/blog"},
                                                            {"backup", "latest"},
                                                            {"user", "alice"}}));
  // Written again (a retry): the grant replaced.
  r["request"]["userInfo"]["username"] = "bob";
  EXPECT_TRUE(decision(r)["allowed"].get<bool>());
  EXPECT_EQ(grants["wok.clone-grant.u-copy"]["data"]["user"], "bob");

  // An update that leaves cloneFrom as it was is not asked again (as wok
  // up); one that changes it is.
  allow = false;
  const size_t before = asked.size();
  json renamed = clone;
  renamed["spec"]["hosts"] = {"copy.team-a.test"};
  EXPECT_TRUE(decision(review(renamed, "UPDATE", clone))["allowed"].get<bool>());
  EXPECT_EQ(asked.size(), before);
  json other = clone;
  other["spec"]["cloneFrom"]["site"] = "shop";
  EXPECT_FALSE(decision(review(other, "UPDATE", clone))["allowed"].get<bool>());
  EXPECT_EQ(asked.size(), before + 1);
  // A clone from its own project asks nothing.
  json own = site("team-a", "own", {{"cloneFrom", {{"site", "blog"}, {"project", "team-a"}}}});
  EXPECT_TRUE(decision(review(own))["allowed"].get<bool>());
  EXPECT_EQ(asked.size(), before + 1);

  // The API does not answer: refused (503), never allowed unchecked.
  answer = false;
  d = decision(r);
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["code"], 503);
  EXPECT_NE(d["status"]["message"].get<std::string>().find(
                "asking whether user \"bob\" may write sites of project \"team-b\" failed"),
            std::string::npos)
      << d.dump();
}

// `wok backup delete --kubeconfig`: a new deletion request (an annotation a
// member may write, on any write of the Site) needs the writer's right to
// delete sites/backups in the project, which only wok-admin grants; the
// grant names the request for the operator.
TEST_F(WebhookTest, ABackupDeletionRequestNeedsAProjectAdmin) {
  std::vector<json> asked;
  std::map<std::string, json> grants;
  bool allow = false;
  api_ = [&](const std::string& method, const std::string& path, const std::string& body) {
    if (path == "/apis/authorization.k8s.io/v1/subjectaccessreviews" && method == "POST") {
      json review = json::parse(body);
      asked.push_back(review);
      review["status"] = {{"allowed", allow}};
      return KubeReply{201, review.dump(), ""};
    }
    if (path == "/api/v1/namespaces/wok-system/configmaps" && method == "POST") {
      json g = json::parse(body);
      grants[g["metadata"]["name"]] = g;
      return KubeReply{201, g.dump(), ""};
    }
    return KubeReply{404, "{}", ""};
  };
  start();
  const json before = site("team-a", "www", {});
  auto asking = [&](const std::string& token, const std::string& target) {
    json after = before;
    after["metadata"]["annotations"] = {{kBackupDeleteRequestAnnotation, token},
                                        {kBackupDeleteAnnotation, target}};
    return after;
  };
  json r = review(asking("2026-12-07T06:00:00Z", "www/3f2a9c1d"), "UPDATE", before);
  r["request"]["userInfo"] = {{"username", "dev"}, {"groups", {"system:authenticated"}}};
  // A developer: refused though the spec is unchanged, nothing recorded.
  json d = decision(r);
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["code"], 403);
  EXPECT_EQ(d["status"]["message"],
            "Site \"www\" is forbidden: user \"dev\" may not delete backups of project "
            "\"team-a\" (its admins only)");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0]["spec"]["resourceAttributes"], json({{"namespace", "team-a"},
                                                          {"verb", "delete"},
                                                          {"group", "wok.dev"},
                                                          {"resource", "sites"},
                                                          {"subresource", "backups"}}));
  EXPECT_TRUE(grants.empty());
  // A project admin: allowed, the request recorded for the Site's uid.
  allow = true;
  r["request"]["userInfo"]["username"] = "ada";
  EXPECT_TRUE(decision(r)["allowed"].get<bool>());
  ASSERT_EQ(grants.count("wok.backup-delete-grant.u-www"), 1u);
  EXPECT_EQ(grants["wok.backup-delete-grant.u-www"]["data"],
            json({{"site", "team-a/www"},
                  {"token", "2026-12-07T06:00:00Z"},
                  {"backup", "www/3f2a9c1d"},
                  {"user", "ada"}}));
  // A write that keeps the request's token asks nothing (the operator acts
  // once per token, and only on the target its grant names).
  allow = false;
  const size_t n = asked.size();
  json same = asking("2026-12-07T06:00:00Z", "www/aaaaaaaa");
  EXPECT_TRUE(
      decision(review(same, "UPDATE", asking("2026-12-07T06:00:00Z", "www/3f2a9c1d")))["allowed"]
          .get<bool>());
  EXPECT_EQ(asked.size(), n);
  // A Site created with a request in it is asked about too.
  EXPECT_FALSE(decision(review(asking("t2", "www/3f2a9c1d")))["allowed"].get<bool>());
  EXPECT_EQ(asked.size(), n + 1);
}

TEST_F(WebhookTest, ACloneFromAnotherProjectIsRefusedByAWebhookThatCannotAsk) {
  start();  // no API
  json clone = site("team-a", "copy", {{"cloneFrom", {{"site", "blog"}, {"project", "team-b"}}}});
  json d = decision(review(clone));
  EXPECT_FALSE(d["allowed"].get<bool>());
  EXPECT_EQ(d["status"]["code"], 403);
}

}  // namespace
}  // namespace wok::kube
