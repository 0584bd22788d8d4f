// Which event a verified hook carries and which ref it moved, as each forge
// sends it; and which pushed refs a site's spec.source.git.ref follows.
#include "hooks/push_event.h"

#include <gtest/gtest.h>

#include <vector>

namespace wok::hooks {
namespace {

http::Request hook(std::string event_header, std::string event, std::string body,
                   std::string content_type = "application/json") {
  http::Request r;
  r.method = "POST";
  if (!event_header.empty()) r.headers.push_back({std::move(event_header), std::move(event)});
  r.headers.push_back({"Content-Type", std::move(content_type)});
  r.body = std::move(body);
  return r;
}

TEST(PushEvent, GithubPush) {
  PushEvent e = read_event(hook("X-GitHub-Event", "push",
                                R"({"ref":"refs/heads/main","after":"1f2e","deleted":false})"));
  EXPECT_EQ(e.kind, EventKind::kPush);
  EXPECT_EQ(e.ref, "refs/heads/main");
  EXPECT_FALSE(e.deleted);
  EXPECT_EQ(e.error, "");
}

TEST(PushEvent, GithubPingAndOtherEventsAreNotRead) {
  EXPECT_EQ(read_event(hook("X-GitHub-Event", "ping", "{\"zen\":\"Design for failure.\"}")).kind,
            EventKind::kPing);
  PushEvent e = read_event(hook("X-GitHub-Event", "issues", "not even json"));
  EXPECT_EQ(e.kind, EventKind::kOther);
  EXPECT_EQ(e.name, "issues");
  EXPECT_EQ(e.error, "");
}

TEST(PushEvent, GithubFormEncodedPayload) {
  PushEvent e = read_event(hook("X-GitHub-Event", "push",
                                "payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D",
                                "application/x-www-form-urlencoded"));
  EXPECT_EQ(e.error, "");
  EXPECT_EQ(e.ref, "refs/heads/main");
  for (std::string bad : {"payload=%7", "payload=%zz", "other=1", ""}) {
    EXPECT_NE(
        read_event(hook("X-GitHub-Event", "push", bad, "application/x-www-form-urlencoded")).error,
        "")
        << bad;
  }
}

TEST(PushEvent, GitlabPushAndTagPush) {
  PushEvent e = read_event(hook("X-Gitlab-Event", "Push Hook", R"({"ref":"refs/heads/dev"})"));
  EXPECT_EQ(e.kind, EventKind::kPush);
  EXPECT_EQ(e.ref, "refs/heads/dev");
  EXPECT_EQ(read_event(hook("X-Gitlab-Event", "Tag Push Hook", R"({"ref":"refs/tags/v1"})")).ref,
            "refs/tags/v1");
  EXPECT_EQ(read_event(hook("X-Gitlab-Event", "Merge Request Hook", "{}")).kind, EventKind::kOther);
}

TEST(PushEvent, GiteaPush) {
  // Gitea also sends X-GitHub-Event; its own header is read first.
  http::Request r = hook("X-Gitea-Event", "push", R"({"ref":"refs/heads/main"})");
  r.headers.push_back({"X-GitHub-Event", "push"});
  EXPECT_EQ(read_event(r).ref, "refs/heads/main");
  EXPECT_EQ(read_event(hook("X-Gitea-Event", "issues", "{}")).kind, EventKind::kOther);
}

TEST(PushEvent, PlainHookIsAPush) {
  PushEvent e = read_event(hook("", "", R"({"ref":"refs/heads/main"})"));
  EXPECT_EQ(e.kind, EventKind::kPush);
  EXPECT_EQ(e.name, "push");
  EXPECT_EQ(e.ref, "refs/heads/main");
}

TEST(PushEvent, DeletedRef) {
  EXPECT_TRUE(read_event(hook("X-GitHub-Event", "push", R"({"ref":"refs/heads/x","deleted":true})"))
                  .deleted);
  std::string zeros(40, '0');
  EXPECT_TRUE(read_event(hook("X-Gitlab-Event", "Push Hook",
                              R"({"ref":"refs/heads/x","after":")" + zeros + "\"}"))
                  .deleted);
}

TEST(PushEvent, UnreadableBodiesSayWhy) {
  for (const std::string& body : std::vector<std::string>{
           "", "{", "[1,2]", "\"ref\"", "{\"ref\":1}", "{\"ref\":\"\"}", "{}",
           std::string("{\"ref\":\"a\0\"", 11), "{\"ref\":\"refs/heads/main\"}}"}) {
    PushEvent e = read_event(hook("X-GitHub-Event", "push", body));
    EXPECT_NE(e.error, "") << body;
  }
}

TEST(PushEvent, DeeplyNestedJsonIsRefusedNotCrashed) {
  // A verified sender is still parsed with care: nesting does not recurse the stack away.
  std::string deep(100000, '[');
  PushEvent e = read_event(hook("X-GitHub-Event", "push", deep));
  EXPECT_NE(e.error, "");
}

TEST(RefMatches, BranchesTagsAndFullRefs) {
  EXPECT_TRUE(ref_matches("refs/heads/main", "main"));
  EXPECT_TRUE(ref_matches("refs/tags/v1.2", "v1.2"));
  EXPECT_TRUE(ref_matches("refs/heads/main", "refs/heads/main"));
  EXPECT_FALSE(ref_matches("refs/heads/main", "refs/tags/main"));
  EXPECT_FALSE(ref_matches("refs/heads/dev", "main"));
  EXPECT_FALSE(ref_matches("refs/heads/xmain", "main"));
  EXPECT_FALSE(ref_matches("refs/heads/feature/main", "main"));
  EXPECT_FALSE(ref_matches("main", "main"));
  EXPECT_FALSE(ref_matches("refs/heads/main", ""));
  EXPECT_FALSE(ref_matches("refs/heads/", ""));
}

}  // namespace
}  // namespace wok::hooks
