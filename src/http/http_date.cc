#include "http/http_date.h"

#include <cstring>

namespace wok::http {

std::string format_http_date(time_t t) {
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

bool parse_http_date(std::string_view s, time_t* out) {
  if (s.size() >= 64) return false;
  char buf[64];
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  static const char* const kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
      "%a %b %e %H:%M:%S %Y",       // asctime
  };
  for (const char* f : kFormats) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char* end = strptime(buf, f, &tm);
    if (end != nullptr && *end == '\0') {
      *out = timegm(&tm);
      return true;
    }
  }
  return false;
}

}  // namespace wok::http
