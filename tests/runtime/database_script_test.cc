// The PostgreSQL start script's upgrade (runtime/database.h), run by sh on
// a directory standing for the volume, with stand-ins for initdb, postgres
// and pg_upgrade of two versions: every place a kill -9 can leave it.
// test_database.py's DatabaseUpgradeTest runs the real servers.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/database.h"
#include "support/read_file.h"
#include "support/temp_dir.h"

namespace wok::runtime {
namespace {

namespace fs = std::filesystem;

using test_support::read_file;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

class PostgresStartScript : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"13", "15"}) {
      const fs::path bin = root_ / "pg" / v / "bin";
      const std::string log = "echo \"$(basename \"$0\") " + std::string(v) + " $*\" >> " +
                              (root_ / "calls").string() + "\n";
      // initdb -D DIR ...: a data directory of its version.
      write(bin / "initdb",
            "set -eu\n" + log + "mkdir -p \"$2\"; echo " + v + " > \"$2/PG_VERSION\"\n");
      write(bin / "postgres", "set -eu\n" + log + "cat > /dev/null\n");
      // pg_upgrade -b OLD -B NEW -d OLDDATA -D NEWDATA: the rows copied.
      write(bin / "pg_upgrade", "set -eu\n" + log + "[ ! -e " + (root_ / "fail").string() +
                                    " ] || exit 1\ncp \"$6/rows\" \"$8/rows\"\n");
      for (const char* tool : {"initdb", "postgres", "pg_upgrade"})
        fs::permissions(bin / tool, fs::perms::owner_all);
    }
    write(root_ / "etc" / "create.sql", "");
    write(root_ / "etc" / "init.sql", "");
    fs::create_directories(root_ / "vol");
  }

  // Runs the start script of `version`; its exit code, stderr in *err.
  int start(const std::string& version, std::string* err = nullptr) {
    DatabaseServer db{"postgresql", 5432, "blog", "blog", "pw", 512ll << 20, version};
    InstanceSpec spec;
    std::string error;
    EXPECT_TRUE(configure_database(db, &spec, &error)) << error;
    std::string script = spec.files["start.sh"];
    script = replace_all(script, kDatabaseMount, (root_ / "vol").string());
    script = replace_all(script, "/usr/lib/postgresql/", (root_ / "pg").string() + "/");
    script = replace_all(script, "/etc/wok/", (root_ / "etc").string() + "/");
    write(root_ / "start.sh", script);
    fs::remove(root_ / "calls");
    const std::string cmd = "sh " + (root_ / "start.sh").string() + " < /dev/null > /dev/null 2> " +
                            (root_ / "stderr").string();
    int status = std::system(cmd.c_str());
    if (err) *err = read_file(root_ / "stderr");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path data(const std::string& name = "data") { return root_ / "vol" / name; }
  std::string calls() { return read_file(root_ / "calls"); }

  // Data of `version` holding `rows`, as a server of it left it.
  void make_data(const std::string& name, const std::string& version, const std::string& rows) {
    write(data(name) / "PG_VERSION", version + "\n");
    write(data(name) / "rows", rows);
  }

  void expect_only_data() {
    for (const char* left : {"data.new", "data.old", "data.upgraded", "upgrade"})
      EXPECT_FALSE(fs::exists(data(left))) << left;
  }

  test_support::TempDir dir_{"wok-pg-script"};
  const fs::path root_ = dir_.path;
};

TEST_F(PostgresStartScript, UpgradesOlderDataIntoACopySwappedInOnceComplete) {
  ASSERT_EQ(start("13"), 0);
  EXPECT_EQ(read_file(data() / "PG_VERSION"), "13\n");
  write(data() / "rows", "written on 13");
  std::string err;
  ASSERT_EQ(start("15", &err), 0) << err;
  EXPECT_EQ(read_file(data() / "PG_VERSION"), "15\n");
  EXPECT_EQ(read_file(data() / "rows"), "written on 13");
  expect_only_data();
  // The old data shut down cleanly first (a single-user run of 13), then
  // pg_upgrade of 15 from 13's binaries.
  const std::string log = calls();
  EXPECT_NE(log.find("postgres 13 --single -D " + data().string()), std::string::npos) << log;
  EXPECT_NE(log.find("pg_upgrade 15 -b " + (root_ / "pg" / "13" / "bin").string() + " -B " +
                     (root_ / "pg" / "15" / "bin").string()),
            std::string::npos)
      << log;
  EXPECT_NE(err.find("upgraded the data to PostgreSQL 15"), std::string::npos) << err;
  // Started again: nothing more to do.
  ASSERT_EQ(start("15"), 0);
  EXPECT_EQ(calls().find("pg_upgrade"), std::string::npos);
}

TEST_F(PostgresStartScript, AFailedUpgradeLeavesTheOldDataWhole) {
  make_data("data", "13", "written on 13");
  write(root_ / "fail", "");
  EXPECT_NE(start("15"), 0);
  EXPECT_EQ(read_file(data() / "PG_VERSION"), "13\n");
  EXPECT_EQ(read_file(data() / "rows"), "written on 13");
  EXPECT_FALSE(fs::exists(data("data.upgraded")));
  // The next start, the cause gone, begins again from the whole old data.
  fs::remove(root_ / "fail");
  ASSERT_EQ(start("15"), 0);
  EXPECT_EQ(read_file(data() / "PG_VERSION"), "15\n");
  expect_only_data();
}

TEST_F(PostgresStartScript, ACompleteCopyCutShortBeforeItsSwapIsSwappedInByTheNextStart) {
  make_data("data", "13", "old");
  make_data("data.upgraded", "15", "upgraded");
  ASSERT_EQ(start("15"), 0);
  EXPECT_EQ(read_file(data() / "rows"), "upgraded");
  EXPECT_EQ(calls().find("pg_upgrade"), std::string::npos);
  expect_only_data();
  // Between the two renames: the old data set aside, the copy not yet in place.
  fs::remove_all(data());
  make_data("data.old", "13", "old");
  make_data("data.upgraded", "15", "upgraded");
  ASSERT_EQ(start("15"), 0);
  EXPECT_EQ(read_file(data() / "rows"), "upgraded");
  expect_only_data();
}

TEST_F(PostgresStartScript, ACopyIsDroppedWhenTheSpecWentBackAndNewerDataRunsOnItsOwnVersion) {
  make_data("data", "13", "old");
  make_data("data.upgraded", "15", "upgraded");
  ASSERT_EQ(start("13"), 0);
  EXPECT_EQ(read_file(data() / "rows"), "old");
  EXPECT_EQ(read_file(data() / "PG_VERSION"), "13\n");
  expect_only_data();
  // Newer data (its upgrade deployed, then the revision failed and the one
  // before it, naming 13, runs again): 15 runs it, untouched.
  fs::remove_all(data());
  make_data("data", "15", "new");
  std::string err;
  EXPECT_EQ(start("13", &err), 0) << err;
  EXPECT_NE(err.find("the data is PostgreSQL 15's: 15 runs it (this revision names 13; a database "
                     "is never downgraded)"),
            std::string::npos)
      << err;
  EXPECT_NE(calls().find("postgres 15 -D " + data().string()), std::string::npos) << calls();
  EXPECT_EQ(calls().find("postgres 13"), std::string::npos) << calls();
  EXPECT_EQ(calls().find("initdb"), std::string::npos) << calls();
  EXPECT_EQ(read_file(data() / "rows"), "new");
  EXPECT_EQ(read_file(data() / "PG_VERSION"), "15\n");
  // Without 15 on the host: said, not touched.
  fs::rename(root_ / "pg" / "15", root_ / "pg" / "15.away");
  EXPECT_NE(start("13", &err), 0);
  EXPECT_NE(err.find("error: the data is PostgreSQL 15's, which this platform no longer has, and a "
                     "database is never downgraded to 13"),
            std::string::npos)
      << err;
  fs::rename(root_ / "pg" / "15.away", root_ / "pg" / "15");
  EXPECT_EQ(read_file(data() / "rows"), "new");
  // Data of a version the host no longer has: said, not touched.
  fs::remove_all(data());
  make_data("data", "12", "ancient");
  EXPECT_NE(start("15", &err), 0);
  EXPECT_NE(err.find("the data is PostgreSQL 12's, which this platform no longer has"),
            std::string::npos)
      << err;
  EXPECT_EQ(read_file(data() / "rows"), "ancient");
}

TEST_F(PostgresStartScript, AVersionThatIsNoNumberIsRefused) {
  DatabaseServer db{"postgresql", 5432, "blog", "blog", "pw", 512ll << 20, "15; rm -rf /"};
  InstanceSpec spec;
  std::string error;
  EXPECT_FALSE(configure_database(db, &spec, &error));
  EXPECT_EQ(error, "database version \"15; rm -rf /\" is not a version");
  db.version = "";  // the plan always names one
  EXPECT_FALSE(configure_database(db, &spec, &error));
  EXPECT_EQ(error, "database version \"\" is not a version");
}

}  // namespace
}  // namespace wok::runtime
