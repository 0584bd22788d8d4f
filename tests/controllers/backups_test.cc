#include "controllers/backups.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace wok::controllers {
namespace {

using nlohmann::json;

TEST(BackupKeep, DefaultsWithAScheduleAndRetention) {
  BackupKeep none = backup_keep(nullptr);
  EXPECT_EQ(none.daily + none.weekly + none.last, 0);
  EXPECT_EQ(none.retain_days(), 30);  // nothing said: a month
  BackupKeep scheduled = backup_keep({{"schedule", "@daily"}});
  EXPECT_EQ(scheduled.daily, 7);
  EXPECT_EQ(scheduled.weekly, 4);
  EXPECT_EQ(scheduled.retain_days(), 28);
  BackupKeep keep = backup_keep({{"schedule", "@daily"}, {"keep", {{"daily", 3}, {"monthly", 2}}}});
  EXPECT_EQ(keep.weekly, 0);  // only what keep says
  EXPECT_EQ(keep.retain_days(), 62);
  EXPECT_EQ(backup_keep({{"schedule", "@hourly"}, {"keep", {{"hourly", 5}}}}).retain_days(), 1);
}

TEST(ParseSnapshots, OnlyWoksWithTheirTagsNewestFirst) {
  const std::string out = R"([
    {"time": "2026-12-03T10:00:00.5Z", "short_id": "aaaaaaaa",
     "tags": ["wok", "site=blog", "uid=u1", "revision=3", "reason=manual", "retain=28"]},
    {"time": "2026-12-03T12:00:00.1Z", "short_id": "bbbbbbbb",
     "tags": ["wok", "site=blog", "uid=u1", "revision=4", "reason=scheduled"]},
    {"time": "2026-12-03T13:00:00Z", "short_id": "cccccccc", "tags": ["site=blog"]},
    {"time": "2026-12-03T14:00:00Z", "short_id": "dddddddd", "tags": ["wok"]},
    {"time": "2026-12-03T15:00:00Z", "short_id": "eeeeeeee",
     "tags": ["wok", "site=x", "revision=99999999999999999999", "retain=-1"]},
    "not an object"
  ])";
  auto list = parse_snapshots("team-a", out);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].id, "eeeeeeee");  // numbers it cannot read are left at their defaults
  EXPECT_EQ(list[0].revision, 0);
  EXPECT_EQ(list[0].retain_days, 30);
  EXPECT_EQ(list[1].id, "bbbbbbbb");
  EXPECT_EQ(list[1].time, "2026-12-03T12:00:00Z");
  EXPECT_EQ(list[1].reason, "scheduled");
  EXPECT_EQ(list[2].id, "aaaaaaaa");
  EXPECT_EQ(list[2].site, "blog");
  EXPECT_EQ(list[2].site_uid, "u1");
  EXPECT_EQ(list[2].revision, 3);
  EXPECT_EQ(list[2].retain_days, 28);
  EXPECT_EQ(list[2].project, "team-a");
  EXPECT_TRUE(parse_snapshots("p", "not json").empty());
  EXPECT_TRUE(parse_snapshots("p", "null").empty());
}

}  // namespace
}  // namespace wok::controllers
