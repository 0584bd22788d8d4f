// Tokens at rest: only hashes, each with a name and its last use; revoking
// by name; a database of an older wok gets names for its tokens.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "store/store.h"

namespace wok::store {
namespace {

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-tokens-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> open() {
    std::string error;
    auto s = Store::open(dir_ + "/wok.db", &error);
    EXPECT_TRUE(s) << error;
    return s;
  }
  std::string dir_;
};

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

TEST_F(TokenStoreTest, NamedListedUsedAndRevoked) {
  auto store = open();
  store->add_token("admin", kHashA, true);
  store->add_token("alice", kHashB, false, "alice-laptop");
  auto tokens = store->tokens();
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].name, "admin-aaaaaaaa");
  EXPECT_TRUE(tokens[0].platform_admin);
  EXPECT_EQ(tokens[1].name, "alice-laptop");
  EXPECT_EQ(tokens[1].user, "alice");
  EXPECT_EQ(tokens[1].last_used, "");
  EXPECT_FALSE(tokens[1].created_at.empty());
  EXPECT_TRUE(store->token_name_taken("alice-laptop"));

  ASSERT_TRUE(store->find_token(kHashB));
  EXPECT_FALSE(store->tokens()[1].last_used.empty());

  EXPECT_FALSE(store->revoke_token("admin-aaaaaaaa"));  // never the platform admin's
  EXPECT_FALSE(store->revoke_token("nobody"));
  EXPECT_TRUE(store->revoke_token("alice-laptop"));
  EXPECT_FALSE(store->find_token(kHashB));
  EXPECT_TRUE(store->find_token(kHashA));
}

// A database of a wok before token names: its tokens keep working, named
// USER-HASHPREFIX.
TEST_F(TokenStoreTest, OlderDatabasesTokensGetNames) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/wok.db").c_str(), &db), SQLITE_OK);
    std::string sql =
        "CREATE TABLE tokens(hash TEXT PRIMARY KEY, user TEXT NOT NULL, platform_admin INTEGER NOT "
        "NULL, "
        "created_at TEXT NOT NULL); INSERT INTO tokens VALUES('" +
        kHashB + "', 'bob', 0, '2026-01-01T00:00:00Z');";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = open();
  auto tokens = store->tokens();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].name, "bob-bbbbbbbb");
  EXPECT_EQ(store->find_token(kHashB)->user, "bob");
  EXPECT_TRUE(store->revoke_token("bob-bbbbbbbb"));
}

}  // namespace
}  // namespace wok::store
