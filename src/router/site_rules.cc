#include "router/site_rules.h"

#include <unistd.h>

#include "http/ascii.h"
#include "router/static/open_beneath.h"

namespace wok::router {
namespace {

constexpr size_t kMaxRulesFile = 1 << 20;
constexpr size_t kMaxRules = 10'000;  // per file: bounds the per-request matching cost

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
  size_t number = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    fn(++number, line);
  }
}

// Framing and hop-by-hop headers belong to the server, not to the site.
bool is_reserved_header(std::string_view name) {
  for (std::string_view r :
       {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
        "content-range", "content-encoding", "date", "trailer", "te", "proxy-connection"}) {
    if (http::iequals(name, r)) return true;
  }
  return false;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// A target is a site path or an absolute http(s) URL; both end up in a
// Location header, so no control characters or spaces.
bool is_valid_target(std::string_view t) {
  if (t.empty() || !http::is_field_value(t)) return false;
  if (t.front() == '/') return t.size() == 1 || t[1] != '/';  // "//host" would leave the site
  return t.starts_with("https://") || t.starts_with("http://");
}

}  // namespace

bool SiteRules::is_own_file(dev_t dev, ino_t ino) const {
  for (const FileId& f : own_files) {
    if (f.dev == dev && f.ino == ino) return true;
  }
  return false;
}

std::vector<http::Header> SiteRules::headers_for(std::string_view path) const {
  std::vector<http::Header> out;
  for (const HeaderRule& rule : headers) {
    if (!rule.pattern.match(path, nullptr)) continue;
    for (const http::Header& h : rule.headers) {
      bool replaced = false;
      for (http::Header& existing : out) {
        if (http::iequals(existing.name, h.name)) {
          existing.value = h.value;
          replaced = true;
        }
      }
      if (!replaced) out.push_back(h);
    }
  }
  return out;
}

const RedirectRule* SiteRules::redirect_for(std::string_view path, bool only_forced,
                                            std::string* target) const {
  PathPattern::Captures captures;
  for (const RedirectRule& rule : redirects) {
    if (only_forced && !rule.force) continue;
    if (!rule.pattern.match(path, &captures)) continue;
    *target = PathPattern::substitute(rule.target, captures);
    return &rule;
  }
  return nullptr;
}

void parse_headers_file(std::string_view text, SiteRules* rules) {
  HeaderRule* current = nullptr;
  for_each_line(text, [&](size_t number, std::string_view raw) {
    std::string where = "_headers:" + std::to_string(number) + ": ";
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') return;
    bool indented = raw.front() == ' ' || raw.front() == '\t';
    if (!indented) {
      current = nullptr;
      auto pattern = PathPattern::parse(line);
      if (!pattern) {
        rules->errors.push_back(where + "\"" + std::string(line) + "\" is not a path pattern");
      } else if (rules->headers.size() >= kMaxRules) {
        rules->errors.push_back(where + "too many rules");
      } else {
        rules->headers.push_back({std::move(*pattern), {}});
        current = &rules->headers.back();
      }
      return;
    }
    if (current == nullptr) {
      rules->errors.push_back(where + "header outside a path block");
      return;
    }
    size_t colon = line.find(':');
    std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : trim(line.substr(colon + 1));
    if (colon == std::string_view::npos || !http::is_token(name) || !http::is_field_value(value)) {
      rules->errors.push_back(where + "expected \"Name: value\"");
    } else if (is_reserved_header(name)) {
      rules->errors.push_back(where + std::string(name) + " is set by the server, not by _headers");
    } else {
      current->headers.push_back({std::string(name), std::string(value)});
    }
  });
}

void parse_redirects_file(std::string_view text, SiteRules* rules) {
  for_each_line(text, [&](size_t number, std::string_view raw) {
    std::string where = "_redirects:" + std::to_string(number) + ": ";
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') return;
    auto f = fields(line);
    if (f.size() < 2 || f.size() > 3) {
      rules->errors.push_back(where + "expected \"FROM TO [STATUS]\"");
      return;
    }
    RedirectRule rule{};
    auto pattern = PathPattern::parse(f[0]);
    if (!pattern) {
      rules->errors.push_back(where + "\"" + std::string(f[0]) + "\" is not a path pattern");
      return;
    }
    rule.pattern = std::move(*pattern);
    if (!is_valid_target(f[1])) {
      rules->errors.push_back(where + "\"" + std::string(f[1]) +
                              "\" is not a site path or http(s) URL");
      return;
    }
    rule.target = std::string(f[1]);
    if (f.size() == 3) {
      std::string_view s = f[2];
      if (s.ends_with('!')) {
        rule.force = true;
        s.remove_suffix(1);
      }
      static constexpr int kAllowed[] = {200, 301, 302, 303, 307, 308, 404};
      rule.status = 0;
      for (int a : kAllowed) {
        if (s == std::to_string(a)) rule.status = a;
      }
      if (rule.status == 0) {
        rules->errors.push_back(where + "status \"" + std::string(f[2]) +
                                "\" is not one of 200 301 302 303 307 308 404");
        return;
      }
    }
    bool rewrite = rule.status == 200 || rule.status == 404;
    if (rewrite && rule.target.front() != '/') {
      rules->errors.push_back(where + "a " + std::to_string(rule.status) +
                              " rewrite must name a path of the site (no proxying)");
      return;
    }
    if (rules->redirects.size() >= kMaxRules) {
      rules->errors.push_back(where + "too many rules");
      return;
    }
    rules->redirects.push_back(std::move(rule));
  });
}

std::shared_ptr<const SiteRules> load_site_rules(int root_fd) {
  auto rules = std::make_shared<SiteRules>();
  for (const char* name : {"_headers", "_redirects"}) {
    struct stat st;
    base::UniqueFd fd = open_beneath(root_fd, name, &st);
    if (!fd.valid() || !S_ISREG(st.st_mode)) continue;
    rules->own_files.push_back({st.st_dev, st.st_ino});
    if (static_cast<size_t>(st.st_size) > kMaxRulesFile) {
      rules->errors.push_back(std::string(name) + ": larger than 1 MiB, ignored");
      continue;
    }
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = pread(fd.get(), text.data() + done, text.size() - done, static_cast<off_t>(done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    text.resize(done);
    if (name[1] == 'h') {
      parse_headers_file(text, rules.get());
    } else {
      parse_redirects_file(text, rules.get());
    }
  }
  return rules;
}

}  // namespace wok::router
