#pragma once
// Open file descriptors and stat results of recently served files, per loop
// thread (no locks on the request path). Sound without invalidation because
// a routed revision root never changes: a new revision is a new root, and
// entries of old roots age out of the bounded LRU, which closes their fds.
// Misses ("no such file") are cached too: index.html is probed on every
// request for a directory (a file's precompressed siblings once, see
// OpenFile::siblings).
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "router/site_rules.h"
#include "router/static/lru_map.h"

namespace wok::router {

struct OpenFile {
  base::UniqueFd fd;  // owned by the cache: hand out dup()s, never this one
  struct stat st {};
  bool found = false;
  // Small files are kept in memory too and answered from there on every
  // connection (one writev instead of dup + sendfile + close, see
  // docs/performance.md); larger ones up to kMaxInMemoryFile once asked for
  // over TLS, where sendfile is not used and each 16 KiB would be a pread.
  bool in_memory = false;
  std::string content;
  // Validators, formatted once.
  std::string etag;
  std::string last_modified;
  // Its Content-Type and default Cache-Control, by its name, found once
  // (static strings).
  std::string_view mime_type;
  std::string_view cache_control;
  // Which precompressed siblings (name.br, name.gz) the site has: found
  // on the first answer, then known (the root never changes). The static
  // handler's to set, on the cache's one thread.
  static constexpr uint8_t kSiblingsUnknown = 0xff, kBrotliSibling = 1, kGzipSibling = 2;
  mutable std::atomic<uint8_t> siblings{kSiblingsUnknown};
  bool regular() const { return found && S_ISREG(st.st_mode); }
  bool directory() const { return found && S_ISDIR(st.st_mode); }
};

struct OpenRoot {
  std::string path;
  // Names this root in the cache's file keys (8 bytes hashed per lookup,
  // not the whole path); never reused within the process.
  uint64_t id = 0;
  base::UniqueFd fd;  // O_PATH directory to resolve beneath
  std::shared_ptr<const SiteRules> rules;
};

class OpenFileCache {
 public:
  static constexpr size_t kSmallFile = 16 * 1024;
  static constexpr size_t kMaxInMemoryFile = 256 * 1024;
  OpenFileCache(size_t max_files, size_t max_roots, size_t max_memory_bytes = 8 << 20);
  // The calling thread's cache (1024 files, 128 roots, 8 MiB of contents).
  static OpenFileCache& for_this_thread();

  // nullptr when the root cannot be opened (not deployed yet or gone);
  // such failures are not cached.
  std::shared_ptr<const OpenRoot> root(const std::string& path);
  // relative as from decode_request_path ("" is the root itself).
  // large_in_memory: the answer goes through user space anyway (TLS), so a
  // file over kSmallFile (up to kMaxInMemoryFile) is read into memory too,
  // once; on plain HTTP such files keep sendfile and cost no memory.
  std::shared_ptr<const OpenFile> file(const OpenRoot& root, std::string_view relative,
                                       bool large_in_memory = false);

  size_t files() const { return files_.size(); }
  size_t memory_bytes() const { return memory_bytes_; }

 private:
  LruMap<std::shared_ptr<const OpenFile>> files_;  // key: root id (8 bytes), relative
  LruMap<std::shared_ptr<const OpenRoot>> roots_;
  std::shared_ptr<const OpenRoot> last_root_;  // the most recently used of roots_
  std::string key_;                            // reused to build keys without allocating
  size_t max_memory_bytes_;
  size_t memory_bytes_ = 0;  // contents of in-memory files held
};

// Rules are parsed once per root for the whole process, then shared.
std::shared_ptr<const SiteRules> site_rules_for(const std::string& root_path, int root_fd);

}  // namespace wok::router
