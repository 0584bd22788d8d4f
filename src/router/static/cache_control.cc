#include "router/static/cache_control.h"

#include "router/static/mime_types.h"

namespace wok::router {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool looks_like_hash(std::string_view part) {
  bool digit = false, alpha = false, hex = true, alnum = true;
  for (char c : part) {
    digit = digit || is_digit(c);
    alpha = alpha || is_alpha(c);
    hex = hex && is_hex(c);
    alnum = alnum && (is_digit(c) || is_alpha(c));
  }
  if (hex && digit && part.size() >= 6) return true;
  return alnum && digit && alpha && part.size() >= 8;
}

}  // namespace

bool is_fingerprinted(std::string_view file_name) {
  size_t slash = file_name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  size_t ext = base.rfind('.');
  if (ext == std::string_view::npos || ext == 0) return false;
  std::string_view stem = base.substr(0, ext);
  // The first part is the asset's name ("app"), never its hash.
  size_t start = stem.find_first_of(".-");
  while (start != std::string_view::npos) {
    size_t end = stem.find_first_of(".-", start + 1);
    std::string_view part =
        stem.substr(start + 1, end == std::string_view::npos ? end : end - start - 1);
    if (looks_like_hash(part)) return true;
    start = end;
  }
  return false;
}

std::string_view default_cache_control(std::string_view file_name, std::string_view mime_type) {
  if (is_html(mime_type)) return "no-cache";
  if (is_fingerprinted(file_name)) return "public, max-age=31536000, immutable";
  return "public, max-age=300";
}

}  // namespace wok::router
