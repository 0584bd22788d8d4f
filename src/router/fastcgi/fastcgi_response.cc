#include "router/fastcgi/fastcgi_response.h"

#include <charconv>

#include "http/ascii.h"
#include "router/proxy/proxy_headers.h"

namespace wok::router {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool parse_number(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out >= 0;
}

// Where the head ends: the first empty line, "\n\n" or "\r\n\r\n" (CGI
// scripts may use bare LF). npos while incomplete; *body_start after it.
size_t find_head_end(std::string_view data, size_t* body_start) {
  size_t pos = 0;
  while (true) {
    size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) return std::string_view::npos;
    std::string_view line = data.substr(pos, eol - pos);
    if (line.empty() || line == "\r") {
      *body_start = eol + 1;
      return pos;
    }
    pos = eol + 1;
  }
}

}  // namespace

CgiResponseParser::Status CgiResponseParser::feed(std::string_view data) {
  buffer_.append(data);
  size_t body_start = 0;
  size_t head_end = find_head_end(buffer_, &body_start);
  if (head_end == std::string::npos) {
    return buffer_.size() > kMaxHeadBytes ? Status::kError : Status::kNeedMore;
  }
  if (head_end > kMaxHeadBytes || !parse_head(std::string_view(buffer_).substr(0, head_end))) {
    return Status::kError;
  }
  buffer_.erase(0, body_start);
  return Status::kHead;
}

bool CgiResponseParser::parse_head(std::string_view block) {
  head_.status = 200;
  bool has_status = false;
  bool has_location = false;
  while (!block.empty()) {
    size_t eol = block.find('\n');
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    std::string_view name = line.substr(0, colon);
    if (!http::is_token(name)) return false;
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value) {
      if (c == '\0' || c == '\r')
        return false;  // no smuggling a header split into the client's head
    }
    if (http::iequals(name, "Location")) has_location = true;
    if (!add_field(name, value, &has_status)) return false;
  }
  if (has_location && !has_status) head_.status = 302;
  return true;
}

bool CgiResponseParser::add_field(std::string_view name, std::string_view value, bool* has_status) {
  if (http::iequals(name, "Status")) {
    int64_t code = 0;
    if (!parse_number(value.substr(0, value.find(' ')), &code) || code < 200 || code > 599)
      return false;
    head_.status = static_cast<int>(code);
    *has_status = true;
    return true;
  }
  if (http::iequals(name, "Content-Length")) {
    return parse_number(value, &content_length_);
  }
  if (is_hop_by_hop(name, "")) return true;
  head_.headers.push_back({std::string(name), std::string(value)});
  return true;
}

}  // namespace wok::router
