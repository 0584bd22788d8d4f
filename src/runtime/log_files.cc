#include "runtime/log_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <optional>
#include <sstream>

namespace wok::runtime {
namespace fs = std::filesystem;

int open_log(const fs::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

namespace {

fs::path runs_index(const fs::path& path) { return fs::path(path.string() + ".runs"); }

constexpr uintmax_t kIndexMaxBytes = 8 << 10;
constexpr size_t kIndexLinesKept = 64;  // a run needs its own line and the rotations after it

void append_to_index(const fs::path& path, const std::string& line, bool create) {
  int fd = ::open(runs_index(path).c_str(),
                  O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0640);
  if (fd < 0) return;
  std::string text = line + "\n";
  [[maybe_unused]] auto written = ::write(fd, text.data(), text.size());
  ::close(fd);
}

// The index only grows by a line per launch or rotation: its oldest lines go
// once it is 8 KiB (they name runs rotated away long ago).
void trim_index(const fs::path& path) {
  std::error_code ec;
  fs::path index = runs_index(path);
  if (fs::file_size(index, ec) <= kIndexMaxBytes || ec) return;
  std::deque<std::string> lines;
  std::ifstream in(index);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > kIndexLinesKept) lines.pop_front();
  }
  fs::path tmp(index.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& l : lines) out << l << '\n';
  }
  fs::rename(tmp, index, ec);
}

// A position in the log: in FILE (rotated 0), in FILE.1 (1), or gone (2).
struct Position {
  int rotated = 0;
  uint64_t offset = 0;
};

void read_range(const fs::path& file, uint64_t from, uint64_t to, std::string* out) {
  std::ifstream in(file, std::ios::binary);
  if (!in || to <= from) return;
  in.seekg(static_cast<std::streamoff>(from));
  std::string data(static_cast<size_t>(to - from), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  *out += data;
}

// The bytes from `a` up to `b` (b = nullopt: to the end of FILE).
std::string read_between(const fs::path& path, Position a, std::optional<Position> b) {
  fs::path rotated(path.string() + ".1");
  std::error_code ec;
  uint64_t rotated_size = fs::file_size(rotated, ec);
  if (ec) rotated_size = 0;
  uint64_t size = fs::file_size(path, ec);
  if (ec) size = 0;
  if (a.rotated >= 2) a = {1, 0};
  if (b && b->rotated >= 2) return {};
  std::string out;
  if (a.rotated == 1) {
    read_range(rotated, a.offset,
               b && b->rotated == 1 ? std::min(b->offset, rotated_size) : rotated_size, &out);
    if (b && b->rotated == 1) return out;
    a = {0, 0};
  }
  read_range(path, a.offset, b ? std::min(b->offset, size) : size, &out);
  return out;
}

std::vector<std::string> last_lines(const std::string& text, size_t n) {
  std::deque<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (lines.size() > n) lines.pop_front();
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return {lines.begin(), lines.end()};
}

}  // namespace

bool rotate_log_if_larger(const fs::path& path, uint64_t max_bytes) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec || size <= max_bytes) return false;
  fs::copy_file(path, fs::path(path.string() + ".1"), fs::copy_options::overwrite_existing, ec);
  if (ec) return false;
  if (::truncate(path.c_str(), 0) != 0) return false;
  append_to_index(path, "rotate", false);
  return true;
}

void begin_run_log(const fs::path& path, uint64_t max_bytes) {
  rotate_log_if_larger(path, max_bytes);
  trim_index(path);
  std::error_code ec;
  uint64_t size = fs::file_size(path, ec);
  append_to_index(path, "start " + std::to_string(ec ? 0 : size), true);
}

std::vector<std::string> run_lines(const fs::path& path, Run run, size_t n) {
  std::ifstream in(runs_index(path));
  if (!in) return run == Run::kCurrent ? tail_lines(path, n) : std::vector<std::string>{};
  // Each start's offset, with the number of rotations since it.
  std::vector<Position> starts;
  for (std::string line; std::getline(in, line);) {
    if (line == "rotate") {
      for (auto& p : starts) p.rotated = std::min(p.rotated + 1, 2);
    } else if (line.starts_with("start ")) {
      starts.push_back({0, std::strtoull(line.c_str() + 6, nullptr, 10)});
    }
  }
  size_t want = run == Run::kCurrent ? 1 : 2;
  if (starts.size() < want) return {};
  Position from = starts[starts.size() - want];
  std::optional<Position> to;
  if (run == Run::kPrevious) to = starts.back();
  return last_lines(read_between(path, from, to), n);
}

std::vector<std::string> tail_lines(const fs::path& path, size_t n) {
  std::deque<std::string> lines;
  for (const fs::path& p : {fs::path(path.string() + ".1"), path}) {
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
      lines.push_back(std::move(line));
      if (lines.size() > n) lines.pop_front();
    }
  }
  return {lines.begin(), lines.end()};
}

LogFollower::LogFollower(fs::path path, bool from_start) : path_(std::move(path)) {
  std::error_code ec;
  if (!from_start) offset_ = fs::file_size(path_, ec);
  if (ec) offset_ = 0;
}

std::string LogFollower::poll(size_t max_bytes) {
  std::error_code ec;
  uint64_t size = fs::file_size(path_, ec);
  if (ec) return {};
  if (size < offset_) offset_ = 0;  // truncated by a rotation
  if (size == offset_) return {};
  std::ifstream in(path_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string out(std::min<uint64_t>(size - offset_, max_bytes), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  offset_ += out.size();
  return out;
}

}  // namespace wok::runtime
