#pragma once
// Netlify-style URL path patterns for _headers and _redirects:
// "/blog/:year/:slug", "/docs/*", "/*". A ":name" segment matches one
// non-empty segment; a trailing "*" (alone or after "/") matches the rest,
// possibly empty, captured as :splat. Other characters match literally.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wok::router {

class PathPattern {
 public:
  using Captures = std::vector<std::pair<std::string, std::string>>;  // name, value

  // nullopt when the pattern does not start with '/' or has "*" other than
  // at its end.
  static std::optional<PathPattern> parse(std::string_view text);

  // Matches a whole path; on success fills *captures (when not null).
  bool match(std::string_view path, Captures* captures) const;

  // Replaces ":name" and ":splat" in a redirect target with captured values.
  static std::string substitute(std::string_view target, const Captures& captures);

 private:
  struct Segment {
    std::string text;  // literal, or placeholder name without ':'
    bool placeholder = false;
  };
  std::vector<Segment> segments_;  // split on '/', the leading empty one dropped
  bool splat_ = false;             // a trailing "*"
  std::string splat_prefix_;       // literal text of the last segment before "*" ("" for "/*")
};

}  // namespace wok::router
