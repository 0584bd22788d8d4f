#include "router/static/byte_range.h"

#include <charconv>

#include "http/ascii.h"

namespace wok::router {
namespace {

bool parse_number(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

RangeRequest single(uint64_t first, uint64_t last) {
  return {RangeRequest::Kind::kSingle, first, last - first + 1};
}

}  // namespace

RangeRequest parse_range(std::string_view header, uint64_t size) {
  constexpr std::string_view kUnit = "bytes=";
  const RangeRequest whole;
  const RangeRequest unsatisfiable{RangeRequest::Kind::kUnsatisfiable, 0, 0};
  if (header.size() < kUnit.size() || !http::iequals(header.substr(0, kUnit.size()), kUnit)) {
    return whole;
  }
  std::string_view spec = header.substr(kUnit.size());
  while (!spec.empty() && spec.front() == ' ') spec.remove_prefix(1);
  while (!spec.empty() && spec.back() == ' ') spec.remove_suffix(1);
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: see header
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view first_text = spec.substr(0, dash);
  std::string_view last_text = spec.substr(dash + 1);
  uint64_t first = 0;
  uint64_t last = 0;
  if (first_text.empty()) {  // "-n": the last n bytes
    if (!parse_number(last_text, &last)) return whole;
    if (last == 0 || size == 0) return unsatisfiable;
    return single(last >= size ? 0 : size - last, size - 1);
  }
  if (!parse_number(first_text, &first)) return whole;
  if (last_text.empty()) {  // "a-"
    last = size == 0 ? 0 : size - 1;
  } else if (!parse_number(last_text, &last) || last < first) {
    return whole;
  }
  if (first >= size) return unsatisfiable;
  return single(first, last >= size ? size - 1 : last);
}

}  // namespace wok::router
