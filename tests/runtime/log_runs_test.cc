// Runs of an instance in its log files (wok logs, --previous): where each
// launch began, across size rotations. Plain files, no container.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/log_files.h"

namespace wok::runtime {
namespace {

namespace fs = std::filesystem;

class LogRunsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-logruns-XXXXXX";
    dir_ = mkdtemp(tmpl);
    log_ = dir_ / "stdout.log";
  }
  void TearDown() override { fs::remove_all(dir_); }
  // What a run writes through its O_APPEND descriptor.
  void write(const std::string& text) {
    int fd = open_log(log_);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  using Lines = std::vector<std::string>;
  fs::path dir_, log_;
};

TEST_F(LogRunsTest, CurrentIsTheLastRunAndPreviousTheOneBefore) {
  EXPECT_EQ(run_lines(log_, Run::kCurrent, 10), Lines{});
  begin_run_log(log_, 1 << 20);
  write("one a\none b\n");
  EXPECT_EQ(run_lines(log_, Run::kCurrent, 10), (Lines{"one a", "one b"}));
  EXPECT_EQ(run_lines(log_, Run::kPrevious, 10), Lines{});  // not restarted yet
  begin_run_log(log_, 1 << 20);
  write("two a\n");
  begin_run_log(log_, 1 << 20);
  write("three a\nthree b\nthree c");  // a last line without its newline
  EXPECT_EQ(run_lines(log_, Run::kCurrent, 10), (Lines{"three a", "three b", "three c"}));
  EXPECT_EQ(run_lines(log_, Run::kCurrent, 2), (Lines{"three b", "three c"}));
  EXPECT_EQ(run_lines(log_, Run::kPrevious, 10), Lines{"two a"});
  // The file itself is every run, as before (tail_lines, runtime tests).
  EXPECT_EQ(tail_lines(log_, 10).size(), 6u);
}

TEST_F(LogRunsTest, ARunOutlivesARotation) {
  begin_run_log(log_, 16);
  write("first run 1\nfirst run 2\n");
  begin_run_log(log_, 16);  // over 16 bytes: rotated at the launch
  write("second 1\n");
  EXPECT_TRUE(rotate_log_if_larger(log_, 4));  // and again while it runs
  write("second 2\n");
  EXPECT_EQ(run_lines(log_, Run::kCurrent, 10), (Lines{"second 1", "second 2"}));
  // The first run's file was rotated away twice: nothing of it is left.
  EXPECT_EQ(run_lines(log_, Run::kPrevious, 10), Lines{});
  begin_run_log(log_, 1 << 20);
  write("third\n");
  EXPECT_EQ(run_lines(log_, Run::kPrevious, 10), (Lines{"second 1", "second 2"}));
  EXPECT_EQ(run_lines(log_, Run::kCurrent, 10), Lines{"third"});
}

TEST_F(LogRunsTest, AFileOfAnOlderWokIsOneCurrentRun) {
  write("before runs were recorded\n");
  EXPECT_EQ(run_lines(log_, Run::kCurrent, 10), Lines{"before runs were recorded"});
  EXPECT_EQ(run_lines(log_, Run::kPrevious, 10), Lines{});
  EXPECT_TRUE(rotate_log_if_larger(log_, 1));  // no index is made by a rotation
  EXPECT_FALSE(fs::exists(dir_ / "stdout.log.runs"));
}

TEST_F(LogRunsTest, TheIndexStaysSmall) {
  for (int i = 0; i < 2000; ++i) {
    begin_run_log(log_, 1 << 20);
    write("run " + std::to_string(i) + "\n");
  }
  EXPECT_LT(fs::file_size(dir_ / "stdout.log.runs"), 16u << 10);
  EXPECT_EQ(run_lines(log_, Run::kCurrent, 10), Lines{"run 1999"});
  EXPECT_EQ(run_lines(log_, Run::kPrevious, 10), Lines{"run 1998"});
}

}  // namespace
}  // namespace wok::runtime
