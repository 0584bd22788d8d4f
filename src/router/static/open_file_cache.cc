#include "router/static/open_file_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "http/http_date.h"
#include "router/static/cache_control.h"
#include "router/static/mime_types.h"
#include "router/static/open_beneath.h"
#include "router/static/validators.h"

namespace wok::router {
namespace {

// Reads a small file whole; a short read (the file changed under us) keeps
// it on the sendfile path instead.
bool read_whole(OpenFile& file, size_t size) {
  file.content.resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n =
        pread(file.fd.get(), file.content.data() + done, size - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done != size) {
    file.content.clear();
    return false;
  }
  file.in_memory = true;
  return true;
}

}  // namespace

OpenFileCache::OpenFileCache(size_t max_files, size_t max_roots, size_t max_memory_bytes)
    : files_(max_files), roots_(max_roots), max_memory_bytes_(max_memory_bytes) {}

OpenFileCache& OpenFileCache::for_this_thread() {
  thread_local OpenFileCache cache(1024, 128);
  return cache;
}

std::shared_ptr<const OpenRoot> OpenFileCache::root(const std::string& path) {
  // Requests in a row mostly go to one site: its root, without hashing
  // the path (it is the most recently used entry already).
  if (last_root_ && last_root_->path == path) return last_root_;
  if (auto* hit = roots_.find(path)) return last_root_ = *hit;
  base::UniqueFd fd = open_root(path);
  if (!fd.valid()) return nullptr;
  static std::atomic<uint64_t> next_root_id{1};
  auto root = std::make_shared<OpenRoot>();
  root->path = path;
  root->id = next_root_id.fetch_add(1, std::memory_order_relaxed);
  root->rules = site_rules_for(path, fd.get());
  root->fd = std::move(fd);
  return last_root_ = roots_.insert(path, std::move(root));
}

std::shared_ptr<const OpenFile> OpenFileCache::file(const OpenRoot& root, std::string_view relative,
                                                    bool large_in_memory) {
  key_.assign(reinterpret_cast<const char*>(&root.id), sizeof root.id);
  key_.append(relative);
  auto wanted_in_memory = [&](const OpenFile& f) {
    const size_t size = static_cast<size_t>(f.st.st_size);
    return f.regular() && !f.in_memory &&
           size <= (large_in_memory ? kMaxInMemoryFile : kSmallFile) &&
           memory_bytes_ + size <= max_memory_bytes_;
  };
  std::shared_ptr<OpenFile> file;
  if (auto* hit = files_.find(key_)) {
    if (!wanted_in_memory(**hit)) return *hit;
    // Known, now asked for over TLS: a new entry with its contents (the old
    // one stays whole for the answers that hold it).
    const OpenFile& old = **hit;
    file = std::make_shared<OpenFile>();
    file->fd = base::UniqueFd(fcntl(old.fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!file->fd.valid()) return *hit;
    file->st = old.st;
    file->found = true;
    file->etag = old.etag;
    file->last_modified = old.last_modified;
    file->mime_type = old.mime_type;
    file->cache_control = old.cache_control;
  } else {
    file = std::make_shared<OpenFile>();
    file->fd = open_beneath(root.fd.get(), std::string(relative), &file->st);
    file->found = file->fd.valid();
    // Only regular files are sent; other fds would just pin directories.
    if (file->found && !S_ISREG(file->st.st_mode)) file->fd.reset();
    if (file->regular()) {
      file->etag = make_etag(file->st);
      file->last_modified = http::format_http_date(file->st.st_mtime);
      file->mime_type = mime_type_for(relative);
      file->cache_control = default_cache_control(relative, file->mime_type);
    }
  }
  if (wanted_in_memory(*file) && read_whole(*file, static_cast<size_t>(file->st.st_size))) {
    memory_bytes_ += file->content.size();
  }
  return files_.insert(key_, std::move(file),
                       [this](const std::shared_ptr<const OpenFile>& evicted) {
                         if (evicted->in_memory) memory_bytes_ -= evicted->content.size();
                       });
}

std::shared_ptr<const SiteRules> site_rules_for(const std::string& root_path, int root_fd) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::shared_ptr<const SiteRules>> cache;
  constexpr size_t kMaxRoots = 4096;
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(root_path); it != cache.end()) return it->second;
  }
  // Parsed outside the lock; two threads may both parse a new root once.
  auto rules = load_site_rules(root_fd);
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxRoots)
    cache.erase(cache.begin());  // roots are replaced, rarely revisited
  return cache.emplace(root_path, std::move(rules)).first->second;
}

}  // namespace wok::router
