#pragma once
// One client connection on an event loop: reads, parses, calls the handler
// in order (pipelining), queues responses, closes per keep-alive rules,
// timeouts and stop. The loop owns it and destroys it when a call returns
// false.
#include <cstdint>
#include <string>

#include "http/message.h"
#include "http/output_queue.h"
#include "http/request_parser.h"
#include "http/server.h"

namespace wok::http {

// What the loop lends a connection for one call.
struct LoopState {
  const ServerOptions* options = nullptr;
  const Handler* handler = nullptr;
  std::string_view date;  // current IMF-fixdate
  int64_t now_ms = 0;     // monotonic
  bool stopping = false;
};

class Connection {
 public:
  Connection(int fd, std::string remote_addr, const ServerOptions& options, int64_t now_ms);
  ~Connection();  // closes the socket
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Each returns false when the connection is finished.
  bool on_events(uint32_t events, const LoopState& loop);
  bool on_tick(const LoopState& loop);  // timeouts
  bool on_stop(const LoopState& loop);  // the server is stopping

 private:
  enum class State {
    kOpen,       // reading and answering requests
    kClosing,    // answer what is queued, then close
    kLingering,  // our side is shut; drain the peer so it sees the response, not a reset
    kDead,
  };

  void read_input(const LoopState& loop);
  void process_input(const LoopState& loop);
  void respond(Request request, const LoopState& loop);
  void respond_error(int status, const LoopState& loop);
  void flush(const LoopState& loop);
  bool settle(const LoopState& loop);
  bool backlogged() const;
  bool idle() const;

  int fd_;
  std::string remote_addr_;
  RequestParser parser_;
  std::string input_;  // bytes read but not yet parsed (back-pressure)
  size_t input_offset_ = 0;
  size_t discarded_ = 0;  // input dropped while closing
  OutputQueue output_;
  State state_ = State::kOpen;
  bool peer_closed_ = false;  // read returned 0
  bool read_paused_ = false;  // stopped reading because too much output is queued
  int64_t last_activity_ms_;
  int64_t header_start_ms_ = -1;  // when the pending request's first bytes came; -1: none
  int64_t linger_deadline_ms_ = 0;
};

}  // namespace wok::http
