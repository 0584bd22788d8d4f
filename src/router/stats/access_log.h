#pragma once
// Per-site access logs: DIR/<project>/<site>/access.log, one line per
// request. Each loop thread formats its lines into a buffer of its own (a
// shard, its lock uncontended but for the writer's swap); a background
// thread takes every shard's lines in batches, at most `flush_interval`
// after the first one (sooner when a shard holds `flush_bytes`), and does
// all file work (open, write, rotate). A request costs a formatted line and
// no cross-thread wake; a full shard drops lines and counts them, so a slow
// disk never slows the router. Lines of one thread keep their order; lines
// of two threads in one batch are written one thread after the other (as
// nginx's workers write their buffered logs).
//
// Line: TIME HOST METHOD PATH STATUS BYTES DURATION_MS UPSTREAM_MS
//   2026-11-25T23:23:23.123Z www.a.example GET /index.html 200 5120 0.041 -
// Fields never contain spaces or control bytes (escaped as \xHH).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/unique_fd.h"
#include "router/stats/request_observer.h"

namespace wok::router {

struct AccessLogOptions {
  std::string dir;                                // DATA/logs
  uint64_t max_bytes = 10 * 1024 * 1024;          // rotate access.log beyond this size
  int keep = 5;                                   // access.log.1 .. access.log.<keep>
  std::chrono::milliseconds flush_interval{200};  // longest a line waits in its shard
  size_t flush_bytes = 64 * 1024;                 // a shard this full wakes the writer now
  size_t max_buffered_bytes = 8 << 20;            // per shard: beyond it lines are dropped
};

class AccessLog : public RequestObserver {
 public:
  explicit AccessLog(AccessLogOptions options);
  ~AccessLog() override;  // writes what is buffered, then stops
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void on_request(const RequestRecord& record) override;
  // Blocks until every line logged so far (by any thread) is written.
  void flush();
  uint64_t dropped() const;
  // Prometheus text: wok_access_log_lines_dropped_total.
  std::string prometheus() const;

  static std::string format_line(const RequestRecord& record);

 private:
  struct Run {             // one site's lines in a shard
    std::string site_dir;  // "<project>/<site>"
    std::string text;
  };
  struct Shard;
  Shard& shard();
  void run();
  // Takes every shard's lines and writes them.
  void write_pass();
  void write_run(const Run& run);
  void rotate(const std::string& file) const;
  void wake(bool urgent);

  struct OpenLog {
    base::UniqueFd fd;
    uint64_t size = 0;
  };
  static bool open_log(const std::string& file, OpenLog* log, bool truncate);
  static void write_all(OpenLog& log, std::string_view text);

  const AccessLogOptions options_;
  const uint64_t id_;  // tells this log's shards in a thread's cache from another's

  mutable std::mutex shards_mutex_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unordered_map<std::thread::id, Shard*> by_thread_;

  std::mutex mutex_;  // the writer's state below
  std::condition_variable wake_, written_;
  bool pending_ = false, urgent_ = false, stopping_ = false;
  uint64_t flush_requested_ = 0, flush_done_ = 0;
  std::unordered_map<std::string, OpenLog> files_;  // writer thread only
  std::thread writer_;
};

}  // namespace wok::router
