// A Redis service's backup on wok up is a snapshot (`redis-cli --rdb`);
// its restore makes it the append-only files of the server that
// configure_database runs (runtime/database.h: redis_aof_from_snapshot).
// Run against Debian's redis-server, on a unix socket, with the config
// wok writes (its dir and its TCP port the test's own).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/unique_fd.h"
#include "runtime/database.h"
#include "support/read_file.h"
#include "support/temp_dir.h"

namespace wok::runtime {
namespace {

namespace fs = std::filesystem;

using test_support::read_file;

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

bool have(const char* program) {
  return std::system(("command -v " + std::string(program) + " >/dev/null 2>&1").c_str()) == 0;
}

// The output of `command` (sh), its exit status in *status.
std::string sh(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) out.append(buffer, n);
  const int st = ::pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class RedisSnapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have("redis-server") || !have("redis-cli"))
      GTEST_SKIP() << "needs Debian's redis-server and redis-cli";
    InstanceSpec spec;
    std::string error;
    ASSERT_TRUE(configure_database({"redis", 6379, "", "", "secret-password-1", 64ll << 20, ""},
                                   &spec, &error))
        << error;
    config_ = spec.files["redis.conf"];
  }
  void TearDown() override {
    for (const auto& pidfile : pidfiles_)
      if (const int pid = std::atoi(read_file(pidfile).c_str()); pid > 0) ::kill(pid, SIGKILL);
  }

  // wok's redis.conf, run in `dir` on a unix socket; the socket's path.
  std::string start(const fs::path& dir) {
    std::string conf = replace(config_, "dir /var/lib/wok-db", "dir " + dir.string());
    const std::string socket = (dir.parent_path() / (dir.filename().string() + ".sock")).string();
    conf = replace(conf, "port 6379", "port 0\nunixsocket " + socket);
    conf = replace(conf, "daemonize no", "daemonize yes");
    conf = replace(conf, "logfile \"\"", "logfile " + dir.string() + ".log");
    std::ofstream(dir.string() + ".conf") << conf << "pidfile " << dir.string() << ".pid\n";
    int status = -1;
    sh("redis-server " + dir.string() + ".conf", &status);
    EXPECT_EQ(status, 0) << read_file(dir.string() + ".log");
    pidfiles_.push_back(dir.string() + ".pid");
    for (int i = 0; i < 200 && cli(socket, "ping") != "PONG"; ++i) ::usleep(20000);
    EXPECT_EQ(cli(socket, "ping"), "PONG") << read_file(dir.string() + ".log");
    return socket;
  }
  std::string cli(const std::string& socket, const std::string& command) {
    return sh("REDISCLI_AUTH=secret-password-1 redis-cli --no-auth-warning -s " + socket + " " +
              command + " 2>&1");
  }

  test_support::TempDir tmp_;
  std::string config_;
  std::vector<std::string> pidfiles_;
};

TEST_F(RedisSnapshot, ASnapshotBecomesTheAppendOnlyFilesTheServerStartsFrom) {
  const fs::path live = tmp_.path / "live", restored = tmp_.path / "restored";
  fs::create_directories(live);
  fs::create_directories(restored);
  const std::string a = start(live);
  ASSERT_EQ(cli(a, "set k one"), "OK");
  ASSERT_EQ(cli(a, "-n 3 rpush list x y z"), "3");
  // As the backup's job takes it: on stdout.
  int status = -1;
  sh("REDISCLI_AUTH=secret-password-1 redis-cli --no-auth-warning -s " + a + " --rdb - > " +
         (restored / "dump.rdb").string() + " 2>/dev/null",
     &status);
  ASSERT_EQ(status, 0);
  ASSERT_EQ(cli(a, "set k two"), "OK");  // after the snapshot: not in it
  // On stdout it ends with the diskless transfer's mark; trimmed, it is
  // the RDB file redis-cli writes into a file of its own.
  sh("REDISCLI_AUTH=secret-password-1 redis-cli --no-auth-warning -s " + a + " --rdb " +
         (tmp_.path / "direct.rdb").string() + " >/dev/null 2>&1",
     &status);
  ASSERT_EQ(status, 0);
  const auto marked = fs::file_size(restored / "dump.rdb");
  {
    base::UniqueFd fd(::open((restored / "dump.rdb").c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_EQ(trim_redis_snapshot(fd.get()), "");
  }
  EXPECT_EQ(fs::file_size(restored / "dump.rdb"), marked - 40);
  EXPECT_EQ(fs::file_size(restored / "dump.rdb"), fs::file_size(tmp_.path / "direct.rdb"));
  {
    // A file without the mark is left as it is.
    base::UniqueFd fd(::open((tmp_.path / "direct.rdb").c_str(), O_RDWR | O_CLOEXEC));
    const auto size = fs::file_size(tmp_.path / "direct.rdb");
    ASSERT_EQ(trim_redis_snapshot(fd.get()), "");
    EXPECT_EQ(fs::file_size(tmp_.path / "direct.rdb"), size);
  }

  ASSERT_EQ(redis_aof_from_snapshot(restored.string()), "");
  EXPECT_FALSE(fs::exists(restored / "dump.rdb"));
  EXPECT_TRUE(fs::is_regular_file(restored / "appendonlydir" / "appendonly.aof.1.base.rdb"));
  const std::string b = start(restored);
  EXPECT_EQ(cli(b, "get k"), "one");
  EXPECT_EQ(cli(b, "-n 3 lrange list 0 -1"), "x\ny\nz");
  // Written after the restore and kept across a restart: the server goes
  // on appending to the files it started from.
  ASSERT_EQ(cli(b, "set later yes"), "OK");
  cli(b, "shutdown");
  for (int i = 0; i < 500 && fs::exists(b); ++i) ::usleep(20000);  // gone with the server
  const std::string c = start(restored);
  EXPECT_EQ(cli(c, "mget k later"), "one\nyes");
}

TEST_F(RedisSnapshot, WhatIsNoSnapshotIsRefused) {
  const fs::path d = tmp_.path / "d";
  fs::create_directories(d);
  std::ofstream(d / "error.txt") << "Error: Server closed the connection\n";
  {
    base::UniqueFd fd(::open((d / "error.txt").c_str(), O_RDWR | O_CLOEXEC));
    EXPECT_EQ(trim_redis_snapshot(fd.get()), "the server's snapshot is no RDB file");
  }
  fs::remove(d / "error.txt");
  EXPECT_EQ(redis_aof_from_snapshot(d.string()), "the backup's Redis snapshot dump.rdb is missing");
  fs::create_symlink("/etc/passwd", d / "dump.rdb");
  EXPECT_EQ(redis_aof_from_snapshot(d.string()), "the backup's Redis snapshot dump.rdb is missing");
  fs::remove(d / "dump.rdb");
  std::ofstream(d / "dump.rdb") << "REDIS";
  fs::create_directories(d / "appendonlydir");
  EXPECT_EQ(redis_aof_from_snapshot(d.string()),
            "the backup holds both a Redis snapshot and an append-only directory");
  EXPECT_TRUE(fs::exists(d / "dump.rdb"));
}

}  // namespace
}  // namespace wok::runtime
