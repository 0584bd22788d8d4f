#pragma once
// An instance's stdout and stderr are plain files opened O_APPEND and handed
// to the container, so they survive a restart of wok itself. Rotation is
// copy-then-truncate (the writer keeps its descriptor): FILE -> FILE.1.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wok::runtime {

// O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0640; -1 on failure.
int open_log(const std::filesystem::path& path);

// Rotates when the file is larger than max_bytes; true if it did.
bool rotate_log_if_larger(const std::filesystem::path& path, uint64_t max_bytes);

// The last `n` lines of FILE.1 + FILE (a partial last line counts).
std::vector<std::string> tail_lines(const std::filesystem::path& path, size_t n);

// Follows a log file (`wok logs -f`): each poll() returns what was appended
// since the previous one, starting from the current end (or from the
// beginning with from_start), and starts over after a rotation.
class LogFollower {
 public:
  explicit LogFollower(std::filesystem::path path, bool from_start = false);
  std::string poll(size_t max_bytes = 1 << 20);

 private:
  std::filesystem::path path_;
  uint64_t offset_ = 0;
};

}  // namespace wok::runtime
