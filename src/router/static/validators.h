#pragma once
// Cache validators of a static file (RFC 9110 8.8, 13.1): its ETag and
// Last-Modified, and whether a conditional GET may be answered with 304.
#include <sys/stat.h>

#include <string>
#include <string_view>

#include "http/message.h"

namespace wok::router {

// Strong ETag from mtime (ns) and size: "\"<hex mtime ns>-<hex size>\"".
// Revisions are new files, so a changed file gets a new tag.
std::string make_etag(const struct stat& st);

// If-None-Match when present (a list, "*", weak comparison), otherwise
// If-Modified-Since; true means "answer 304".
bool is_not_modified(const http::Request& request, std::string_view etag, time_t mtime);

// If-Range: only an exact strong ETag match keeps the Range; a date or a
// different tag means "send the whole file" (always a safe answer).
bool if_range_allows(const http::Request& request, std::string_view etag);

}  // namespace wok::router
