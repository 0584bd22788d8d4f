// Why each revision was made (rollout history's CAUSE), and the migration
// that gives revisions of an older wok's database a cause too.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "store/store.h"

namespace wok::store {
namespace {

Revision revision(int64_t number, const std::string& commit, const std::string& spec,
                  const std::string& outcome = "Deployed", const std::string& message = "") {
  Revision r;
  r.number = number;
  r.commit = commit;
  r.spec = spec;
  r.outcome = outcome;
  r.message = message;
  return r;
}

TEST(ChangeCauseTest, NamesWhatChangedSinceTheNewestEarlierRevision) {
  EXPECT_EQ(change_cause({}, 1, "aaaaaaa111", "{}", 0), "created (generation 1)");
  std::vector<Revision> earlier = {revision(2, "bbbbbbb222", "{\"v\":2}"),
                                   revision(1, "aaaaaaa111", "{\"v\":1}")};
  EXPECT_EQ(change_cause(earlier, 3, "bbbbbbb222", "{\"v\":3}", 0),
            "apply: spec changed (generation 3)");
  EXPECT_EQ(change_cause(earlier, 3, "ccccccc333", "{\"v\":3}", 0),
            "apply: spec changed (generation 3), commit ccccccc");
  EXPECT_EQ(change_cause(earlier, 2, "ccccccc333", "{\"v\":2}", 0),
            "fetch: commit ccccccc (was bbbbbbb)");
  EXPECT_EQ(change_cause(earlier, 4, "aaaaaaa111", "{\"v\":1}", 1), "rollout undo to 1");
  // A pin whose spec is no longer the site's (applied since) is no undo.
  EXPECT_EQ(change_cause(earlier, 5, "aaaaaaa111", "{\"v\":5}", 1),
            "apply: spec changed (generation 5), commit aaaaaaa");
  std::vector<Revision> failed = {
      revision(2, "bbbbbbb222", "{\"v\":2}", "Failed", "build: exit status 1")};
  EXPECT_EQ(change_cause(failed, 2, "bbbbbbb222", "{\"v\":2}", 0),
            "refresh: retry after revision 2 failed");
  std::vector<Revision> interrupted = {revision(2, "bbbbbbb222", "{\"v\":2}", "Failed",
                                                "interrupted: wok stopped during the deploy")};
  EXPECT_EQ(change_cause(interrupted, 2, "bbbbbbb222", "{\"v\":2}", 0),
            "retry: revision 2 was interrupted");
  EXPECT_EQ(change_cause(earlier, 2, "bbbbbbb222", "{\"v\":2}", 0),
            "redeploy: same spec and commit as revision 2");
}

class RevisionCauseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-cause-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RevisionCauseStoreTest, ACauseIsStoredWithTheRevision) {
  std::string error;
  auto store = Store::open(dir_ + "/wok.db", &error);
  ASSERT_TRUE(store) << error;
  Revision r = revision(0, "aaaaaaa111", "{}", "Pending");
  r.cause = "fetch: commit aaaaaaa (was 0c0ffee)";
  int64_t n = store->add_revision("uid-1", "team-a", "www", r);
  ASSERT_EQ(store->revision("uid-1", n)->cause, "fetch: commit aaaaaaa (was 0c0ffee)");
  store->finish_revision("uid-1", n, "Deployed", "", "", true, "/srv/r1");
  EXPECT_EQ(store->live_revision("uid-1")->cause, "fetch: commit aaaaaaa (was 0c0ffee)");
}

// A database of a wok without causes: the column is added and filled in, and
// the store goes on working with it.
TEST_F(RevisionCauseStoreTest, AnOlderDatabaseGetsCausesForItsRevisions) {
  std::string path = dir_ + "/wok.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* old_schema = R"sql(
CREATE TABLE revisions(
  site_uid TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, number INTEGER NOT NULL,
  generation INTEGER NOT NULL, commit_id TEXT NOT NULL, spec TEXT NOT NULL,
  created_at TEXT NOT NULL, outcome TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
  log TEXT NOT NULL DEFAULT '', root TEXT NOT NULL DEFAULT '', live INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(site_uid, number));
INSERT INTO revisions VALUES('u', 'team-a', 'www', 1, 1, 'aaaaaaa111', '{"v":1}', 't', 'Deployed', '', '', '/r1', 0);
INSERT INTO revisions VALUES('u', 'team-a', 'www', 2, 1, 'bbbbbbb222', '{"v":1}', 't', 'Failed', 'build failed', 'oops', '', 0);
INSERT INTO revisions VALUES('u', 'team-a', 'www', 3, 2, 'bbbbbbb222', '{"v":2}', 't', 'Deployed', '', '', '/r3', 1);
INSERT INTO revisions VALUES('v', 'team-a', 'blog', 1, 1, 'ccccccc333', '{}', 't', 'Deployed', '', '', '/b1', 1);
)sql";
  ASSERT_EQ(sqlite3_exec(db, old_schema, nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);

  std::string error;
  auto store = Store::open(path, &error);
  ASSERT_TRUE(store) << error;
  auto all = store->revisions("u");  // newest first
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].cause, "created (generation 1)");
  EXPECT_EQ(all[1].cause, "fetch: commit bbbbbbb (was aaaaaaa)");
  EXPECT_EQ(all[0].cause, "apply: spec changed (generation 2)");
  EXPECT_EQ(all[0].log, "");
  EXPECT_EQ(all[1].log, "oops");
  EXPECT_TRUE(all[0].live);
  EXPECT_EQ(store->revisions("v")[0].cause, "created (generation 1)");
  Revision next = revision(0, "ddddddd444", "{\"v\":2}", "Pending");
  next.cause = "fetch: commit ddddddd (was bbbbbbb)";
  EXPECT_EQ(store->add_revision("u", "team-a", "www", next), 4);
  EXPECT_EQ(store->revision("u", 4)->cause, "fetch: commit ddddddd (was bbbbbbb)");
  store.reset();
  store = Store::open(path, &error);  // opened again: migrated once, nothing changes
  ASSERT_TRUE(store) << error;
  EXPECT_EQ(store->revisions("u")[3].cause, "created (generation 1)");
}

}  // namespace
}  // namespace wok::store
