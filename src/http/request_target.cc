#include "http/request_target.h"

#include <charconv>

namespace wok::http {
namespace {

// Length of "scheme://authority" when target is in absolute-form, else 0.
size_t absolute_prefix(std::string_view target) {
  if (target.empty() || target[0] == '/') return 0;
  size_t sep = target.find("://");
  if (sep == std::string_view::npos) return 0;
  size_t end = target.find_first_of("/?", sep + 3);
  return end == std::string_view::npos ? target.size() : end;
}

}  // namespace

void split_target(std::string_view target, std::string* path, std::string* query) {
  size_t hash = target.find('#');  // never valid on the wire, but never part of the path
  if (hash != std::string_view::npos) target = target.substr(0, hash);
  size_t prefix = absolute_prefix(target);
  std::string_view rest = target.substr(prefix);
  size_t q = rest.find('?');
  std::string_view p = rest.substr(0, q);
  *path = (prefix > 0 && p.empty()) ? "/" : std::string(p);
  if (q == std::string_view::npos) {
    query->clear();
  } else {
    *query = std::string(rest.substr(q + 1));
  }
}

}  // namespace wok::http

namespace wok::http {

std::string_view request_host(const Request& request) {
  std::string_view t = request.target;
  size_t prefix = absolute_prefix(t);
  if (prefix > 0) {
    std::string_view authority = t.substr(0, prefix).substr(t.find("://") + 3);
    size_t at = authority.rfind('@');  // userinfo is never part of the host
    return at == std::string_view::npos ? authority : authority.substr(at + 1);
  }
  return request.header("Host");
}

uint64_t declared_body_length(const Request& request) {
  std::string_view cl = request.header("Content-Length");
  uint64_t value = 0;
  std::from_chars(cl.data(), cl.data() + cl.size(), value);
  return value;
}

}  // namespace wok::http
