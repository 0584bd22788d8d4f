#include "router/stats/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace wok::router {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RequestRecord record(std::string_view path) {
  RequestRecord r;
  r.project = "team";
  r.site = "www";
  r.host = "www.team.example";
  r.method = "GET";
  r.path = path;
  r.status = 200;
  r.bytes = 1234;
  r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764113003123));
  r.duration = std::chrono::microseconds(1500);
  return r;
}

TEST(AccessLogTest, LineFormat) {
  EXPECT_EQ(AccessLog::format_line(record("/a.html")),
            "2025-11-25T23:23:23.123Z www.team.example GET /a.html 200 1234 1.500 -\n");
  RequestRecord r = record("/x y\n");
  r.host = "";
  r.upstream = std::chrono::microseconds(250);
  EXPECT_EQ(AccessLog::format_line(r),
            "2025-11-25T23:23:23.123Z - GET /x\\x20y\\x0a 200 1234 1.500 0.250\n");
}

TEST(AccessLogTest, WritesPerSiteAndRotates) {
  char tmpl[] = "/tmp/wok-access-log-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  RequestRecord other = record("/o");
  other.site = "blog";
  {
    AccessLogOptions options;
    options.dir = dir.string();
    options.max_bytes = 1000;
    options.keep = 2;
    AccessLog log(options);
    for (int i = 0; i < 100; ++i) log.on_request(record("/page-" + std::to_string(i)));
    log.on_request(other);
    RequestRecord hostile = record("/h");
    hostile.site = "..";
    log.on_request(hostile);  // never becomes a path
    log.flush();
    EXPECT_EQ(log.dropped(), 0u);
  }
  fs::path www = dir / "team" / "www";
  std::string current = read(www / "access.log");
  EXPECT_NE(current.find("/page-99 "), std::string::npos);
  EXPECT_LE(current.size(), 1000u);
  EXPECT_TRUE(fs::exists(www / "access.log.1"));
  EXPECT_TRUE(fs::exists(www / "access.log.2"));
  EXPECT_FALSE(fs::exists(www / "access.log.3"));  // keep = 2
  EXPECT_LE(fs::file_size(www / "access.log.1"), 1000u);
  EXPECT_EQ(read(dir / "team" / "blog" / "access.log"), AccessLog::format_line(other));
  EXPECT_FALSE(fs::exists(dir / "team" / "access.log"));
  size_t entries = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) entries += e.is_regular_file();
  EXPECT_EQ(entries, 4u);
  fs::remove_all(dir);
}

TEST(AccessLogTest, LineFormatEdges) {
  RequestRecord r = record("/\\\x7f\xff");
  r.duration = std::chrono::microseconds(0);
  r.upstream = std::chrono::microseconds(1234567);
  r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764113003007));
  EXPECT_EQ(
      AccessLog::format_line(r),
      "2025-11-25T23:23:23.007Z www.team.example GET /\\x5c\\x7f\\xff 200 1234 0.000 1234.567\n");
}

// Threads log into buffers of their own: every line is written, each
// thread's in its order, and a line reaches the file without a flush.
TEST(AccessLogTest, LinesOfManyThreadsAreAllWrittenInEachThreadsOrder) {
  char tmpl[] = "/tmp/wok-access-log-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  AccessLogOptions options;
  options.dir = dir.string();
  options.flush_bytes = 4096;  // batches written while the threads still log
  constexpr int kThreads = 4, kLines = 5000;
  {
    AccessLog log(options);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < kLines; ++i)
          log.on_request(record("/t" + std::to_string(t) + "/" + std::to_string(i)));
      });
    }
    for (auto& t : threads) t.join();
    log.flush();
    EXPECT_EQ(log.dropped(), 0u);
    // Without flush(): the writer takes the line within its interval.
    log.on_request(record("/late"));
    for (int i = 0;
         i < 1000 && read(dir / "team" / "www" / "access.log").find("/late ") == std::string::npos;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::istringstream lines(read(dir / "team" / "www" / "access.log"));
  std::vector<int> next(kThreads, 0);
  std::string line;
  int total = 0;
  bool late = false;
  while (std::getline(lines, line)) {
    size_t at = line.find(" GET /");
    ASSERT_NE(at, std::string::npos) << line;
    std::string path = line.substr(at + 5, line.find(' ', at + 5) - at - 5);
    if (path == "/late") {
      late = true;
      continue;
    }
    int t = std::stoi(path.substr(2));
    int i = std::stoi(path.substr(path.find('/', 1) + 1));
    EXPECT_EQ(i, next[t]) << line;
    next[t] = i + 1;
    ++total;
  }
  EXPECT_EQ(total, kThreads * kLines);
  EXPECT_TRUE(late);
  fs::remove_all(dir);
}

// A writer that cannot keep up costs lines, counted, never memory or time.
TEST(AccessLogTest, AFullBufferDropsAndCounts) {
  char tmpl[] = "/tmp/wok-access-log-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  AccessLogOptions options;
  options.dir = dir.string();
  options.max_buffered_bytes = 1000;  // about 15 lines
  options.flush_bytes = 1 << 30;
  options.flush_interval = std::chrono::hours(1);  // only flush() writes
  AccessLog log(options);
  for (int i = 0; i < 100; ++i) log.on_request(record("/p" + std::to_string(i)));
  log.flush();
  std::string written = read(dir / "team" / "www" / "access.log");
  size_t lines = static_cast<size_t>(std::count(written.begin(), written.end(), '\n'));
  EXPECT_GT(lines, 0u);
  EXPECT_LT(lines, 100u);
  EXPECT_EQ(lines + log.dropped(), 100u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wok::router
