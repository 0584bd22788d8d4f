#include "runtime/log_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <sstream>

namespace wok::runtime {
namespace fs = std::filesystem;

int open_log(const fs::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

bool rotate_log_if_larger(const fs::path& path, uint64_t max_bytes) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec || size <= max_bytes) return false;
  fs::copy_file(path, fs::path(path.string() + ".1"), fs::copy_options::overwrite_existing, ec);
  if (ec) return false;
  return ::truncate(path.c_str(), 0) == 0;
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
