#include "router/request_path.h"

namespace wok::router {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool has_dot_dot_segment(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

bool decode_request_path(std::string_view raw_path, std::string* relative) {
  if (raw_path.empty() || raw_path.front() != '/') return false;
  // Extra leading slashes are dropped: an absolute name would only fail
  // beneath the root, and "//a" means "/a" to every other server.
  size_t start = raw_path.find_first_not_of('/');
  if (start == std::string_view::npos) start = raw_path.size();
  std::string out;
  out.reserve(raw_path.size());
  for (size_t i = start; i < raw_path.size(); ++i) {
    char c = raw_path[i];
    if (c == '%') {
      if (i + 2 >= raw_path.size()) return false;
      int hi = hex_value(raw_path[i + 1]);
      int lo = hex_value(raw_path[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      // An encoded slash would let one segment pose as two after decoding.
      if (c == '/') return false;
      i += 2;
    }
    if (c == '\0') return false;
    out.push_back(c);
  }
  if (has_dot_dot_segment(out)) return false;
  *relative = std::move(out);
  return true;
}

bool names_dot_file(std::string_view relative) {
  bool first = true;
  while (!relative.empty()) {
    size_t slash = relative.find('/');
    std::string_view segment = relative.substr(0, slash);
    relative = slash == std::string_view::npos ? std::string_view() : relative.substr(slash + 1);
    if (segment.empty() || segment == ".") continue;
    if (segment.front() == '.' && !(first && segment == ".well-known")) return true;
    first = false;
  }
  return false;
}

}  // namespace wok::router
