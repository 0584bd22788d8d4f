#pragma once
// One thread's epoll loop: accepts on its own listener, drives its
// connections, scans timeouts, drains them on stop, and lends handlers
// their own descriptors, timers and deferred calls (Loop).
#include <atomic>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/exchange.h"
#include "http/loop.h"
#include "http/server.h"

namespace wok::http {

class Connection;

// What the loop lends a connection for one call.
struct LoopState {
  const ServerOptions* options = nullptr;
  const AsyncHandler* handler = nullptr;
  std::string_view date;  // current IMF-fixdate
  int64_t now_ms = 0;     // monotonic
  bool stopping = false;
};

class EventLoop final : public Loop {
 public:
  // live_connections is shared by all loops of a server (max_connections).
  EventLoop(const ServerOptions& options, const AsyncHandler& handler,
            std::atomic<int>* live_connections);
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Takes ownership of listen_fd, even on failure.
  bool init(int listen_fd, std::string* error);
  // Runs until a stop has drained every connection or its grace has passed.
  void run();
  // Callable from any thread.
  void request_stop(int grace_ms);

  // The server's loops, this one included: accepted connections go to the
  // one with the fewest. Set before run().
  void set_siblings(std::vector<EventLoop*> loops) { siblings_ = std::move(loops); }

  LoopState state() const;
  // Asks for connection (fd, id) to be driven again after this event, or
  // (next_turn) after the loop's next look at its descriptors.
  void poke(int fd, uint64_t connection_id, bool next_turn = false);

  // Loop
  uint64_t watch(int fd, uint32_t events, IoCallback callback) override;
  void unwatch(uint64_t token) override;
  bool rewatch(uint64_t token, IoCallback callback) override;
  uint64_t add_timer(int64_t delay_ms, Callback callback) override;
  void cancel_timer(uint64_t id) override;
  void defer(Callback callback) override;
  void defer_next_turn(Callback callback) override;
  int64_t now_ms() const override { return now_ms_; }
  std::shared_ptr<void>& local(const void* key) override { return locals_[key]; }
  std::shared_ptr<Mailbox> mailbox() override { return mailbox_; }

 private:
  void accept_all();
  void adopt(int fd, std::string remote);
  // From another loop's thread; false (remote kept) once this one stops.
  bool hand_over(int fd, std::string& remote);
  void stop_accepting();
  void adopt_handed_over();
  void shed_connection();
  void begin_stop();
  void tick();
  void run_timers();
  void run_deferred();
  int64_t wait_timeout() const;
  void refresh_clock();
  void drop(int fd);
  void close_all();

  const ServerOptions& options_;
  const AsyncHandler& handler_;
  std::atomic<int>* live_connections_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int listen_fd_ = -1;
  int reserve_fd_ = -1;  // spare fd, given up to shed a connection when out of descriptors
  int64_t listen_resume_ms_ = -1;  // listener paused after fd exhaustion until then
  Connection* connection_at(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < connections_.size()
               ? connections_[static_cast<size_t>(fd)].get()
               : nullptr;
  }
  // Indexed by fd (descriptors are small and dense): a lookup per event
  // without hashing.
  std::vector<std::unique_ptr<Connection>> connections_;
  size_t connection_count_ = 0;
  std::atomic<int> load_{0};           // connections here and on their way here
  std::atomic<bool> accepting_{true};  // false once stopping: nothing is handed over
  std::vector<EventLoop*> siblings_;
  struct HandedOver {
    int fd;
    std::string remote;
  };
  std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();
  void run_posted();
  std::mutex inbox_mutex_;
  std::vector<HandedOver> inbox_;
  uint64_t next_connection_id_ = 1;
  // Handler descriptors: epoll data carries kWatchBit | token, so a stale
  // event for an unwatched token finds nothing.
  std::unordered_map<uint64_t, std::shared_ptr<IoCallback>> watchers_;
  std::unordered_map<uint64_t, int> watched_fds_;
  uint64_t next_token_ = 1;
  using TimerMap = std::map<std::pair<int64_t, uint64_t>, Callback>;  // (deadline, id)
  using DeadlineMap = std::unordered_map<uint64_t, int64_t>;
  struct TimerNodes {
    TimerMap::node_type timer;
    DeadlineMap::node_type deadline;
  };
  static constexpr size_t kMaxSpareTimers = 1024;
  TimerMap timers_;
  DeadlineMap timer_deadlines_;
  std::vector<TimerNodes> spare_timers_;  // cancelled timers' nodes, for reuse
  std::vector<Callback> deferred_;
  std::vector<Callback> running_;    // spare storage for run_deferred
  std::vector<Callback> next_turn_;  // deferred to the next turn (defer_next_turn)
  std::unordered_map<const void*, std::shared_ptr<void>> locals_;
  std::atomic<int64_t> stop_deadline_ms_{-1};
  bool stopping_ = false;
  int64_t now_ms_ = 0;
  int64_t tick_interval_ms_ = 1000;
  time_t date_second_ = 0;
  std::string date_;
};

}  // namespace wok::http
