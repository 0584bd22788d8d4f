#include "router/path_pattern.h"

namespace wok::router {
namespace {

std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::optional<PathPattern> PathPattern::parse(std::string_view text) {
  if (text.empty() || text.front() != '/') return std::nullopt;
  size_t star = text.find('*');
  if (star != std::string_view::npos && star != text.size() - 1) return std::nullopt;
  PathPattern p;
  std::string_view body = text;
  if (star != std::string_view::npos) {
    p.splat_ = true;
    body = text.substr(0, star);
    size_t last_slash = body.rfind('/');
    p.splat_prefix_ = std::string(body.substr(last_slash + 1));
    body = body.substr(0, last_slash);  // the segments before the splat's one
  }
  if (body.empty()) return p;
  for (std::string_view seg : split_segments(body)) {
    Segment s;
    if (seg.size() > 1 && seg.front() == ':') {
      s.placeholder = true;
      s.text = std::string(seg.substr(1));
      for (char c : s.text) {
        if (!is_name_char(c)) return std::nullopt;
      }
    } else {
      s.text = std::string(seg);
    }
    p.segments_.push_back(std::move(s));
  }
  return p;
}

bool PathPattern::match(std::string_view path, Captures* captures) const {
  if (path.empty() || path.front() != '/') return false;
  Captures local;
  std::string_view rest = path.substr(1);  // what the segments have not consumed
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (rest.data() == nullptr) return false;  // the path ran out of segments
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    const Segment& s = segments_[i];
    if (s.placeholder) {
      if (seg.empty()) return false;
      local.emplace_back(s.text, std::string(seg));
    } else if (seg != s.text) {
      return false;
    }
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  bool path_done = rest.data() == nullptr;
  if (!splat_) {
    if (!path_done && !segments_.empty()) return false;
    if (segments_.empty() && path != "/") return false;
  } else if (path_done) {
    // "/docs/*" also matches "/docs", with an empty splat (as Netlify does).
    if (!splat_prefix_.empty()) return false;
    local.emplace_back("splat", "");
  } else {
    if (!rest.starts_with(splat_prefix_)) return false;
    local.emplace_back("splat", std::string(rest.substr(splat_prefix_.size())));
  }
  if (captures) *captures = std::move(local);
  return true;
}

std::string PathPattern::substitute(std::string_view target, const Captures& captures) {
  std::string out;
  out.reserve(target.size());
  for (size_t i = 0; i < target.size();) {
    if (target[i] == ':') {
      size_t end = i + 1;
      while (end < target.size() && is_name_char(target[end])) ++end;
      std::string_view name = target.substr(i + 1, end - i - 1);
      bool replaced = false;
      for (const auto& [key, value] : captures) {
        if (!name.empty() && key == name) {
          out += value;
          replaced = true;
          break;
        }
      }
      if (replaced) {
        i = end;
        continue;
      }
    }
    out += target[i++];
  }
  return out;
}

}  // namespace wok::router
