#include "router/static/validators.h"

#include <cinttypes>
#include <cstdio>

#include "http/http_date.h"

namespace wok::router {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view strip_weak(std::string_view tag) {
  return tag.starts_with("W/") ? tag.substr(2) : tag;
}

bool none_match(std::string_view list, std::string_view etag) {
  if (trim(list) == "*") return true;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    if (strip_weak(trim(list.substr(start, comma - start))) == etag) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

std::string make_etag(const struct stat& st) {
  uint64_t mtime_ns = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000u +
                      static_cast<uint64_t>(st.st_mtim.tv_nsec);
  char buf[64];
  int n = snprintf(buf, sizeof buf, "\"%" PRIx64 "-%" PRIx64 "\"", mtime_ns,
                   static_cast<uint64_t>(st.st_size));
  return std::string(buf, static_cast<size_t>(n));
}

bool is_not_modified(const http::Request& request, std::string_view etag, time_t mtime) {
  if (request.has_header("If-None-Match")) {
    return none_match(request.header("If-None-Match"), etag);
  }
  time_t since = 0;
  std::string_view ims = request.header("If-Modified-Since");
  return !ims.empty() && http::parse_http_date(trim(ims), &since) && mtime <= since;
}

bool if_range_allows(const http::Request& request, std::string_view etag) {
  if (!request.has_header("If-Range")) return true;
  return trim(request.header("If-Range")) == etag;
}

}  // namespace wok::router
