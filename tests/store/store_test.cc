#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "store/host_claims.h"
#include "store/site_events.h"

namespace wok::store {
namespace {

using nlohmann::json;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Store> reopen() {
    std::string error;
    auto s = Store::open(dir_ + "/wok.db", &error);
    EXPECT_TRUE(s) << error;
    return s;
  }
  static json site(const std::string& name, const std::string& host) {
    return {{"apiVersion", "wok.dev/v1alpha1"},
            {"kind", "Site"},
            {"metadata", {{"name", name}, {"namespace", "team-a"}}},
            {"spec", {{"mode", "static"}, {"hosts", {host}}}}};
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CreateSetsMetadataAndRefusesDuplicates) {
  Result r = store_->create("Site", site("www", "www.a.localhost"));
  ASSERT_TRUE(r.ok()) << r.message;
  const json& md = (*r.object)["metadata"];
  EXPECT_EQ(md["generation"], 1);
  EXPECT_EQ(md["uid"].get<std::string>().size(), 36u);
  EXPECT_FALSE(md["resourceVersion"].get<std::string>().empty());
  EXPECT_EQ(store_->create("Site", site("www", "other.a.localhost")).code, Code::kAlreadyExists);
}

TEST_F(StoreTest, StaleResourceVersionIsAConflict) {
  json created = *store_->create("Site", site("www", "www.a.localhost")).object;
  json first = created, second = created;
  first["spec"]["hosts"] = {"one.a.localhost"};
  second["spec"]["hosts"] = {"two.a.localhost"};
  ASSERT_TRUE(store_->update("Site", first).ok());
  Result r = store_->update("Site", second);
  EXPECT_EQ(r.code, Code::kConflict);
  EXPECT_EQ((*store_->get("Site", "team-a", "www"))["spec"]["hosts"][0], "one.a.localhost");
  EXPECT_EQ((*store_->get("Site", "team-a", "www"))["metadata"]["generation"], 2);
}

TEST_F(StoreTest, ConcurrentUpdatesWithTheSameVersionLetExactlyOneWin) {
  json created = *store_->create("Site", site("www", "www.a.localhost")).object;
  std::atomic<int> won{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      json o = created;
      o["spec"]["hosts"] = {"h" + std::to_string(i) + ".a.localhost"};
      Result r = store_->update("Site", o);
      (r.ok() ? won : conflicts)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
}

TEST_F(StoreTest, HostsAreClaimedByOneSite) {
  ASSERT_TRUE(store_->create("Site", site("www", "www.a.localhost")).ok());
  Result r = store_->create("Site", site("blog", "www.a.localhost"));
  EXPECT_EQ(r.code, Code::kConflict);
  EXPECT_EQ(r.owner_namespace, "team-a");
  EXPECT_FALSE(store_->get("Site", "team-a", "blog"));
  ASSERT_TRUE(store_->remove("Site", "team-a", "www").ok());
  EXPECT_TRUE(store_->create("Site", site("blog", "www.a.localhost")).ok());
}

TEST_F(StoreTest, StatusPatchKeepsSpecAndGeneration) {
  ASSERT_TRUE(store_->create("Site", site("www", "www.a.localhost")).ok());
  ASSERT_TRUE(store_->patch_status("Site", "team-a", "www", {{"revision", 3}, {"x", 1}}).ok());
  ASSERT_TRUE(store_->patch_status("Site", "team-a", "www", {{"x", nullptr}}).ok());
  json o = *store_->get("Site", "team-a", "www");
  EXPECT_EQ(o["status"], json({{"revision", 3}}));
  EXPECT_EQ(o["metadata"]["generation"], 1);
}

TEST_F(StoreTest, UnchangedUpdateMakesNoEvent) {
  json created = *store_->create("Site", site("www", "www.a.localhost")).object;
  int64_t rv = store_->resource_version();
  ASSERT_TRUE(store_->update("Site", created).ok());
  EXPECT_EQ(store_->resource_version(), rv);
}

TEST_F(StoreTest, WatchFeedDeliversEventsInOrderAndWakesWaiters) {
  int64_t start = store_->resource_version();
  std::thread writer([&] {
    usleep(50'000);
    store_->create("Site", site("www", "www.a.localhost"));
    store_->remove("Site", "team-a", "www");
  });
  std::vector<Event> events;
  while (events.size() < 2) {
    auto more = store_->events_since(events.empty() ? start : events.back().resource_version,
                                     std::chrono::seconds(5));
    ASSERT_FALSE(more.empty());
    events.insert(events.end(), more.begin(), more.end());
  }
  writer.join();
  EXPECT_EQ(events[0].type, "ADDED");
  EXPECT_EQ(events[1].type, "DELETED");
  EXPECT_EQ(events[1].name, "www");
  EXPECT_TRUE(events[0].body.empty());
  // The deleted object's last state, at the deletion's version (a watch sends it).
  json last = json::parse(events[1].body);
  EXPECT_EQ(last["metadata"]["name"], "www");
  EXPECT_EQ(last["spec"]["hosts"][0], "www.a.localhost");
  EXPECT_EQ(last["metadata"]["resourceVersion"], std::to_string(events[1].resource_version));
  EXPECT_LE(store_->oldest_event_rv(), events[0].resource_version);
}

TEST_F(StoreTest, DeletedSecretLeavesNothingInTheFeed) {
  json secret = {{"kind", "Secret"},
                 {"metadata", {{"name", "db"}, {"namespace", "team-a"}}},
                 {"spec", {{"data", "ciphertext"}}}};
  ASSERT_TRUE(store_->create("Secret", secret).ok());
  int64_t before = store_->resource_version();
  ASSERT_TRUE(store_->remove("Secret", "team-a", "db").ok());
  auto events = store_->events_since(before, std::chrono::milliseconds(0));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "DELETED");
  EXPECT_EQ(events[0].body, "");
}

TEST_F(StoreTest, DataSurvivesReopen) {
  ASSERT_TRUE(store_->create("Site", site("www", "www.a.localhost")).ok());
  json o = *store_->get("Site", "team-a", "www");
  std::string uid = o["metadata"]["uid"];
  int64_t n = store_->add_revision(uid, "team-a", "www",
                                   Revision{0, 1, "abc", "{}", "", "Pending", "", "", "/x", false});
  store_.reset();
  store_ = reopen();
  EXPECT_EQ(store_->fail_pending_revisions(), 1);
  auto rev = store_->revision(uid, n);
  ASSERT_TRUE(rev);
  EXPECT_EQ(rev->outcome, "Failed");
  EXPECT_TRUE(store_->get("Site", "team-a", "www"));
}

TEST_F(StoreTest, RevisionsAndLive) {
  std::string uid = "u1";
  int64_t a = store_->add_revision(uid, "p", "s",
                                   Revision{0, 1, "c1", "{}", "", "Pending", "", "", "/r1", false});
  store_->finish_revision(uid, a, "Deployed", "", "log", true);
  int64_t b = store_->add_revision(uid, "p", "s",
                                   Revision{0, 2, "c2", "{}", "", "Pending", "", "", "/r2", false});
  store_->finish_revision(uid, b, "Deployed", "", "", true);
  EXPECT_EQ(store_->live_revision(uid)->number, b);
  auto all = store_->revisions(uid);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].number, 2);
  EXPECT_FALSE(all[1].live);
}

TEST_F(StoreTest, TokensAreFoundByHash) {
  EXPECT_FALSE(store_->has_admin_token());
  store_->add_token("admin", "h1", true);
  EXPECT_TRUE(store_->has_admin_token());
  EXPECT_EQ(store_->find_token("h1")->user, "admin");
  EXPECT_FALSE(store_->find_token("h2"));
}

// The store holds token hashes: only its owner reads it, from the moment it exists.
TEST_F(StoreTest, DatabaseAndItsWalAreOnlyTheOwners) {
  store_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directory(dir_);
  mode_t old_umask = ::umask(022);
  store_ = reopen();
  ::umask(old_umask);
  ASSERT_TRUE(store_);
  store_->add_token("admin", "h1", true);
  for (const char* name : {"/wok.db", "/wok.db-wal", "/wok.db-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
}

TEST_F(StoreTest, AWiderDatabaseIsNarrowedWhenOpened) {
  store_->add_token("admin", "h1", true);
  store_.reset();
  ASSERT_EQ(::chmod((dir_ + "/wok.db").c_str(), 0644), 0);
  store_ = reopen();
  ASSERT_TRUE(store_);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/wok.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(store_->has_admin_token());
}

TEST_F(StoreTest, ASymlinkInPlaceOfTheDatabaseIsRefused) {
  store_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directory(dir_);
  std::string target = dir_ + "/elsewhere";
  ASSERT_EQ(::symlink(target.c_str(), (dir_ + "/wok.db").c_str()), 0);
  std::string error;
  EXPECT_FALSE(Store::open(dir_ + "/wok.db", &error));
  EXPECT_NE(error.find("wok.db"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists(target));
}

// Two project names the old name hash maps to the same uid (found by brute
// force: about a thousand names give a collision in 900,000 values).
std::pair<std::string, std::string> colliding_names() {
  std::map<uint32_t, std::string> seen;
  for (int i = 0;; ++i) {
    std::string name = "team-" + std::to_string(i);
    auto [it, fresh] = seen.emplace(hashed_uid(name), name);
    if (!fresh) return {it->second, name};
  }
}

json project(const std::string& name) {
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "Project"},
          {"metadata", {{"name", name}}},
          {"spec", {{"hosts", {"*." + name + ".localhost"}}}}};
}

TEST_F(StoreTest, ProjectsWhoseNamesCollideGetDifferentUids) {
  auto [a, b] = colliding_names();
  ASSERT_EQ(hashed_uid(a), hashed_uid(b));
  ASSERT_TRUE(store_->create("Project", project(a)).ok());
  ASSERT_TRUE(store_->create("Project", project(b)).ok());
  uint32_t ua = store_->project_uid(a), ub = store_->project_uid(b);
  EXPECT_EQ(
      ua,
      hashed_uid(a));  // the first keeps the hash (a project of an older wok keeps its files' uid)
  EXPECT_NE(ua, ub);
  EXPECT_GE(ub, kFirstSandboxUid);
  EXPECT_LT(ub, kFirstSandboxUid + kSandboxUids);
  store_ = reopen();
  EXPECT_EQ(store_->project_uid(a), ua);
  EXPECT_EQ(store_->project_uid(b), ub);
}

TEST_F(StoreTest, AProjectOfAnOlderStoreGetsItsUidWhenFirstAsked) {
  uint32_t uid = store_->project_uid("team-a");
  EXPECT_EQ(uid, hashed_uid("team-a"));
  EXPECT_EQ(store_->project_uid("team-a"), uid);
  EXPECT_NE(store_->project_uid("team-b"), uid);
}

TEST_F(StoreTest, ADeletedProjectsUidIsNeverHandedOutAgain) {
  ASSERT_TRUE(store_->create("Project", project("team-a")).ok());
  uint32_t first = store_->project_uid("team-a");
  ASSERT_NE(first, 0u);
  ASSERT_TRUE(store_->remove("Project", "", "team-a").ok());
  // Created again: another project as far as its files go.
  ASSERT_TRUE(store_->create("Project", project("team-a")).ok());
  uint32_t second = store_->project_uid("team-a");
  EXPECT_NE(second, first);
  // Nor does any other project whose name hashes there get it.
  std::string other;
  for (int i = 0; other.empty(); ++i) {
    std::string name = "p" + std::to_string(i);
    if (hashed_uid(name) == first) other = name;
    ASSERT_LT(i, 100000000);
  }
  EXPECT_NE(store_->project_uid(other), first);
}

TEST_F(StoreTest, UidProbingWrapsAroundAndRunsOutClearly) {
  // Every uid retired but one below the hash of "late": it gets that one.
  uint32_t free_uid = kFirstSandboxUid + 7;
  ASSERT_LT(free_uid, hashed_uid("late"));
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/wok.db").c_str(), &db), SQLITE_OK);
  std::string fill =
      "WITH RECURSIVE n(u) AS (SELECT " + std::to_string(kFirstSandboxUid) +
      " UNION ALL SELECT u + 1 FROM n WHERE u < " +
      std::to_string(kFirstSandboxUid + kSandboxUids - 1) +
      ") INSERT INTO project_uids SELECT u, NULL, '' FROM n WHERE u != " + std::to_string(free_uid);
  ASSERT_EQ(sqlite3_exec(db, fill.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  store_ = reopen();
  EXPECT_EQ(store_->project_uid("late"), free_uid);
  EXPECT_EQ(store_->project_uid("later"), 0u);
  EXPECT_FALSE(store_->create("Project", project("later")).ok());
  EXPECT_EQ(store_->project_uid("late"), free_uid);
}

json project_with_hosts(const std::string& name, std::vector<std::string> hosts) {
  json p = project(name);
  p["spec"]["hosts"] = hosts;
  return p;
}

TEST_F(StoreTest, ShrinkingAProjectsHostsReleasesThemAndWideningClaimsThemBack) {
  ASSERT_TRUE(store_
                  ->create("Project",
                           project_with_hosts("team-a", {"*.team-a.localhost", "www.old.example"}))
                  .ok());
  json www = site("www", "www.team-a.localhost");
  www["spec"]["hosts"] = {"www.team-a.localhost", "www.old.example"};
  ASSERT_TRUE(store_->create("Site", www).ok());
  EXPECT_EQ(store_->routable_hosts("team-a", "www"),
            (std::vector<std::string>{"www.team-a.localhost", "www.old.example"}));

  ASSERT_TRUE(store_->update("Project", project_with_hosts("team-a", {"*.team-a.localhost"})).ok());
  std::vector<std::string> refused;
  EXPECT_EQ(store_->routable_hosts("team-a", "www", &refused),
            (std::vector<std::string>{"www.team-a.localhost"}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(
      refused[0],
      "host www.old.example is no longer allowed by project team-a's hosts (*.team-a.localhost)");

  // Released: a project the admin gave the host to may claim it.
  ASSERT_TRUE(store_->create("Project", project_with_hosts("team-b", {"www.old.example"})).ok());
  json other = site("old", "www.old.example");
  other["metadata"]["namespace"] = "team-b";
  ASSERT_TRUE(store_->create("Site", other).ok()) << "the host stayed claimed by team-a's site";
  // Given back to team-a while team-b holds it: team-a does not take it.
  ASSERT_TRUE(store_
                  ->update("Project",
                           project_with_hosts("team-a", {"*.team-a.localhost", "www.old.example"}))
                  .ok());
  refused.clear();
  EXPECT_EQ(store_->routable_hosts("team-a", "www", &refused),
            (std::vector<std::string>{"www.team-a.localhost"}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0], "host www.old.example is now served by another site");
  // Once free, it is team-a's again.
  ASSERT_TRUE(store_->remove("Site", "team-b", "old").ok());
  EXPECT_EQ(store_->routable_hosts("team-a", "www"),
            (std::vector<std::string>{"www.team-a.localhost", "www.old.example"}));
  EXPECT_EQ(store_->create("Site", other).code, Code::kConflict);
}

TEST_F(StoreTest, RefusedHostsNamesEachHostThePatternsDoNotAllow) {
  json p = project_with_hosts("team-a", {"*.team-a.localhost", "exact.example"});
  json spec = {
      {"hosts", {"a.team-a.localhost", "b.c.team-a.localhost", "exact.example", "other.example"}}};
  auto refused = refused_hosts(spec, p);
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].index, 1u);
  EXPECT_EQ(refused[0].host, "b.c.team-a.localhost");
  EXPECT_EQ(refused[1].host, "other.example");
  EXPECT_EQ(host_patterns(p), "*.team-a.localhost, exact.example");
}

// store/site_events.h: what happened to a site, counted up, bounded, cleaned.
TEST_F(StoreTest, SiteEventsCountUpAreBoundedPerProjectAndCleaned) {
  json www = *store_->create("Site", site("www", "www.a.localhost")).object;
  store::record_event(*store_, www, {"Normal", "Deployed", "revision 1 serves commit abc"});
  store::record_event(*store_, www, {"Warning", "Restarted", "instance x exited with code 1"});
  store::record_event(*store_, www, {"Warning", "Restarted", "instance x exited with code 1"});
  auto events = store_->list("Event", "team-a");
  ASSERT_EQ(events.size(), 2u);
  json restarted;
  for (const auto& e : events)
    if (e["reason"] == "Restarted") restarted = e;
  EXPECT_EQ(restarted["count"], 2);
  EXPECT_EQ(restarted["type"], "Warning");
  EXPECT_EQ(restarted["involvedObject"]["name"], "www");
  EXPECT_EQ(restarted["involvedObject"]["uid"], www["metadata"]["uid"]);

  // A message from a tenant's build or crash: no terminal escapes, bounded.
  std::string hostile = "\x1b]0;pwned\x07" + std::string(5000, 'x') + "\xff";
  store::record_event(*store_, www, {"Warning", "RevisionFailed", hostile});
  for (const auto& e : store_->list("Event", "team-a")) {
    if (e["reason"] != "RevisionFailed") continue;
    std::string m = e["message"];
    EXPECT_LE(m.size(), store::kMaxEventMessage);
    EXPECT_EQ(m.find('\x1b'), std::string::npos);
    EXPECT_EQ(m.find('\x07'), std::string::npos);
  }
  EXPECT_EQ(store::clean_event_message("caf\xc3\xa9 \xff\n"), "caf\xc3\xa9 ? ");

  // A crash loop with ever new words cannot grow a project's events past the bound.
  for (size_t i = 0; i < store::kMaxEventsPerProject + 20; ++i)
    store::record_event(*store_, www, {"Warning", "Restarted", "exit " + std::to_string(i)});
  EXPECT_EQ(static_cast<size_t>(store_->count("Event", "team-a")), store::kMaxEventsPerProject);

  // About a site deleted meanwhile (a pass under way when it went): nothing.
  size_t before = static_cast<size_t>(store_->count("Event", "team-a"));
  ASSERT_TRUE(store_->remove("Site", "team-a", "www").ok());
  store::record_event(*store_, www, {"Normal", "Deployed", "too late"});
  EXPECT_EQ(static_cast<size_t>(store_->count("Event", "team-a")), before);

  // Retention: nothing is older than an hour yet; everything is older than "5 s from now".
  EXPECT_EQ(store::prune_events(*store_, std::chrono::hours(1)), 0u);
  EXPECT_EQ(store::prune_events(*store_, std::chrono::seconds(-5)), store::kMaxEventsPerProject);
  EXPECT_EQ(store_->count("Event", "team-a"), 0);
}

}  // namespace
}  // namespace wok::store
