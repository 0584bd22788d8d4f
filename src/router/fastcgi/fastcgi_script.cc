#include "router/fastcgi/fastcgi_script.h"

#include <string_view>
#include <vector>

#include "router/request_path.h"
#include "router/static/open_file_cache.h"

namespace wok::router {
namespace {

using Kind = PhpDispatch::Kind;

PhpDispatch script(std::string relative, std::string path_info) {
  return {Kind::kScript, {"/" + std::move(relative), std::move(path_info)}};
}

// Empty segments are dropped ("//a.php" is "/a.php" to the kernel too);
// false for a "." segment: such a path is never run as PHP, and serving it
// statically could hand out a script's source ("/./index.php").
bool split_segments(std::string_view relative, std::vector<std::string_view>* segments) {
  while (!relative.empty()) {
    size_t slash = relative.find('/');
    std::string_view segment = relative.substr(0, slash);
    relative = slash == std::string_view::npos ? std::string_view() : relative.substr(slash + 1);
    if (segment == ".") return false;
    if (!segment.empty()) segments->push_back(segment);
  }
  return true;
}

struct SiteFiles {
  OpenFileCache& cache;
  const OpenRoot& root;
  std::shared_ptr<const OpenFile> file(const std::string& relative) const {
    return cache.file(root, relative);
  }
  // A regular file of the site; the rule files (_headers...) never count.
  bool script(const std::string& relative) const {
    auto f = file(relative);
    return f->regular() && !root.rules->is_own_file(f->st.st_dev, f->st.st_ino);
  }
};

}  // namespace

PhpDispatch resolve_php_request(const Route& route, const http::Request& request) {
  std::string relative;
  if (!decode_request_path(request.path, &relative)) return {};  // the static handler says 400
  std::vector<std::string_view> segments;
  if (!split_segments(relative, &segments)) return {Kind::kBadRequest, {}};
  // Never run, nor fall back to the front controller: static says 404.
  if (!route.serve_dot_files && names_dot_file(relative)) return {};
  OpenFileCache& cache = OpenFileCache::for_this_thread();
  std::shared_ptr<const OpenRoot> root = cache.root(route.root);
  if (!root) return {};  // not deployed yet: static says 404
  SiteFiles site{cache, *root};

  std::string path;  // the segments so far, normalised
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) path += '/';
    path.append(segments[i]);
    if (!segments[i].ends_with(".php")) continue;
    if (site.script(path)) {
      std::string info;
      for (size_t j = i + 1; j < segments.size(); ++j) info.append("/").append(segments[j]);
      return script(path, std::move(info));
    }
    const bool last = i + 1 == segments.size();
    if (last || !site.file(path)->directory()) return {};  // static: 404, not the front controller
  }
  auto found = site.file(path);
  if (found->directory()) {
    // Without the slash, static redirects "/dir" to "/dir/" first.
    if (!request.path.ends_with('/')) return {};
    std::string index = path.empty() ? "index.php" : path + "/index.php";
    if (site.script(index)) return script(std::move(index), "");
    return {};  // index.html or 404
  }
  if (found->found) return {};  // a file, or something static refuses
  std::string_view front = route.fastcgi->front_controller;
  while (front.starts_with('/')) front.remove_prefix(1);
  if (front.ends_with(".php") && site.script(std::string(front)))
    return script(std::string(front), "");
  return {};
}

}  // namespace wok::router
