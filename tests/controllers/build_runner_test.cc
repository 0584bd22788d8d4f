#include "controllers/build_runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace wok::controllers {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace std::string_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "wok-build-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? fs::canonical(tmpl) : fs::path();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Dead, or a zombie waiting for a reaper that is not us (orphans go to PID 1,
// which in a container may never reap them).
bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(") ");
  return paren != std::string::npos && stat[paren + 2] == 'Z';
}

bool eventually_gone(pid_t pid) {
  for (int i = 0; i < 300; ++i) {
    if (process_gone(pid)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

pid_t read_pid(const fs::path& file) {
  const std::string text = read_file(file);
  return text.empty() ? -1 : static_cast<pid_t>(std::stol(text));
}

class BuildRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(tmp_.path().empty()); }

  // Every test ends with no child of ours left, running or zombie.
  void TearDown() override {
    errno = 0;
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }

  BuildOptions shell(const std::string& script) {
    BuildOptions options;
    options.command = {"sh", "-c", script};
    options.working_dir = tmp_.path().string();
    options.timeout = 30s;
    return options;
  }

  TempDir tmp_;
};

TEST_F(BuildRunnerTest, SuccessCapturesStdoutAndStderrTogether) {
  BuildResult result = run_build(shell("echo out; echo err >&2; echo again"));
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.output, "out\nerr\nagain\n");
}

TEST_F(BuildRunnerTest, RunsInWorkingDirectoryWithStdinClosed) {
  BuildResult result = run_build(shell("pwd; cat; echo end"));
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, tmp_.path().string() + "\nend\n");
}

TEST_F(BuildRunnerTest, NonZeroExit) {
  BuildResult result = run_build(shell("echo failing; exit 3"));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.error, "build exited with status 3");
  EXPECT_EQ(result.output, "failing\n");
}

TEST_F(BuildRunnerTest, KilledBySignal) {
  BuildResult result = run_build(shell("kill -9 $$"));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_EQ(result.error, "build killed by signal 9");
}

TEST_F(BuildRunnerTest, CommandNotFound) {
  for (const std::string& command : {"no-such-build-tool"s, "./missing.sh"s}) {
    BuildOptions options = shell("");
    options.command = {command, "arg"};
    BuildResult result = run_build(options);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "build command not found: " + command);
  }
}

TEST_F(BuildRunnerTest, RelativeCommandRunsFromWorkingDirectory) {
  const fs::path script = tmp_.path() / "build.sh";
  std::ofstream(script) << "#!/bin/sh\necho built $1\n";
  fs::permissions(script, fs::perms::owner_all);
  BuildOptions options = shell("");
  options.command = {"./build.sh", "site"};
  BuildResult result = run_build(options);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, "built site\n");
}

TEST_F(BuildRunnerTest, BadOptionsAreClearErrors) {
  BuildOptions options = shell("true");
  options.command.clear();
  EXPECT_EQ(run_build(options).error, "build command is empty");

  options = shell("true");
  options.working_dir = (tmp_.path() / "missing").string();
  EXPECT_EQ(run_build(options).error,
            "build working directory \"" + options.working_dir + "\" does not exist");

  options = shell("true");
  options.env["BAD=NAME"] = "x";
  EXPECT_EQ(run_build(options).error, "invalid build environment variable \"BAD=NAME\"");

  options = shell("true");
  options.timeout = 0ms;
  EXPECT_EQ(run_build(options).error, "build timeout must be positive");
}

TEST_F(BuildRunnerTest, MinimalEnvironmentPlusOptions) {
  ::setenv("WOK_TEST_SERVER_SECRET", "leaked", 1);
  BuildOptions options =
      shell("echo \"$GREETING|$PATH|$HOME|$LANG|${WOK_TEST_SERVER_SECRET:-unset}\"");
  options.env = {{"GREETING", "hello world"}};
  BuildResult result = run_build(options);
  ::unsetenv("WOK_TEST_SERVER_SECRET");
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, "hello world|/usr/local/bin:/usr/bin:/bin|" + tmp_.path().string() +
                               "|C.UTF-8|unset\n");
}

TEST_F(BuildRunnerTest, CommandIsLookedUpInTheBuildsPath) {
  fs::create_directories(tmp_.path() / "node_modules/.bin");
  const fs::path tool = tmp_.path() / "node_modules/.bin/sitegen";
  std::ofstream(tool) << "#!/bin/sh\necho generated\n";
  fs::permissions(tool, fs::perms::owner_all);
  BuildOptions options = shell("");
  options.command = {"sitegen"};
  options.env = {{"PATH", "node_modules/.bin:/usr/bin:/bin"}};
  BuildResult result = run_build(options);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, "generated\n");
}

TEST_F(BuildRunnerTest, TimeoutKillsTheWholeProcessGroup) {
  const fs::path pid_file = tmp_.path() / "grandchild.pid";
  BuildOptions options = shell("sleep 100 & echo $! > grandchild.pid; echo started; sleep 100");
  options.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  BuildResult result = run_build(options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.error, "build timed out after 0.3s");
  EXPECT_EQ(result.output, "started\n");
  const pid_t grandchild = read_pid(pid_file);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(eventually_gone(grandchild));
}

TEST_F(BuildRunnerTest, TimeoutEscalatesToSigkillWhenTermIsIgnored) {
  const fs::path pid_file = tmp_.path() / "grandchild.pid";
  // An ignored signal stays ignored across exec, so both sleeps ignore TERM.
  BuildOptions options = shell("trap '' TERM; sleep 100 & echo $! > grandchild.pid; sleep 100");
  options.timeout = 200ms;
  BuildResult result = run_build(options);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.error, "build timed out after 0.2s");
  const pid_t grandchild = read_pid(pid_file);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(eventually_gone(grandchild));
}

TEST_F(BuildRunnerTest, BackgroundLeftoversAreKilledAndDoNotBlock) {
  const fs::path pid_file = tmp_.path() / "daemon.pid";
  // The background sleep keeps the output pipe open; the build still ends
  // when its main process does.
  BuildResult result = run_build(shell("sleep 100 & echo $! > daemon.pid; echo done"));
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, "done\n");
  const pid_t daemon = read_pid(pid_file);
  ASSERT_GT(daemon, 0);
  EXPECT_TRUE(eventually_gone(daemon));
}

TEST_F(BuildRunnerTest, OutputIsTruncatedButDrained) {
  BuildOptions options = shell("head -c 200000 /dev/zero | tr '\\0' a; echo tail-not-kept");
  options.max_output = 1000;
  BuildResult result = run_build(options);
  EXPECT_TRUE(result.ok) << result.error;  // no SIGPIPE: the pipe was drained
  EXPECT_EQ(result.output, std::string(1000, 'a') + "\n[output truncated]");
}

TEST_F(BuildRunnerTest, OutputAtExactlyTheLimitIsNotMarked) {
  BuildOptions options = shell("printf 12345");
  options.max_output = 5;
  EXPECT_EQ(run_build(options).output, "12345");
}

TEST_F(BuildRunnerTest, NoDescriptorLeaksIntoOrOutOfTheBuild) {
  // A descriptor without O_CLOEXEC, as some other thread of the server might hold.
  const int inherited = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(inherited, 0);
  const std::string fd = std::to_string(inherited);
  BuildResult result =
      run_build(shell("test -e /proc/$$/fd/" + fd + " && echo leaked || echo clean"));
  ::close(inherited);
  EXPECT_EQ(result.output, "clean\n");

  const auto count_fds = [] {
    return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
  };
  const auto before = count_fds();
  for (int i = 0; i < 5; ++i) run_build(shell("echo x; exit 1"));
  run_build(shell("no-such-command-in-shell"));
  BuildOptions missing = shell("");
  missing.command = {"no-such-build-tool"};
  run_build(missing);
  EXPECT_EQ(count_fds(), before);
}

}  // namespace
}  // namespace wok::controllers
