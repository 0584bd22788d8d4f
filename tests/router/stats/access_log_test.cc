#include "router/stats/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
  EXPECT_EQ(AccessLog::format_line(r), "2025-11-25T23:23:23.123Z - GET /x\\x20y\\x0a 200 1234 1.500 0.250\n");
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

}  // namespace
}  // namespace wok::router
