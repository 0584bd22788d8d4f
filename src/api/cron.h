#pragma once
// Cron schedules of spec.app.jobs, read as Kubernetes reads a CronJob's
// (robfig/cron's standard parser): five fields "minute hour day-of-month
// month day-of-week" with lists (1,15), ranges (1-5), steps (*/10, 8-18/2,
// 5/15 = 5-59/15), names (JAN-DEC, SUN-SAT, any case; 7 is Sunday too), `?`
// as `*` in the day fields, and the macros @yearly (@annually), @monthly,
// @weekly, @daily (@midnight), @hourly. Always UTC: a day has 24 hours.
//
// Day of month and day of week: when both are restricted (neither is `*`
// or `?`), a day matches if EITHER does ("0 0 1 * MON": the 1st and every
// Monday), as in Vixie cron and Kubernetes; otherwise both must.
#include <bitset>
#include <chrono>
#include <optional>
#include <string>

namespace wok::api {

struct CronSchedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;      // 1-31
  std::bitset<13> months;    // 1-12
  std::bitset<7> weekdays;   // 0 = Sunday
  bool any_day = false;      // day of month was `*` or `?`
  bool any_weekday = false;  // day of week was `*` or `?`
};

// The schedule, or nullopt with `error` naming the bad part
// ("minute field \"61\": 61 is out of range 0-59").
std::optional<CronSchedule> parse_cron(const std::string& text, std::string* error);

// The first time strictly after `after` (whole minutes, UTC) that the
// schedule names; nullopt when none comes within 5 years ("0 0 30 2 *").
std::optional<std::chrono::sys_seconds> next_cron_time(const CronSchedule& schedule,
                                                       std::chrono::sys_seconds after);

}  // namespace wok::api
