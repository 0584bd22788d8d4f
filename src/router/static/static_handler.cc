#include "router/static/static_handler.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <optional>
#include <string>

#include "base/unique_fd.h"
#include "http/http_date.h"
#include "router/request_path.h"
#include "router/static/byte_range.h"
#include "router/static/content_coding.h"
#include "router/static/open_file_cache.h"
#include "router/static/validators.h"

namespace wok::router {
namespace {

using http::Request;
using http::Response;

void plain(Response& response, int status) {
  response.status = status;
  response.body = std::string(http::reason_phrase(status)) + "\n";
  response.set_header("Content-Type", "text/plain; charset=utf-8");
}

// A small file goes out from the cache's memory (shared, not copied), and
// so does a larger one the cache holds under TLS (no sendfile there: one
// copy into the records instead of a pread per 16 KiB); any other with
// sendfile on a dup of the cache's descriptor (the server closes the one
// it is given).
bool attach_file(const Request& request, Response& response,
                 const std::shared_ptr<const OpenFile>& file, uint64_t offset, uint64_t length) {
  response.head_only = request.method == "HEAD";
  if (file->in_memory && (request.tls || file->content.size() <= OpenFileCache::kSmallFile)) {
    response.shared.owner = file;
    response.shared.bytes = std::string_view(file->content)
                                .substr(static_cast<size_t>(offset), static_cast<size_t>(length));
    return true;
  }
  int fd = fcntl(file->fd.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {  // out of descriptors: shed load rather than fail oddly
    plain(response, 503);
    return false;
  }
  response.file_fd = fd;
  response.file_offset = static_cast<off_t>(offset);
  response.file_length = length;
  return true;
}

// The URL path rules match against: as sent, leading slashes collapsed.
std::string_view rule_path(std::string_view raw) {
  while (raw.size() > 1 && raw[1] == '/') raw.remove_prefix(1);
  return raw;
}

// Per request: the site, its rules, and where the answer stands.
struct Lookup {
  OpenFileCache& cache;
  const OpenRoot& root;
  const SiteRules& rules;
  bool dot_files;  // the site serves dot-files (spec.serveDotFiles)
  bool tls;        // the answer is encrypted: files the cache may hold go from memory

  // A regular file of the site, or nullptr; the rule files never count.
  std::shared_ptr<const OpenFile> regular(std::string_view relative) const {
    return served(cache.file(root, relative, tls));
  }
  std::shared_ptr<const OpenFile> served(std::shared_ptr<const OpenFile> file) const {
    if (!file->regular() || rules.is_own_file(file->st.st_dev, file->st.st_ino)) return nullptr;
    return file;
  }
};

// The site's own /404.html when it has one, with status 404.
void serve_not_found(const Lookup& site, const Request& request, Response& response) {
  auto page = site.regular("404.html");
  if (!page) {
    plain(response, 404);
    return;
  }
  response.status = 404;
  response.set_header("Content-Type", "text/html; charset=utf-8");
  response.set_header("Cache-Control", "no-cache");
  attach_file(request, response, page, 0, static_cast<uint64_t>(page->st.st_size));
}

// "/docs" -> "/docs/" keeping the query. Leading slashes collapse and
// backslashes are escaped, or the Location could read as "//other.host".
void redirect_to_directory(const Request& request, Response& response) {
  std::string location;
  for (char c : rule_path(request.path)) {
    if (c == '\\') {
      location += "%5C";
    } else {
      location += c;
    }
  }
  location += '/';
  if (!request.query.empty()) location += "?" + request.query;
  plain(response, 301);
  response.set_header("Location", std::move(location));
}

std::string with_coding_tag(std::string etag, Coding coding) {
  if (coding == Coding::kIdentity || etag.size() < 2) return etag;
  etag.insert(etag.size() - 1, "-" + std::string(coding_token(coding)));
  return etag;
}

// Sends file (found at relative) with validators, ranges, and its
// precompressed sibling when the client takes one. Range applies to the
// representation sent, encoded or not (RFC 9110 14.1.1): the sibling is an
// ordinary file, so its byte ranges are as cheap and as stable.
void serve_file(const Lookup& site, const Request& request, Response& response,
                const std::shared_ptr<const OpenFile>& file, const std::string& relative,
                int status) {
  std::shared_ptr<const OpenFile> chosen = file;
  Coding coding = Coding::kIdentity;
  std::shared_ptr<const OpenFile> br, gz;
  if (!relative.ends_with(".br") && !relative.ends_with(".gz")) {
    // Whether the file has siblings is probed once per cached file (its
    // root never changes), not twice per request.
    const uint8_t known = file->siblings.load(std::memory_order_relaxed);
    std::string sibling;
    if (known == OpenFile::kSiblingsUnknown || (known & OpenFile::kBrotliSibling)) {
      sibling = relative + ".br";
      br = site.regular(sibling);
    }
    if (known == OpenFile::kSiblingsUnknown || (known & OpenFile::kGzipSibling)) {
      sibling = relative + ".gz";
      gz = site.regular(sibling);
    }
    if (known == OpenFile::kSiblingsUnknown) {
      file->siblings.store((br ? OpenFile::kBrotliSibling : 0) | (gz ? OpenFile::kGzipSibling : 0),
                           std::memory_order_relaxed);
    }
  }
  if (br || gz) {
    response.set_header("Vary", "Accept-Encoding");
    coding = choose_coding(request.header("Accept-Encoding"), br != nullptr, gz != nullptr);
    if (coding == Coding::kBrotli) chosen = br;
    if (coding == Coding::kGzip) chosen = gz;
  }
  const struct stat& st = chosen->st;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const std::string coded_etag =
      coding == Coding::kIdentity ? std::string() : with_coding_tag(chosen->etag, coding);
  const std::string& etag = coding == Coding::kIdentity ? chosen->etag : coded_etag;
  response.headers.reserve(8);  // one allocation for the headers below
  // The type and caching of the file asked for (not of its .br sibling).
  response.set_header("Content-Type", std::string(file->mime_type));
  if (coding != Coding::kIdentity)
    response.set_header("Content-Encoding", std::string(coding_token(coding)));
  response.set_header("ETag", etag);
  response.set_header("Last-Modified", chosen->last_modified);
  response.set_header("Accept-Ranges", "bytes");
  response.set_header("Cache-Control", std::string(file->cache_control));
  if (status != 200) {  // a rewritten error page: no validators game, no ranges
    response.status = status;
    attach_file(request, response, chosen, 0, size);
    return;
  }
  if (is_not_modified(request, etag, st.st_mtime)) {
    response.status = 304;
    return;
  }
  RangeRequest range;
  if (request.method == "GET" && request.has_header("Range") && if_range_allows(request, etag)) {
    range = parse_range(request.header("Range"), size);
  }
  switch (range.kind) {
    case RangeRequest::Kind::kUnsatisfiable:
      plain(response, 416);
      response.set_header("Content-Range", "bytes */" + std::to_string(size));
      return;
    case RangeRequest::Kind::kSingle:
      response.status = 206;
      response.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                               std::to_string(range.first + range.length - 1) +
                                               "/" + std::to_string(size));
      attach_file(request, response, chosen, range.first, range.length);
      return;
    case RangeRequest::Kind::kWhole:
      response.status = 200;
      attach_file(request, response, chosen, 0, size);
      return;
  }
}

// Resolves relative to a regular file, trying index.html for directories.
// Returns nullptr when not found; sets *redirect_dir for "/dir" without '/'.
// A dot-file the site does not serve is not found, as if absent: not even
// the "/.git" -> "/.git/" redirect tells that it exists.
std::shared_ptr<const OpenFile> resolve(const Lookup& site, std::string* relative,
                                        bool path_has_slash, bool* redirect_dir) {
  if (!site.dot_files && names_dot_file(*relative)) return nullptr;
  auto file = site.cache.file(site.root, *relative, site.tls);
  if (file->directory()) {
    if (!path_has_slash) {
      *redirect_dir = true;
      return nullptr;
    }
    if (!relative->empty() && !relative->ends_with('/')) *relative += '/';
    *relative += "index.html";  // no listings: a directory without index is not found
    return site.regular(*relative);
  }
  return site.served(std::move(file));
}

// A _redirects rule: an HTTP redirect, or a rewrite served from another
// path of the same site (status 200 or 404).
void apply_redirect(const Lookup& site, const Request& request, Response& response,
                    const RedirectRule& rule, std::string target) {
  if (rule.status != 200 && rule.status != 404) {
    if (!request.query.empty() && target.find('?') == std::string::npos)
      target += "?" + request.query;
    plain(response, rule.status);
    response.set_header("Location", std::move(target));
    return;
  }
  std::string relative;
  std::string_view path = std::string_view(target).substr(0, target.find('?'));
  bool redirect_dir = false;
  std::shared_ptr<const OpenFile> file;
  if (decode_request_path(path, &relative)) file = resolve(site, &relative, true, &redirect_dir);
  if (!file) return serve_not_found(site, request, response);
  serve_file(site, request, response, file, relative, rule.status);
}

void serve_site(const Lookup& site, const Request& request, Response& response,
                std::string_view path) {
  std::string target;
  if (const RedirectRule* rule = site.rules.redirect_for(path, true, &target)) {
    return apply_redirect(site, request, response, *rule, std::move(target));
  }
  std::string relative;
  if (!decode_request_path(request.path, &relative)) return plain(response, 400);
  bool redirect_dir = false;
  auto file = resolve(site, &relative, request.path.ends_with('/'), &redirect_dir);
  if (file) return serve_file(site, request, response, file, relative, 200);
  // Netlify's shadowing: an unforced rule applies only where no file is.
  if (const RedirectRule* rule = site.rules.redirect_for(path, false, &target)) {
    return apply_redirect(site, request, response, *rule, std::move(target));
  }
  if (redirect_dir) return redirect_to_directory(request, response);
  serve_not_found(site, request, response);
}

}  // namespace

void StaticHandler::serve(const Route& route, const Request& request, Response& response) const {
  if (request.method != "GET" && request.method != "HEAD") {
    plain(response, 405);
    response.set_header("Allow", "GET, HEAD");
    return;
  }
  // Files that change under their root are looked up afresh (the cache
  // holds only immutable revisions).
  std::optional<OpenFileCache> fresh;
  if (route.mutable_files) fresh.emplace(16, 1, 0);
  OpenFileCache& cache = fresh ? *fresh : OpenFileCache::for_this_thread();
  std::shared_ptr<const OpenRoot> root = cache.root(route.root);
  if (!root) {  // the revision is gone or not deployed yet
    plain(response, 404);
    return;
  }
  Lookup site{cache, *root, *root->rules, route.serve_dot_files, request.tls};
  std::string_view path = rule_path(request.path);
  serve_site(site, request, response, path);
  if (site.rules.headers.empty() || response.status >= 500) return;
  for (http::Header& h : site.rules.headers_for(path))
    response.set_header(std::move(h.name), std::move(h.value));
}

}  // namespace wok::router
