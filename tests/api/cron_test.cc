#include "api/cron.h"

#include <gtest/gtest.h>

namespace wok::api {
namespace {

using namespace std::chrono;

// "2026-12-02T16:20" -> a time point (UTC).
sys_seconds at(int y, unsigned mo, unsigned d, int h, int mi) {
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi);
}

CronSchedule parse(const std::string& text) {
  std::string error;
  auto s = parse_cron(text, &error);
  EXPECT_TRUE(s) << text << ": " << error;
  return s.value_or(CronSchedule{});
}

std::string refusal(const std::string& text) {
  std::string error;
  EXPECT_FALSE(parse_cron(text, &error)) << text;
  return error;
}

sys_seconds next(const std::string& text, sys_seconds after) {
  auto t = next_cron_time(parse(text), after);
  EXPECT_TRUE(t) << text;
  return t.value_or(sys_seconds{});
}

TEST(CronTest, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(next("* * * * *", at(2026, 12, 2, 16, 20)), at(2026, 12, 2, 16, 21));
  // Seconds into a minute: the next whole minute.
  EXPECT_EQ(next("* * * * *", at(2026, 12, 2, 16, 20) + seconds(59)), at(2026, 12, 2, 16, 21));
}

TEST(CronTest, ListsRangesSteps) {
  CronSchedule s = parse("0,30 8-18/2 * * *");
  EXPECT_TRUE(s.minutes[0] && s.minutes[30] && !s.minutes[15]);
  EXPECT_TRUE(s.hours[8] && s.hours[10] && s.hours[18] && !s.hours[9] && !s.hours[20]);
  EXPECT_EQ(next("0,30 8-18/2 * * *", at(2026, 1, 1, 18, 30)), at(2026, 1, 2, 8, 0));
  EXPECT_EQ(next("*/15 * * * *", at(2026, 1, 1, 10, 50)), at(2026, 1, 1, 11, 0));
  // "5/20": from 5 to the end of the range, every 20.
  s = parse("5/20 * * * *");
  EXPECT_TRUE(s.minutes[5] && s.minutes[25] && s.minutes[45] && !s.minutes[0]);
}

TEST(CronTest, NamesAnyCaseAndSundayAsSeven) {
  CronSchedule s = parse("0 0 * jan,Mar-MAY mon-fri");
  EXPECT_TRUE(s.months[1] && s.months[3] && s.months[5] && !s.months[2] && !s.months[6]);
  EXPECT_TRUE(s.weekdays[1] && s.weekdays[5] && !s.weekdays[0] && !s.weekdays[6]);
  EXPECT_TRUE(parse("0 0 * * 7").weekdays[0]);
  EXPECT_TRUE(parse("0 0 * * 5-7").weekdays[0]);
  // 2026-12-06 is a Sunday.
  EXPECT_EQ(next("0 12 * * SUN", at(2026, 12, 2, 0, 0)), at(2026, 12, 6, 12, 0));
}

TEST(CronTest, Macros) {
  EXPECT_EQ(next("@hourly", at(2026, 1, 1, 10, 0)), at(2026, 1, 1, 11, 0));
  EXPECT_EQ(next("@daily", at(2026, 1, 1, 10, 0)), at(2026, 1, 2, 0, 0));
  EXPECT_EQ(next("@midnight", at(2026, 1, 1, 10, 0)), at(2026, 1, 2, 0, 0));
  EXPECT_EQ(next("@weekly", at(2026, 12, 2, 10, 0)), at(2026, 12, 6, 0, 0));
  EXPECT_EQ(next("@monthly", at(2026, 12, 2, 10, 0)), at(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("@yearly", at(2026, 12, 2, 10, 0)), at(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("@annually", at(2027, 1, 1, 0, 0)), at(2028, 1, 1, 0, 0));
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 15th or any Monday (Vixie cron, Kubernetes): 2026-12-07 is a Monday.
  EXPECT_EQ(next("0 0 15 * MON", at(2026, 12, 2, 0, 0)), at(2026, 12, 7, 0, 0));
  EXPECT_EQ(next("0 0 15 * MON", at(2026, 12, 14, 0, 0)), at(2026, 12, 15, 0, 0));
  // One of them `*` (or `?`): both must hold, i.e. only the other counts.
  EXPECT_EQ(next("0 0 15 * *", at(2026, 12, 2, 0, 0)), at(2026, 12, 15, 0, 0));
  EXPECT_EQ(next("0 0 * * MON", at(2026, 12, 2, 0, 0)), at(2026, 12, 7, 0, 0));
  EXPECT_EQ(next("0 0 ? * MON", at(2026, 12, 2, 0, 0)), at(2026, 12, 7, 0, 0));
  // "*/2" restricts (robfig/cron): odd days or Mondays.
  EXPECT_EQ(next("0 0 */2 * MON", at(2026, 12, 1, 0, 0)), at(2026, 12, 3, 0, 0));
}

TEST(CronTest, CalendarEdges) {
  // Leap day: the next 29 February after 2026 is in 2028.
  EXPECT_EQ(next("0 0 29 2 *", at(2026, 3, 1, 0, 0)), at(2028, 2, 29, 0, 0));
  // The 31st skips the months without one.
  EXPECT_EQ(next("0 0 31 * *", at(2026, 4, 1, 0, 0)), at(2026, 5, 31, 0, 0));
  // Year end.
  EXPECT_EQ(next("59 23 31 12 *", at(2026, 12, 31, 23, 58)), at(2026, 12, 31, 23, 59));
  EXPECT_EQ(next("* * * * *", at(2026, 12, 31, 23, 59)), at(2027, 1, 1, 0, 0));
  // Never: 30 February.
  EXPECT_FALSE(next_cron_time(parse("0 0 30 2 *"), at(2026, 1, 1, 0, 0)));
}

TEST(CronTest, RefusalsNameThePart) {
  EXPECT_EQ(refusal("61 * * * *"), "minute field \"61\": 61 is out of range 0-59");
  EXPECT_EQ(refusal("* 24 * * *"), "hour field \"24\": 24 is out of range 0-23");
  EXPECT_EQ(refusal("* * 0 * *"), "day-of-month field \"0\": 0 is out of range 1-31");
  EXPECT_EQ(refusal("* * * 13 *"), "month field \"13\": 13 is out of range 1-12");
  EXPECT_EQ(refusal("* * * * 8"), "day-of-week field \"8\": 8 is out of range 0-7");
  EXPECT_EQ(refusal("* * * * *  *"),
            "has 6 fields, expected 5: minute hour day-of-month month day-of-week (\"0 3 * * *\")");
  EXPECT_NE(refusal("* * *").find("has 3 fields"), std::string::npos);
  EXPECT_NE(refusal("").find("has 0 fields"), std::string::npos);
  EXPECT_NE(refusal("*/0 * * * *").find("step"), std::string::npos);
  EXPECT_NE(refusal("*/100 * * * *").find("step"), std::string::npos);
  EXPECT_NE(refusal("5-1 * * * *").find("ends before"), std::string::npos);
  EXPECT_NE(refusal("1,,2 * * * *").find("empty"), std::string::npos);
  EXPECT_NE(refusal("x * * * *").find("not a number"), std::string::npos);
  EXPECT_NE(refusal("* * * foo *").find("not a number or a name"), std::string::npos);
  EXPECT_NE(refusal("? * * * *").find("'?'"), std::string::npos);
  EXPECT_NE(refusal("1-2-3 * * * *").find("'-'"), std::string::npos);
  EXPECT_NE(refusal("*/2/3 * * * *").find("'/'"), std::string::npos);
  EXPECT_NE(refusal("-1 * * * *").find("not a number"), std::string::npos);
  EXPECT_NE(refusal("@every 5m").find("@hourly"), std::string::npos);
  EXPECT_NE(refusal("TZ=Europe/Paris 0 3 * * *").find("fields"), std::string::npos);
  EXPECT_NE(refusal(std::string(300, '1')).find("200"), std::string::npos);
  EXPECT_NE(refusal("999999999999 * * * *").find("not a number"), std::string::npos);
}

}  // namespace
}  // namespace wok::api
