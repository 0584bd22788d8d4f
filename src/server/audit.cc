#include "server/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

namespace wok::server {

using nlohmann::json;

AuditLog::AuditLog(std::string dir, size_t max_bytes, int keep)
    : dir_(std::move(dir)), path_(dir_ + "/audit.log"), max_bytes_(max_bytes), keep_(keep) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  ::chmod(dir_.c_str(), 0700);
  std::lock_guard lock(mu_);
  open_file();
}

AuditLog::~AuditLog() {
  if (file_) fclose(file_);
}

void AuditLog::open_file() {
  // Append-only, owner-only, made so by open(2) itself.
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error_ = path_ + ": " + std::strerror(errno);
    file_ = nullptr;
    return;
  }
  struct stat st {};
  size_ = fstat(fd, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  file_ = fdopen(fd, "a");
  error_.clear();
}

void AuditLog::rotate() {
  if (file_) fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  std::filesystem::remove(path_ + "." + std::to_string(keep_), ec);
  for (int i = keep_ - 1; i >= 1; --i)
    std::filesystem::rename(path_ + "." + std::to_string(i), path_ + "." + std::to_string(i + 1),
                            ec);
  std::filesystem::rename(path_, path_ + ".1", ec);
  open_file();
}

void AuditLog::append(const json& entry) {
  std::string line = entry.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  if (size_ + line.size() > max_bytes_ && size_ > 0) rotate();
  if (!file_) return;
  fwrite(line.data(), 1, line.size(), file_);
  fflush(file_);
  size_ += line.size();
  ++written_;
}

std::vector<json> AuditLog::read(const AuditQuery& q) {
  std::vector<std::string> files = {path_};
  for (int i = 1; i <= keep_; ++i) files.push_back(path_ + "." + std::to_string(i));
  std::deque<json> newest;  // oldest first
  std::lock_guard lock(mu_);
  // Newest file first; within a file, its lines in order (kept to `limit`).
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) continue;
    std::deque<json> found;
    for (std::string line; std::getline(in, line);) {
      json e = json::parse(line, nullptr, false);
      if (!e.is_object()) continue;
      if (!q.user.empty() && e.value("user", "") != q.user) continue;
      if (!q.ns.empty() && e.value("namespace", "") != q.ns) continue;
      found.push_back(std::move(e));
      if (found.size() > q.limit) found.pop_front();
    }
    for (auto it = found.rbegin(); it != found.rend() && newest.size() < q.limit; ++it)
      newest.push_front(std::move(*it));
    if (newest.size() >= q.limit) break;
  }
  return {newest.begin(), newest.end()};
}

}  // namespace wok::server
