#pragma once
// Default Cache-Control of a static file; a site's _headers may override it.
#include <string_view>

namespace wok::router {

// HTML: "no-cache" (it names the other assets and must pick up a new
// revision at once). A fingerprinted asset ("app.3f2a9c.js",
// "index-BmH3kJ9a.css"): its name changes with its content, so it is cached
// for a year, immutable. Anything else: five minutes.
std::string_view default_cache_control(std::string_view file_name, std::string_view mime_type);

// Whether the last path segment carries a content hash: a '.' or '-'
// separated part before the extension that is 6+ hex digits with a digit,
// or 8+ letters and digits mixing both.
bool is_fingerprinted(std::string_view file_name);

}  // namespace wok::router
