#pragma once
// An instance's stdout and stderr are plain files opened O_APPEND and handed
// to the container, so they survive a restart of wok itself. Rotation is
// copy-then-truncate (the writer keeps its descriptor): FILE -> FILE.1.
// Runs (one per launch) are appended to the same file; FILE.runs records
// where each began ("start OFFSET") and each rotation ("rotate"), so that
// `wok logs` can show the current run and `--previous` the one before.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wok::runtime {

// O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0640; -1 on failure.
int open_log(const std::filesystem::path& path);

// Rotates when the file is larger than max_bytes; true if it did (and
// records it in FILE.runs, when there is one).
bool rotate_log_if_larger(const std::filesystem::path& path, uint64_t max_bytes);

// Before a launch (no writer left): rotates if larger than max_bytes, then
// records in FILE.runs that the next run starts at FILE's current end.
void begin_run_log(const std::filesystem::path& path, uint64_t max_bytes);

enum class Run { kCurrent, kPrevious };
// The last `n` lines of a run: kCurrent is the newest run (the one running,
// or the last one if the instance is not running), kPrevious the one before.
// Without FILE.runs (an instance launched by an older wok) the whole file is
// the current run and there is no previous one. A run whose beginning was
// rotated away starts at the beginning of FILE.1.
std::vector<std::string> run_lines(const std::filesystem::path& path, Run run, size_t n);

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
