#include "api/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace wok::api {
namespace {

struct Field {
  const char* name;
  int min, max;
  const char* const* names;  // names[i] is value min+i... or null
};

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const Field kFields[] = {{"minute", 0, 59, nullptr},
                         {"hour", 0, 23, nullptr},
                         {"day-of-month", 1, 31, nullptr},
                         {"month", 1, 12, kMonths},
                         {"day-of-week", 0, 7, kDays}};  // 7 = Sunday, folded below

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string quote_free(const std::string& s) { return "\"" + s + "\""; }

// A number or (where the field has them) a name; -1 when neither.
int value_of(const std::string& text, const Field& f) {
  if (!text.empty() && text.size() <= 2 && std::all_of(text.begin(), text.end(), ::isdigit))
    return std::stoi(text);
  if (f.names) {
    std::string l = lower(text);
    int count = f.max - f.min + 1 - (f.max == 7 ? 1 : 0);
    for (int i = 0; i < count; ++i)
      if (l == f.names[i]) return f.min + i;
  }
  return -1;
}

// One comma-separated part: *, ?, N, N-M, each with an optional /STEP.
// Sets the bits of `out` (index = value); `star` when it is * or ?.
bool parse_part(const std::string& part, const Field& f, std::vector<bool>& out, bool* star,
                std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = std::string(f.name) + " field \"" + part + "\": " + why;
    return false;
  };
  std::vector<std::string> range_step = split(part, '/');
  if (range_step.size() > 2) return fail("more than one '/'");
  int step = 1;
  if (range_step.size() == 2) {
    const std::string& s = range_step[1];
    if (s.empty() || s.size() > 2 || !std::all_of(s.begin(), s.end(), ::isdigit) ||
        std::stoi(s) == 0) {
      return fail("the step must be a number from 1 to 99");
    }
    step = std::stoi(s);
  }
  const std::string& range = range_step[0];
  int low = 0, high = 0;
  if (range == "*" || range == "?") {
    if (range == "?" && f.max != 31 && f.max != 7)
      return fail("'?' is only for day-of-month and day-of-week");
    low = f.min;
    high = f.max == 7 ? 6 : f.max;
    *star = step == 1;  // "*/2" restricts the days (robfig/cron, Kubernetes)
  } else {
    std::vector<std::string> bounds = split(range, '-');
    if (bounds.size() > 2) return fail("more than one '-'");
    low = value_of(bounds[0], f);
    if (low < 0)
      return fail(quote_free(bounds[0]) + " is not a number" +
                  (f.names ? " or a name" : std::string()));
    high = low;
    if (bounds.size() == 2) {
      high = value_of(bounds[1], f);
      if (high < 0)
        return fail(quote_free(bounds[1]) + " is not a number" +
                    (f.names ? " or a name" : std::string()));
    } else if (range_step.size() == 2) {
      high = f.max == 7 ? 6 : f.max;  // "5/15": from 5 to the end, every 15
    }
    for (int v : {low, high}) {
      if (v < f.min || v > f.max) {
        return fail(std::to_string(v) + " is out of range " + std::to_string(f.min) + "-" +
                    std::to_string(f.max));
      }
    }
    if (high < low) return fail("the range ends before it starts");
  }
  for (int v = low; v <= high; v += step)
    out[static_cast<size_t>(f.max == 7 && v == 7 ? 0 : v)] = true;
  return true;
}

template <size_t N>
bool parse_field(const std::string& text, const Field& f, std::bitset<N>& bits, bool* star,
                 std::string* error) {
  std::vector<bool> values(static_cast<size_t>(f.max) + 1, false);
  *star = false;
  std::vector<std::string> parts = split(text, ',');
  for (const auto& part : parts) {
    if (part.empty()) {
      *error = std::string(f.name) + " field \"" + text + "\": an empty list item";
      return false;
    }
    bool part_star = false;
    if (!parse_part(part, f, values, &part_star, error)) return false;
    // Only a field that is `*` (or `?`) alone counts as unrestricted.
    if (parts.size() == 1) *star = part_star;
  }
  for (size_t v = 0; v < values.size() && v < N; ++v) bits[v] = values[v];
  return true;
}

std::string macro(const std::string& text) {
  std::string l = lower(text);
  if (l == "@yearly" || l == "@annually") return "0 0 1 1 *";
  if (l == "@monthly") return "0 0 1 * *";
  if (l == "@weekly") return "0 0 * * 0";
  if (l == "@daily" || l == "@midnight") return "0 0 * * *";
  if (l == "@hourly") return "0 * * * *";
  return "";
}

}  // namespace

std::optional<CronSchedule> parse_cron(const std::string& text, std::string* error) {
  if (text.size() > 200) {
    *error = "is longer than 200 characters";
    return std::nullopt;
  }
  std::string expr = text;
  if (text.starts_with("@")) {
    expr = macro(text);
    if (expr.empty()) {
      *error = "\"" + text +
               "\" is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly";
      return std::nullopt;
    }
  }
  std::vector<std::string> fields;
  std::string current;
  for (char c : expr) {
    if (c == ' ' || c == '\t') {
      if (!current.empty()) fields.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) fields.push_back(std::move(current));
  if (fields.size() != 5) {
    *error = "has " + std::to_string(fields.size()) +
             " fields, expected 5: minute hour day-of-month month day-of-week (\"0 3 * * *\")";
    return std::nullopt;
  }
  CronSchedule s;
  bool star = false;
  if (!parse_field(fields[0], kFields[0], s.minutes, &star, error) ||
      !parse_field(fields[1], kFields[1], s.hours, &star, error) ||
      !parse_field(fields[2], kFields[2], s.days, &s.any_day, error) ||
      !parse_field(fields[3], kFields[3], s.months, &star, error) ||
      !parse_field(fields[4], kFields[4], s.weekdays, &s.any_weekday, error)) {
    return std::nullopt;
  }
  return s;
}

namespace {

bool day_matches(const CronSchedule& s, std::chrono::year_month_day ymd) {
  bool dom = s.days[static_cast<unsigned>(ymd.day())];
  bool dow = s.weekdays[std::chrono::weekday(std::chrono::sys_days(ymd)).c_encoding()];
  if (s.any_day || s.any_weekday) return dom && dow;
  return dom || dow;
}

}  // namespace

std::optional<std::chrono::sys_seconds> next_cron_time(const CronSchedule& s,
                                                       std::chrono::sys_seconds after) {
  using namespace std::chrono;
  auto t = floor<minutes>(after) + minutes(1);
  const auto limit = t + days(5 * 366);
  // Skip whole months, days and hours that cannot match: a few hundred steps
  // at most, and a schedule that never matches ends at the limit.
  while (t < limit) {
    sys_days day = floor<days>(t);
    year_month_day ymd(day);
    if (!s.months[static_cast<unsigned>(ymd.month())]) {
      t = sys_days(year_month_day(ymd.year() / ymd.month() / 1) + months(1));
      continue;
    }
    if (!day_matches(s, ymd)) {
      t = day + days(1);
      continue;
    }
    auto h = duration_cast<hours>(t - day).count();
    if (!s.hours[static_cast<size_t>(h)]) {
      t = floor<hours>(t) + hours(1);
      continue;
    }
    auto m = duration_cast<minutes>(t - floor<hours>(t)).count();
    if (!s.minutes[static_cast<size_t>(m)]) {
      t += minutes(1);
      continue;
    }
    return time_point_cast<seconds>(t);
  }
  return std::nullopt;
}

}  // namespace wok::api
