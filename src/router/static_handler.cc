#include "router/static_handler.h"

#include <sys/stat.h>

#include <string>

#include "http/http_date.h"
#include "http/unique_fd.h"
#include "router/byte_range.h"
#include "router/mime_types.h"
#include "router/open_beneath.h"
#include "router/request_path.h"
#include "router/validators.h"

namespace wok::router {
namespace {

using http::Request;
using http::Response;
using http::UniqueFd;

void plain(Response& response, int status) {
  response.status = status;
  response.body = std::string(http::reason_phrase(status)) + "\n";
  response.set_header("Content-Type", "text/plain; charset=utf-8");
}

void attach_file(const Request& request, Response& response, UniqueFd file, uint64_t offset,
                 uint64_t length) {
  response.file_fd = file.release();
  response.file_offset = static_cast<off_t>(offset);
  response.file_length = length;
  response.head_only = request.method == "HEAD";
}

// The site's own /404.html when it has one, with status 404.
void serve_not_found(int root_fd, const Request& request, Response& response) {
  struct stat st;
  UniqueFd page = open_beneath(root_fd, "404.html", &st);
  if (!page.valid() || !S_ISREG(st.st_mode)) {
    plain(response, 404);
    return;
  }
  response.status = 404;
  response.set_header("Content-Type", "text/html; charset=utf-8");
  response.set_header("Cache-Control", "no-cache");
  attach_file(request, response, std::move(page), 0, static_cast<uint64_t>(st.st_size));
}

// "/docs" -> "/docs/" keeping the query. Leading slashes collapse and
// backslashes are escaped, or the Location could read as "//other.host".
void redirect_to_directory(const Request& request, Response& response) {
  std::string_view path = request.path;
  while (path.size() > 1 && path[1] == '/') path.remove_prefix(1);
  std::string location;
  for (char c : path) {
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

void serve_file(const Request& request, Response& response, UniqueFd file, const struct stat& st,
                std::string_view mime) {
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const std::string etag = make_etag(st);
  response.set_header("Content-Type", std::string(mime));
  response.set_header("ETag", etag);
  response.set_header("Last-Modified", http::format_http_date(st.st_mtime));
  response.set_header("Accept-Ranges", "bytes");
  // HTML names the other assets and must pick up a new revision at once;
  // the rest may be cached briefly.
  response.set_header("Cache-Control", is_html(mime) ? "no-cache" : "public, max-age=300");
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
      attach_file(request, response, std::move(file), range.first, range.length);
      return;
    case RangeRequest::Kind::kWhole:
      response.status = 200;
      attach_file(request, response, std::move(file), 0, size);
      return;
  }
}

}  // namespace

void StaticHandler::serve(const Route& route, const Request& request, Response& response) const {
  if (request.method != "GET" && request.method != "HEAD") {
    plain(response, 405);
    response.set_header("Allow", "GET, HEAD");
    return;
  }
  std::string relative;
  if (!decode_request_path(request.path, &relative)) {
    plain(response, 400);
    return;
  }
  UniqueFd root = open_root(route.root);
  if (!root.valid()) {  // the revision is gone or not deployed yet
    plain(response, 404);
    return;
  }
  struct stat st;
  UniqueFd file = open_beneath(root.get(), relative, &st);
  if (file.valid() && S_ISDIR(st.st_mode)) {
    if (!request.path.ends_with('/')) {
      redirect_to_directory(request, response);
      return;
    }
    relative += "index.html";  // no listings: a directory without index is not found
    file = open_beneath(root.get(), relative, &st);
  }
  if (!file.valid() || !S_ISREG(st.st_mode)) {
    serve_not_found(root.get(), request, response);
    return;
  }
  serve_file(request, response, std::move(file), st, mime_type_for(relative));
}

}  // namespace wok::router
