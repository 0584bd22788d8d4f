#pragma once
// A request's query string, as the API reads it (api_server.cc, watch.cc).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace wok::server {

// "a=1&b=x" -> {a: 1, b: x}; values are not percent-decoded (the one that
// needs it, a watch's fieldSelector, decodes its own).
std::map<std::string, std::string> query_params(std::string_view query);

// Digits only, at most `max`: *out set and true; anything else false.
bool parse_count(const std::string& text, int64_t max, int64_t* out);

}  // namespace wok::server
