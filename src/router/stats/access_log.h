#pragma once
// Per-site access logs: DIR/<project>/<site>/access.log, one line per
// request. The request path formats the line and enqueues it; a background
// thread does all file work (open, write, rotate). When the queue is full
// lines are dropped and counted, so a slow disk never slows the router.
//
// Line: TIME HOST METHOD PATH STATUS BYTES DURATION_MS UPSTREAM_MS
//   2026-11-25T23:23:23.123Z www.a.example GET /index.html 200 5120 0.041 -
// Fields never contain spaces or control bytes (escaped as \xHH).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "base/unique_fd.h"
#include "router/stats/request_observer.h"

namespace wok::router {

struct AccessLogOptions {
  std::string dir;                        // DATA/logs
  uint64_t max_bytes = 10 * 1024 * 1024;  // rotate access.log beyond this size
  int keep = 5;                           // access.log.1 .. access.log.<keep>
  size_t max_queued = 65536;              // lines waiting for the writer
};

class AccessLog : public RequestObserver {
 public:
  explicit AccessLog(AccessLogOptions options);
  ~AccessLog() override;  // writes what is queued, then stops
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void on_request(const RequestRecord& record) override;
  // Blocks until every line queued so far is written (tests, shutdown).
  void flush();
  uint64_t dropped() const;

  static std::string format_line(const RequestRecord& record);

 private:
  struct Line {
    std::string site_dir;  // "<project>/<site>"
    std::string text;
  };
  void run();
  void write_batch(std::deque<Line>& batch);
  void rotate(const std::string& file) const;

  struct OpenLog {
    base::UniqueFd fd;
    uint64_t size = 0;
  };
  static bool open_log(const std::string& file, OpenLog* log, bool truncate);
  static void write_all(OpenLog& log, const std::string& text);

  AccessLogOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, written_;
  std::deque<Line> queue_;
  uint64_t enqueued_ = 0, done_ = 0, dropped_ = 0;
  bool stopping_ = false;
  std::unordered_map<std::string, OpenLog> files_;  // writer thread only
  std::thread writer_;
};

}  // namespace wok::router
