#pragma once
// A site's own rules, from the files "_headers" and "_redirects" at its
// document root (Netlify's formats, see docs/static-sites.md). Parsed once
// per revision root: a root never changes once it is routed.
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "router/path_pattern.h"

namespace wok::router {

struct HeaderRule {
  PathPattern pattern;
  std::vector<http::Header> headers;
};

struct RedirectRule {
  PathPattern pattern;
  std::string target;  // "/new/:splat" or "https://elsewhere/..."
  int status = 301;    // 301 302 303 307 308 redirect; 200 rewrite; 404 rewrite with 404
  bool force = false;  // "301!": applies even when a file exists at the path
};

struct SiteRules {
  std::vector<HeaderRule> headers;
  std::vector<RedirectRule> redirects;
  std::vector<std::string> errors;  // "_redirects:3: unknown status 999" (lines skipped)
  // The rule files themselves, so they are never served under any name.
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
  };
  std::vector<FileId> own_files;

  bool is_own_file(dev_t dev, ino_t ino) const;
  // Headers of every matching block in file order; a later block's value
  // replaces an earlier one of the same name.
  std::vector<http::Header> headers_for(std::string_view path) const;
  // The first matching rule (forced ones only when only_forced), with its
  // target substituted; nullptr when none.
  const RedirectRule* redirect_for(std::string_view path, bool only_forced,
                                   std::string* target) const;
};

// Parsers, exposed for tests. Malformed lines are skipped and reported.
void parse_headers_file(std::string_view text, SiteRules* rules);
void parse_redirects_file(std::string_view text, SiteRules* rules);

// Reads both files beneath root_fd (absent files mean no rules). Files
// larger than 1 MiB are refused with an error and ignored.
std::shared_ptr<const SiteRules> load_site_rules(int root_fd);

}  // namespace wok::router
