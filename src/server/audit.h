#pragma once
// The audit log (docs/api.md, "Audit"): every change asked of the API, who
// asked, from where, what it changed and whether it was allowed, one JSON
// line each, appended to DATA/audit/audit.log (0600) and rotated by size.
// Never a secret's value, a token, or a statement's text.
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wok::server {

struct AuditQuery {
  std::string user;    // "" any
  std::string ns;      // "" any project
  size_t limit = 100;  // the newest this many, given oldest first
};

class AuditLog {
 public:
  // `dir` is made 0700 if needed. A file over max_bytes is rotated to
  // audit.log.1 (.1 to .2, ...); `keep` rotated files are kept.
  explicit AuditLog(std::string dir, size_t max_bytes = 10u << 20, int keep = 10);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // "" when it could not be opened (the error).
  const std::string& error() const { return error_; }
  void append(const nlohmann::json& entry);
  // The newest entries matching, oldest first, from the current and rotated files.
  std::vector<nlohmann::json> read(const AuditQuery& query);
  size_t lines_written() const { return written_; }

 private:
  void open_file();
  void rotate();

  std::string dir_, path_;
  size_t max_bytes_;
  int keep_;
  std::mutex mu_;
  FILE* file_ = nullptr;
  size_t size_ = 0;
  size_t written_ = 0;
  std::string error_;
};

}  // namespace wok::server
