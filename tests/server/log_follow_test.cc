// Followed logs over real HTTP on loopback (server/log_follow.h): the first
// answer as a GET's, then only new lines, an instance that appears read
// from its start, and the end of the stream when the site is deleted, the
// token revoked or the caller removed; what a stranger or a hostile query gets.
#include "server/log_follow.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/streaming_api.h"
#include "store/store.h"

namespace wok::server {
namespace {

using nlohmann::json;
using test_support::Stream;

constexpr char kBase[] = "/apis/wok.dev/v1alpha1";

// The runtime's log files, as lines: an offset is a count of lines.
class FakeLogs {
 public:
  void write(const std::string& instance, const std::string& line) {
    std::lock_guard lock(mu_);
    lines_[instance].push_back(line);
  }
  json read(const LogsQuery& q) {
    std::lock_guard lock(mu_);
    queries_.push_back(q);
    json items = json::array();
    for (const auto& [instance, lines] : lines_) {
      const std::string key = instance + ":stdout";
      size_t start = lines.size() > static_cast<size_t>(q.tail) ? lines.size() - q.tail : 0;
      if (auto it = q.from.find(key); it != q.from.end()) start = static_cast<size_t>(it->second);
      json out = json::array();
      for (size_t i = start; i < lines.size(); ++i) out.push_back(lines[i]);
      items.push_back({{"instance", instance},
                       {"component", "web"},
                       {"stream", "stdout"},
                       {"phase", "Running"},
                       {"offset", lines.size()},
                       {"lines", out}});
    }
    return {{"kind", "SiteLogs"}, {"items", items}};
  }
  std::vector<LogsQuery> queries() {
    std::lock_guard lock(mu_);
    return queries_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> lines_;
  std::vector<LogsQuery> queries_;
};

class LogFollowTest : public testing::StreamingApiTest {
 protected:
  LogFollowTest() : StreamingApiTest("wok-follow") {}
  void SetUp() override {
    open_store({{"admin", true}, {"alice", false}, {"eve", false}});
    add_project("team-a", "alice");
    add_site();
    ApiOptions options;
    options.site_logs = [this](const std::string&, const std::string&, const LogsQuery& q) {
      return logs_.read(q);
    };
    start(options);
  }
  void add_site() {
    json site = {{"apiVersion", "wok.dev/v1alpha1"},
                 {"kind", "Site"},
                 {"metadata", {{"name", "api"}, {"namespace", "team-a"}}},
                 {"spec", {{"mode", "app"}, {"hosts", {"api.team-a.localhost"}}}}};
    auto r = store_->create("Site", site);
    ASSERT_TRUE(r.ok()) << r.message;
  }
  std::unique_ptr<Stream> follow(const std::string& user, const std::string& query = "") {
    return get_as(user,
                  std::string(kBase) + "/namespaces/team-a/sites/api/logs?follow=true" + query);
  }
  static std::vector<std::string> lines_of(const json& logs, const std::string& instance) {
    std::vector<std::string> out;
    for (const auto& item : logs["items"])
      if (item["instance"] == instance)
        for (const auto& l : item["lines"]) out.push_back(l);
    return out;
  }

  FakeLogs logs_;
};

TEST_F(LogFollowTest, FirstTheTailThenOnlyWhatIsWritten) {
  for (auto l : {"one", "two", "three"}) logs_.write("web.0", l);
  auto f = follow("alice", "&tail=2");
  ASSERT_EQ(f->status(), 200);
  auto first = f->next();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["kind"], "SiteLogs");
  EXPECT_EQ(lines_of(*first, "web.0"), (std::vector<std::string>{"two", "three"}));
  // Nothing written: nothing sent.
  EXPECT_FALSE(f->next(1200));
  logs_.write("web.0", "four");
  auto next = f->next();
  ASSERT_TRUE(next);
  EXPECT_EQ(lines_of(*next, "web.0"), (std::vector<std::string>{"four"}));
  // An instance that appears (a new revision's) is read from its start.
  for (auto l : {"a", "b", "c"}) logs_.write("web.1", l);
  next = f->next();
  ASSERT_TRUE(next);
  EXPECT_EQ(lines_of(*next, "web.1"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ((*next)["items"].size(), 1u) << "only the streams with new lines";
  // The server read from where it sent, not again from the tail.
  auto queries = logs_.queries();
  ASSERT_GE(queries.size(), 3u);
  EXPECT_EQ(queries[0].tail, 2);
  EXPECT_EQ(queries.back().from.at("web.0:stdout"), 4);
}

TEST_F(LogFollowTest, ResumesFromTheOffsetsItIsGiven) {
  for (auto l : {"one", "two", "three"}) logs_.write("web.0", l);
  auto f = follow("alice", "&from=web.0:stdout:2");
  auto first = f->next();
  ASSERT_TRUE(first);
  EXPECT_EQ(lines_of(*first, "web.0"), (std::vector<std::string>{"three"}));
}

TEST_F(LogFollowTest, EndsWithAStatusWhenTheSiteIsDeleted) {
  auto f = follow("alice");
  ASSERT_TRUE(f->next());
  ASSERT_TRUE(store_->remove("Site", "team-a", "api").ok());
  auto last = f->next();
  ASSERT_TRUE(last);
  EXPECT_EQ((*last)["kind"], "Status");
  EXPECT_EQ((*last)["code"], 404);
  EXPECT_TRUE(f->ends_within(3000));
}

TEST_F(LogFollowTest, ANamesakeMadeMeanwhileIsNotFollowed) {
  auto f = follow("alice");
  ASSERT_TRUE(f->next());
  ASSERT_TRUE(store_->remove("Site", "team-a", "api").ok());
  add_site();  // another site of the same name: another uid
  auto last = f->next();
  ASSERT_TRUE(last);
  EXPECT_EQ((*last)["code"], 404);
}

TEST_F(LogFollowTest, AViewerRemovedMidStreamGetsA403) {
  auto f = follow("alice");
  ASSERT_TRUE(f->next());
  json a = *store_->get("Project", "", "team-a");
  a["spec"]["members"] = json::array();
  ASSERT_TRUE(store_->update("Project", a).ok());
  logs_.write("web.0", "secret after removal");
  auto last = f->next();
  ASSERT_TRUE(last);
  EXPECT_EQ((*last)["kind"], "Status");
  EXPECT_EQ((*last)["code"], 403);
  EXPECT_TRUE(f->ends_within(3000));
}

TEST_F(LogFollowTest, ARevokedTokensFollowEnds) {
  std::string name;
  for (const auto& t : store_->tokens())
    if (t.user == "alice") name = t.name;
  auto f = follow("alice");
  ASSERT_TRUE(f->next());
  ASSERT_TRUE(store_->revoke_token(name));
  auto last = f->next(10000);
  ASSERT_TRUE(last);
  EXPECT_EQ((*last)["code"], 401);
  EXPECT_TRUE(f->ends_within(3000));
}

TEST_F(LogFollowTest, StrangersAndHostileQueriesAreRefusedByName) {
  const std::string base = std::string(kBase) + "/namespaces/team-a/sites/";
  EXPECT_EQ(follow("eve")->status(), 403);
  EXPECT_EQ(Stream(server_->port(), "", base + "api/logs?follow=true").status(), 401);
  EXPECT_EQ(Stream(server_->port(), tokens_["eve"],
                   std::string(kBase) + "/namespaces/team-z/sites/api/logs?follow=true")
                .status(),
            403);
  EXPECT_EQ(Stream(server_->port(), tokens_["admin"],
                   std::string(kBase) + "/namespaces/team-z/sites/api/logs?follow=true")
                .status(),
            404);
  auto check = [&](const std::string& target, int status, const std::string& words) {
    Stream s(server_->port(), tokens_["alice"], target);
    json body = s.whole();
    EXPECT_EQ(s.status(), status) << target;
    EXPECT_NE(body.value("message", "").find(words), std::string::npos) << body.dump();
  };
  check(base + "nothing/logs?follow=true", 404, "site \"nothing\" not found");
  check(base + "api/logs?follow=true&tail=lots", 400, "tail must be a whole number");
  check(base + "api/logs?follow=true&previous=true", 400, "cannot be followed");
  check(base + "api/logs?follow=true&component=../x", 400, "not a valid component name");
  check(base + "api/logs?follow=true&from=web.0", 400, "INSTANCE:STREAM:OFFSET");
  check(base + "api/logs?follow=yes", 400, "follow must be true or false");
}

TEST_F(LogFollowTest, TwentyFollowsPerUser) {
  std::vector<std::unique_ptr<Stream>> open;
  for (int i = 0; i < 20; ++i) {
    open.push_back(follow("alice"));
    ASSERT_EQ(open.back()->status(), 200) << i;
  }
  auto refused = follow("alice");
  EXPECT_EQ(refused->status(), 429);
  EXPECT_NE(refused->whole().value("message", "").find("follows 20 logs"), std::string::npos);
  EXPECT_EQ(follow("admin")->status(), 200) << "another user's are their own";
}

TEST_F(LogFollowTest, BytesThatAreNotUtf8AreReplacedNotFatal) {
  logs_.write("web.0", "caf\xe9 \xff\xfe");  // Latin-1, as an old app writes
  auto f = follow("alice");
  auto first = f->next();
  ASSERT_TRUE(first);
  auto lines = lines_of(*first, "web.0");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with("caf\xef\xbf\xbd")) << lines[0];  // U+FFFD
  EXPECT_EQ(lines[0].find('\xff'), std::string::npos);
  logs_.write("web.0", "after");
  auto next = f->next();  // the stream, and the server, go on
  ASSERT_TRUE(next);
  EXPECT_EQ(lines_of(*next, "web.0"), (std::vector<std::string>{"after"}));
}

TEST_F(LogFollowTest, AFirstAnswerOverAMebibyteComesWhole) {
  const std::string line(500, 'x');
  for (int i = 0; i < 4000; ++i) logs_.write("web.0", line);  // 2 MB
  auto f = follow("alice", "&tail=10000");
  auto first = f->next(10000);
  ASSERT_TRUE(first);
  EXPECT_EQ(lines_of(*first, "web.0").size(), 4000u);
}

TEST_F(LogFollowTest, StoppingTheServerEndsTheStreamsCleanly) {
  auto f = follow("alice");
  ASSERT_TRUE(f->next());
  api_->stop_watches();
  EXPECT_TRUE(f->ends_within(3000));
}

}  // namespace
}  // namespace wok::server
