#pragma once
// Content-Type by file extension, for the static handler.
#include <string_view>

namespace wok::router {

// "text/html; charset=utf-8" for "a/index.html"; the extension is matched
// case-insensitively; unknown: "application/octet-stream".
std::string_view mime_type_for(std::string_view file_name);

// Whether a Content-Type is HTML (such pages are revalidated, not cached).
bool is_html(std::string_view mime_type);

}  // namespace wok::router
