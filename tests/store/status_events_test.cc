// What a status change says happened (store/status_events.h).
#include "store/status_events.h"

#include <gtest/gtest.h>

namespace wok::store {
namespace {

using nlohmann::json;

json ready(const std::string& status, const std::string& reason, const std::string& message) {
  return {
      {"conditions",
       json::array(
           {{{"type", "Ready"}, {"status", status}, {"reason", reason}, {"message", message}}})}};
}

TEST(StatusEvents, ANewStateOfReadyIsOneEventAndTheSameStateNone) {
  json first = ready("False", "Progressing", "building commit abc1234 as revision 1");
  auto events = status_events(json::object(), first, "building commit abc1234 as revision 1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "Normal");  // progress, not a problem
  EXPECT_EQ(events[0].reason, "Progressing");
  EXPECT_TRUE(status_events(first, first, "building commit abc1234 as revision 1").empty());

  json deployed = ready("True", "Deployed", "revision 1 serves commit abc1234");
  events = status_events(first, deployed, "revision 1 serves commit abc1234");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, "Deployed");
  EXPECT_EQ(events[0].message, "revision 1 serves commit abc1234");

  // The instances' words added to the message are not a new state.
  json troubled = ready("True", "Deployed",
                        "revision 1 serves commit abc1234; instance web-1: crashed 3 times");
  EXPECT_TRUE(status_events(deployed, troubled, "revision 1 serves commit abc1234").empty());
  EXPECT_TRUE(status_events(troubled, deployed, "revision 1 serves commit abc1234").empty());

  json failed = ready("True", "RevisionFailed", "revision 2 failed: build exited with code 3");
  failed["conditions"][0]["status"] = "False";
  events = status_events(deployed, failed, "revision 2 failed: build exited with code 3");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "Warning");
  EXPECT_EQ(events[0].reason, "RevisionFailed");
  EXPECT_EQ(events[0].message, "revision 2 failed: build exited with code 3");
}

// A cluster binding storage or admitting an ingress is progress too.
TEST(StatusEvents, WaitingForTheClusterIsNotAWarning) {
  json deployed = ready("True", "Deployed", "the site is available");
  for (const char* reason : {"StoragePending", "IngressPending"}) {
    auto events = status_events(deployed, ready("False", reason, "claim www-data is Pending"),
                                "claim www-data is Pending");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "Normal") << reason;
  }
  auto events = status_events(deployed, ready("False", "ApplyFailed", "422 Invalid"), "");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "Warning");
}

TEST(StatusEvents, OtherConditionsComeAndGo) {
  json base = ready("True", "Deployed", "revision 1 serves commit abc1234");
  json refused = base;
  refused["conditions"].push_back({{"type", "HostsAllowed"},
                                   {"status", "False"},
                                   {"reason", "HostNotAllowed"},
                                   {"message", "x.example.org: not allowed"}});
  auto events = status_events(base, refused, "revision 1 serves commit abc1234");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "Warning");
  EXPECT_EQ(events[0].reason, "HostNotAllowed");
  events = status_events(refused, base, "revision 1 serves commit abc1234");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "Normal");
  EXPECT_EQ(events[0].reason, "HostsAllowed");
}

TEST(StatusEvents, RestartsOomKillsScalingAndCertificates) {
  json before = ready("True", "Deployed", "revision 1 serves commit abc1234");
  before["instances"] = {{{"name", "team-a.api.web.1-0"}, {"restarts", 1}}};
  before["autoscale"] = {{"lastScaleReason", "scaled 1 → 2: cpu 90% of 70%"}};
  before["tls"] = {{"notAfter", "2027-01-01T00:00:00Z"}};
  json after = before;
  after["instances"] = {
      {{"name", "team-a.api.web.1-0"}, {"restarts", 2}, {"oomKilled", true}, {"lastExitCode", 137}},
      {{"name", "team-a.api.web.1-1"},
       {"restarts", 1},
       {"lastExitCode", 3},
       {"lastError", "\x1b[31mno such module"}}};
  after["autoscale"] = {{"lastScaleReason", "scaled 2 → 3: cpu 95% of 70%"}};
  after["tls"] = {{"notAfter", "2027-03-01T00:00:00Z"},
                  {"issuer", "Pebble Intermediate CA"},
                  {"hosts", {"www.example.org"}}};
  auto events = status_events(before, after, "revision 1 serves commit abc1234");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].reason, "OOMKilled");
  EXPECT_NE(events[0].message.find("team-a.api.web.1-0"), std::string::npos);
  EXPECT_EQ(events[1].reason, "Restarted");
  EXPECT_NE(events[1].message.find("exited with code 3"), std::string::npos);
  EXPECT_EQ(events[2].reason, "Scaled");
  EXPECT_EQ(events[2].message, "scaled 2 → 3: cpu 95% of 70%");
  EXPECT_EQ(events[3].reason, "CertificateRenewed");
  EXPECT_NE(events[3].message.find("www.example.org from Pebble Intermediate CA"),
            std::string::npos);
  // Nothing new: nothing said.
  EXPECT_TRUE(status_events(after, after, "revision 1 serves commit abc1234").empty());
}

TEST(StatusEvents, TheFirstCertificateEndsTheWaitAndIsIssued) {
  json waiting = ready("True", "Deployed", "revision 1 serves commit abc1234");
  waiting["tls"] = {{"mode", "auto"}, {"message", "waiting for the ACME CA"}};
  json patch = {{"tls",
                 {{"message", nullptr},  // a merge patch ends the wait so
                  {"notAfter", "2027-03-01T00:00:00Z"},
                  {"issuer", "Pebble Intermediate CA"},
                  {"hosts", {"www.example.org"}}}}};
  auto events = status_events(waiting, patch, "revision 1 serves commit abc1234");
  bool issued = false;
  for (const auto& e : events) issued = issued || e.reason == "CertificateIssued";
  EXPECT_TRUE(issued);
}

TEST(StatusEvents, AFirstCertificateUnderWayIsNormalAndAFailureAWarning) {
  json before = ready("True", "Deployed", "revision 1 serves commit abc1234");
  auto with_certificate = [&](const std::string& reason, const std::string& message) {
    json patch = before;
    patch["conditions"].push_back({{"type", "CertificateReady"},
                                   {"status", "False"},
                                   {"reason", reason},
                                   {"message", message},
                                   {"lastTransitionTime", "2026-12-05T10:00:00Z"}});
    return patch;
  };
  auto pending = status_events(
      before,
      with_certificate("CertificatePending", "waiting for the ACME CA to issue a certificate"),
      "revision 1 serves commit abc1234");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].type, "Normal");
  EXPECT_EQ(pending[0].reason, "CertificatePending");
  auto failed =
      status_events(before, with_certificate("CertificateFailed", "the CA could not validate"),
                    "revision 1 serves commit abc1234");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].type, "Warning");
}

}  // namespace
}  // namespace wok::store
