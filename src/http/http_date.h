#pragma once
// HTTP dates (RFC 9110 5.6.7): IMF-fixdate out, all three formats in.
#include <ctime>
#include <string>
#include <string_view>

namespace wok::http {

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string format_http_date(time_t t);
// Accepts IMF-fixdate, RFC 850 and asctime forms; false if none matches.
bool parse_http_date(std::string_view s, time_t* out);

}  // namespace wok::http
