#include "cmd/table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cmd/printing.h"

namespace wok::cmd {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(FormatTable, AlignsColumnsWithThreeSpacesAndNoTrailingBlanks) {
  std::string text =
      format_table({{"NAME", "MODE", "AGE"}, {"www", "static", "5d"}, {"a-long-name", "php", ""}});
  EXPECT_EQ(text,
            "NAME          MODE     AGE\n"
            "www           static   5d\n"
            "a-long-name   php\n");
}

TEST(FormatTable, Indents) {
  EXPECT_EQ(format_table({{"A", "B"}, {"1", "2"}}, "  "), "  A   B\n  1   2\n");
}

TEST(HumanDuration, MatchesKubectl) {
  EXPECT_EQ(human_duration(seconds(-5)), "<invalid>");
  EXPECT_EQ(human_duration(seconds(-1)), "0s");
  EXPECT_EQ(human_duration(seconds(0)), "0s");
  EXPECT_EQ(human_duration(seconds(45)), "45s");
  EXPECT_EQ(human_duration(seconds(119)), "119s");
  EXPECT_EQ(human_duration(seconds(180)), "3m");
  EXPECT_EQ(human_duration(seconds(185)), "3m5s");
  EXPECT_EQ(human_duration(minutes(15)), "15m");
  EXPECT_EQ(human_duration(minutes(179)), "179m");
  EXPECT_EQ(human_duration(hours(2)), "120m");  // kubectl switches to hours at 3h
  EXPECT_EQ(human_duration(hours(3)), "3h");
  EXPECT_EQ(human_duration(hours(3) + minutes(10)), "3h10m");
  EXPECT_EQ(human_duration(hours(10)), "10h");
  EXPECT_EQ(human_duration(hours(47)), "47h");
  EXPECT_EQ(human_duration(hours(24 * 5)), "5d");
  EXPECT_EQ(human_duration(hours(24 * 5 + 3)), "5d3h");
  EXPECT_EQ(human_duration(hours(24 * 30)), "30d");
  EXPECT_EQ(human_duration(hours(24 * 365 * 3)), "3y");
  EXPECT_EQ(human_duration(hours(24 * (365 * 3 + 4))), "3y4d");
  EXPECT_EQ(human_duration(hours(24 * 365 * 9)), "9y");
}

TEST(ParseRfc3339, AcceptsZuluFractionsAndOffsets) {
  auto base = parse_rfc3339("2026-11-25T10:00:00Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*base), 1795600800);
  EXPECT_EQ(parse_rfc3339("2026-11-25T10:00:00.123456Z"), base);
  EXPECT_EQ(parse_rfc3339("2026-11-25T12:00:00+02:00"), base);
  EXPECT_EQ(parse_rfc3339("2026-11-25T09:30:00-00:30"), base);
}

TEST(ParseRfc3339, RefusesGarbage) {
  for (const char* bad :
       {"", "yesterday", "2026-11-25", "2026-11-25T10:00:00", "2026-13-25T10:00:00Z",
        "2026-11-25T10:00:00Zjunk", "2026-1x-25T10:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(AgeSince, UsesTheCompactForm) {
  auto now = *parse_rfc3339("2026-11-25T10:00:45Z");
  EXPECT_EQ(age_since("2026-11-25T10:00:00Z", now), "45s");
  EXPECT_EQ(age_since("2026-11-20T10:00:45Z", now), "5d");
  EXPECT_EQ(age_since("", now), "<unknown>");
}

nlohmann::json site(const std::string& project, const std::string& name, const std::string& ready) {
  return {{"metadata",
           {{"name", name}, {"namespace", project}, {"creationTimestamp", "2026-11-25T08:00:00Z"}}},
          {"spec", {{"mode", "static"}, {"hosts", {name + ".example.org", "alt.example.org"}}}},
          {"status",
           {{"revision", 3},
            {"commit", "4f2c1e0d9a8b7c6"},
            {"urls", {"http://" + name + ".example.org:8080/"}},
            {"conditions",
             {{{"type", "Ready"},
               {"status", ready},
               {"message", "revision 3 serves commit 4f2c1e0"}}}}}}};
}

TEST(FormatSites, PrintsReadyRevisionAndAge) {
  auto now = *parse_rfc3339("2026-11-25T13:00:00Z");
  nlohmann::json items = {site("team-a", "www", "True"), site("team-b", "blog", "False")};
  items.push_back({{"metadata", {{"name", "new"}, {"namespace", "team-a"}}}});
  EXPECT_EQ(
      format_sites(items, true, false, now),
      "PROJECT   NAME   MODE     HOSTS                              READY     REVISION   AGE\n"
      "team-a    www    static   www.example.org,alt.example.org    True      3          5h\n"
      "team-b    blog   static   blog.example.org,alt.example.org   False     3          5h\n"
      "team-a    new    <none>   <none>                             Unknown   <none>     "
      "<unknown>\n");
}

TEST(FormatSites, WideAddsShortCommitUrlAndMessage) {
  auto now = *parse_rfc3339("2026-11-25T13:00:00Z");
  nlohmann::json items = nlohmann::json::array({site("team-a", "www", "True")});
  EXPECT_EQ(
      format_sites(items, false, true, now),
      "NAME   MODE     HOSTS                             READY   REVISION   AGE   COMMIT    URL"
      "                            MESSAGE\n"
      "www    static   www.example.org,alt.example.org   True    3          5h    4f2c1e0   "
      "http://www.example.org:8080/   revision 3 serves commit 4f2c1e0\n");
}

TEST(FormatProjects, CountsMembers) {
  auto now = *parse_rfc3339("2026-11-25T10:00:00Z");
  nlohmann::json items = {
      {{"metadata", {{"name", "team-a"}, {"creationTimestamp", "2026-11-25T09:57:00Z"}}},
       {"spec",
        {{"hosts", {"*.team-a.example.org"}},
         {"members",
          {{{"user", "alice"}, {"role", "admin"}}, {{"user", "bob"}, {"role", "viewer"}}}}}}}};
  EXPECT_EQ(format_projects(items, now),
            "NAME     HOSTS                  MEMBERS   AGE\n"
            "team-a   *.team-a.example.org   2         3m\n");
}

TEST(FormatRevisions, MarksTheLiveOne) {
  nlohmann::json items = {{{"revision", 1},
                           {"commit", "aaaaaaaaaa"},
                           {"outcome", "Deployed"},
                           {"cause", "created (generation 1)"},
                           {"author", "alice"},
                           {"createdAt", "2026-11-25T10:00:00Z"}},
                          {{"revision", 2},
                           {"commit", "bbbbbbbbbb"},
                           {"outcome", "Deployed"},
                           {"live", true},
                           {"createdAt", "2026-11-25T11:00:00Z"}},
                          {{"revision", 3},
                           {"commit", "cccccccccc"},
                           {"outcome", "Failed"},
                           {"message", "build failed"},
                           {"createdAt", "2026-11-25T12:00:00Z"}}};
  EXPECT_EQ(format_revisions(items),
            "REVISION   COMMIT    OUTCOME           CREATED                BY       CAUSE          "
            "          MESSAGE\n"
            "1          aaaaaaa   Deployed          2026-11-25T10:00:00Z   alice    created "
            "(generation 1)\n"
            "2          bbbbbbb   Deployed (live)   2026-11-25T11:00:00Z   <none>   <none>\n"
            "3          ccccccc   Failed            2026-11-25T12:00:00Z   <none>   <none>         "
            "          build failed\n");
}

}  // namespace
}  // namespace wok::cmd
