// Watches of the API over real HTTP on loopback (server/watch.h): list then
// watch from the list's version, the current objects first without one,
// 410 for a version the store no longer keeps, bookmarks, and what a
// stranger, a viewer removed mid-stream or a hostile query gets.
#include "server/watch.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "server/streaming_api.h"
#include "store/store.h"

namespace wok::server {
namespace {

using nlohmann::json;

constexpr char kBase[] = "/apis/wok.dev/v1alpha1";

using test_support::Stream;

class WatchTest : public testing::StreamingApiTest {
 protected:
  WatchTest() : StreamingApiTest("wok-watch") {}
  void SetUp() override {
    open_store({{"admin", true}, {"alice", false}, {"bob", false}, {"eve", false}});
    add_project("team-a", "alice");
    add_project("team-b", "bob");
    add_site("team-a", "www");
    add_site("team-b", "www");
    ApiOptions options;
    options.watch_bookmark_ms = 200;
    start(options);
  }

  json add_site(const std::string& ns, const std::string& name) {
    json site = {{"apiVersion", "wok.dev/v1alpha1"},
                 {"kind", "Site"},
                 {"metadata", {{"name", name}, {"namespace", ns}}},
                 {"spec", {{"mode", "static"}, {"hosts", {name + "." + ns + ".localhost"}}}}};
    auto r = store_->create("Site", site);
    EXPECT_TRUE(r.ok()) << r.message;
    return r.ok() ? *r.object : json();
  }
  std::unique_ptr<Stream> watch(const std::string& user, const std::string& target) {
    return get_as(user, target);
  }
  // Whether make() gives a stream of that status within 5 s (a stream that
  // ends is seen by the hub a moment later).
  bool eventually_status(int status, const std::function<std::unique_ptr<Stream>()>& make) {
    for (int i = 0; i < 50; ++i) {
      if (make()->status() == status) return true;
      usleep(100'000);
    }
    return false;
  }
};

std::string name_of(const json& event) {
  return event["object"]["metadata"]["namespace"].get<std::string>() + "/" +
         event["object"]["metadata"]["name"].get<std::string>();
}

TEST_F(WatchTest, ListThenWatchFromItsVersionSeesEveryChangeOfTheProjectsItMaySee) {
  Stream list(server_->port(), tokens_["alice"], std::string(kBase) + "/sites");
  json sites = list.whole();
  ASSERT_EQ(list.status(), 200);
  ASSERT_EQ(sites["items"].size(), 1u);  // team-a's only
  std::string rv = sites["metadata"]["resourceVersion"];
  auto w = watch("alice", std::string(kBase) + "/sites?watch=1&resourceVersion=" + rv);
  ASSERT_EQ(w->status(), 200);

  add_site("team-b", "blog");  // another project's: never shown
  json blog = add_site("team-a", "blog");
  auto added = w->next();
  ASSERT_TRUE(added);
  EXPECT_EQ((*added)["type"], "ADDED");
  EXPECT_EQ(name_of(*added), "team-a/blog");
  blog["spec"]["hosts"] = {"news.team-a.localhost"};
  ASSERT_TRUE(store_->update("Site", blog).ok());
  ASSERT_TRUE(store_->patch_status("Site", "team-a", "blog", {{"phase", "Ready"}}).ok());
  // Changes in quick succession may come as one, the newest state.
  std::vector<json> seen = {*added};
  while (seen.back()["object"]["status"].value("phase", "") != "Ready") {
    auto e = w->next();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["type"], "MODIFIED");
    seen.push_back(*e);
  }
  ASSERT_TRUE(store_->remove("Site", "team-a", "blog").ok());
  auto deleted = w->next();
  ASSERT_TRUE(deleted);
  seen.push_back(*deleted);
  EXPECT_EQ((*deleted)["type"], "DELETED");
  EXPECT_EQ((*deleted)["object"]["spec"]["hosts"][0], "news.team-a.localhost");
  EXPECT_EQ((*deleted)["object"]["status"]["phase"], "Ready");
  for (const auto& e : seen) EXPECT_EQ(name_of(e), "team-a/blog") << e.dump();
  // Versions only grow along the stream.
  int64_t last = std::stoll(rv);
  for (const auto& e : seen) {
    int64_t v = std::stoll(e["object"]["metadata"]["resourceVersion"].get<std::string>());
    EXPECT_GT(v, last);
    last = v;
  }
  EXPECT_FALSE(w->next(300));
}

TEST_F(WatchTest, WithoutAVersionTheCurrentObjectsComeFirstThenEachChange) {
  auto w = watch("alice", std::string(kBase) + "/namespaces/team-a/sites?watch=true");
  ASSERT_EQ(w->status(), 200);
  auto first = w->next();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["type"], "ADDED");
  EXPECT_EQ(name_of(*first), "team-a/www");
  EXPECT_FALSE(w->next(300));  // nothing else yet
  ASSERT_TRUE(store_->patch_status("Site", "team-a", "www", {{"phase", "Ready"}}).ok());
  auto changed = w->next();
  ASSERT_TRUE(changed);
  EXPECT_EQ((*changed)["type"], "MODIFIED");
  EXPECT_EQ((*changed)["object"]["status"]["phase"], "Ready");
}

TEST_F(WatchTest, OneSiteByFieldSelectorOrPath) {
  add_site("team-a", "blog");
  auto by_selector =
      watch("alice", std::string(kBase) +
                         "/namespaces/team-a/sites?watch=1&fieldSelector=metadata.name%3Dblog");
  auto by_path = watch("alice", std::string(kBase) + "/namespaces/team-a/sites/blog?watch=1");
  for (auto* w : {by_selector.get(), by_path.get()}) {
    ASSERT_EQ(w->status(), 200);
    auto e = w->next();
    ASSERT_TRUE(e);
    EXPECT_EQ(name_of(*e), "team-a/blog");
  }
  ASSERT_TRUE(store_->patch_status("Site", "team-a", "www", {{"phase", "Ready"}}).ok());
  ASSERT_TRUE(store_->patch_status("Site", "team-a", "blog", {{"phase", "Ready"}}).ok());
  for (auto* w : {by_selector.get(), by_path.get()}) {
    auto e = w->next();
    ASSERT_TRUE(e);
    EXPECT_EQ(name_of(*e), "team-a/blog");  // www's change was not sent
    EXPECT_EQ((*e)["type"], "MODIFIED");
  }
}

TEST_F(WatchTest, ProjectsOfOthersAreNeitherListedNorWatched) {
  auto w = watch("alice", std::string(kBase) + "/projects?watch=1");
  ASSERT_EQ(w->status(), 200);
  auto e = w->next();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["object"]["metadata"]["name"], "team-a");
  json b = *store_->get("Project", "", "team-b");
  b["spec"]["hosts"] = {"*.b.localhost"};
  ASSERT_TRUE(store_->update("Project", b).ok());
  EXPECT_FALSE(w->next(500));
  // Eve is no member of team-a: refused as a GET would be, before anything streams.
  EXPECT_EQ(watch("eve", std::string(kBase) + "/namespaces/team-a/sites?watch=1")->status(), 403);
  EXPECT_EQ(watch("eve", std::string(kBase) + "/projects/team-a?watch=1")->status(), 403);
  auto all = watch("eve", std::string(kBase) + "/sites?watch=1");
  ASSERT_EQ(all->status(), 200);
  EXPECT_FALSE(all->next(500));
}

TEST_F(WatchTest, AViewerRemovedMidStreamGetsA403AndTheStreamEnds) {
  auto w = watch("alice", std::string(kBase) + "/namespaces/team-a/sites?watch=1");
  ASSERT_TRUE(w->next());  // www
  json a = *store_->get("Project", "", "team-a");
  a["spec"]["members"] = json::array();
  ASSERT_TRUE(store_->update("Project", a).ok());
  ASSERT_TRUE(store_->patch_status("Site", "team-a", "www", {{"secret", "after"}}).ok());
  auto e = w->next();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "ERROR");
  EXPECT_EQ((*e)["object"]["code"], 403);
  EXPECT_TRUE(w->ends_within(3000));
}

TEST_F(WatchTest, BadRequestsAreRefusedByName) {
  std::string base = std::string(kBase) + "/namespaces/team-a/";
  EXPECT_EQ(watch("eve", base + "sites?watch=1")->status(), 403);
  EXPECT_EQ(Stream(server_->port(), "", base + "sites?watch=1").status(), 401);
  EXPECT_EQ(Stream(server_->port(), "not-a-token", base + "sites?watch=1").status(), 401);
  auto check = [&](const std::string& target, const std::string& words) {
    Stream s(server_->port(), tokens_["alice"], target);
    json body = s.whole();
    EXPECT_EQ(s.status(), 400) << target;
    EXPECT_NE(body.value("message", "").find(words), std::string::npos) << body.dump();
  };
  check(base + "sites?watch=1&resourceVersion=abc", "resourceVersion must be a whole number");
  check(base + "sites?watch=1&labelSelector=a%3Db", "labelSelector is not supported");
  check(base + "sites?watch=1&fieldSelector=spec.mode%3Dphp", "only metadata.name=NAME");
  check(base + "sites?watch=1&fieldSelector=metadata.name%3D..%2Fx", "not a valid name");
  check(base + "sites?watch=1&timeoutSeconds=0", "timeoutSeconds");
  // Secrets are not watchable: not even their names stream.
  check(base + "secrets?watch=1", "only projects, sites and events can be watched");
}

TEST_F(WatchTest, AVersionOlderThanTheStoreKeepsIs410) {
  int64_t start = store_->resource_version();
  // The store keeps the last 20,000 events: push the first ones out.
  for (int i = 0; i < 21'000; ++i)
    ASSERT_TRUE(store_->patch_status("Site", "team-b", "www", {{"n", i}}).ok());
  ASSERT_GT(store_->oldest_event_rv(), start + 1);
  Stream gone(server_->port(), tokens_["alice"],
              std::string(kBase) + "/sites?watch=1&resourceVersion=" + std::to_string(start));
  json body = gone.whole();
  EXPECT_EQ(gone.status(), 410);
  EXPECT_EQ(body["reason"], "Expired");
  // From a version still kept: fine.
  auto ok = watch("alice", std::string(kBase) + "/sites?watch=1&resourceVersion=" +
                               std::to_string(store_->resource_version()));
  EXPECT_EQ(ok->status(), 200);
}

TEST_F(WatchTest, BookmarksCarryTheVersionOfChangesTheWatcherDoesNotSee) {
  auto w = watch("alice", std::string(kBase) +
                              "/namespaces/team-a/sites?watch=1&allowWatchBookmarks=true&"
                              "resourceVersion=" +
                              std::to_string(store_->resource_version()));
  ASSERT_TRUE(store_->patch_status("Site", "team-b", "www", {{"phase", "Ready"}}).ok());
  int64_t rv = store_->resource_version();
  auto e = w->next(5000);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "BOOKMARK");
  EXPECT_EQ((*e)["object"]["metadata"]["resourceVersion"], std::to_string(rv));
  EXPECT_FALSE((*e)["object"].contains("spec"));  // nothing of team-b's site
}

TEST_F(WatchTest, StreamsEndAtTheirTimeoutAndWhenTheServerStops) {
  auto timed = watch("alice", std::string(kBase) + "/sites?watch=1&timeoutSeconds=1");
  ASSERT_TRUE(timed->next());
  EXPECT_TRUE(timed->ends_within(4000));
  auto open = watch("alice", std::string(kBase) + "/sites?watch=1");
  ASSERT_TRUE(open->next());
  api_->stop_watches();
  EXPECT_TRUE(open->ends_within(3000));
  // A watch asked for afterwards is refused, not left open.
  EXPECT_EQ(watch("alice", std::string(kBase) + "/sites?watch=1")->status(), 503);
}

TEST_F(WatchTest, AUserHoldsTwentyWatchesAtMost) {
  std::vector<std::unique_ptr<Stream>> open;
  for (int i = 0; i < 20; ++i) {
    open.push_back(watch("alice", std::string(kBase) + "/namespaces/team-a/sites?watch=1"));
    ASSERT_EQ(open.back()->status(), 200) << i;
    ASSERT_TRUE(open.back()->next());  // registered: its first line came
  }
  auto one_more = watch("alice", std::string(kBase) + "/namespaces/team-a/sites?watch=1");
  EXPECT_EQ(one_more->status(), 429);
  // Another user is not held back by alice's.
  EXPECT_EQ(watch("bob", std::string(kBase) + "/namespaces/team-b/sites?watch=1")->status(), 200);
  open.pop_back();  // one ends: room for one again
  ASSERT_TRUE(eventually_status(200, [&] {
    return watch("alice", std::string(kBase) + "/namespaces/team-a/sites?watch=1");
  }));
}

TEST_F(WatchTest, ARevokedTokensStreamsEnd) {
  std::string name;
  for (const auto& t : store_->tokens())
    if (t.user == "alice") name = t.name;
  auto w = watch("alice", std::string(kBase) + "/namespaces/team-a/sites?watch=1");
  ASSERT_TRUE(w->next());
  ASSERT_TRUE(store_->revoke_token(name));
  auto e = w->next(10000);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "ERROR");
  EXPECT_EQ((*e)["object"]["code"], 401);
  EXPECT_TRUE(w->ends_within(3000));
}

TEST_F(WatchTest, AWatchFromLongAgoDoesNotHoldBackTheOthers) {
  int64_t old = store_->resource_version();
  for (int i = 0; i < 3000; ++i)
    ASSERT_TRUE(store_->patch_status("Site", "team-b", "www", {{"n", i}}).ok());
  auto current =
      watch("alice", std::string(kBase) + "/namespaces/team-a/sites?watch=1&resourceVersion=" +
                         std::to_string(store_->resource_version()));
  // Bob replays 3,000 changes of his site from long ago...
  auto replay =
      watch("bob", std::string(kBase) +
                       "/namespaces/team-b/sites?watch=1&resourceVersion=" + std::to_string(old));
  ASSERT_EQ(replay->status(), 200);
  ASSERT_TRUE(store_->patch_status("Site", "team-a", "www", {{"phase", "Ready"}}).ok());
  // ...while alice's change reaches her, and his replay ends at the newest.
  auto e = current->next();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["object"]["status"]["phase"], "Ready");
  json last;
  while (auto r = replay->next(2000)) last = *r;
  EXPECT_EQ(last["object"]["status"]["n"], 2999);
}

}  // namespace
}  // namespace wok::server
