#pragma once
// One client connection on an event loop: reads, parses, hands each request
// to the handler as an Exchange (one at a time, in order: pipelining),
// feeds it the body, queues its response, closes per keep-alive rules,
// timeouts and stop. The loop owns it and destroys it when a call returns
// false.
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "http/event_loop.h"
#include "http/exchange_state.h"
#include "http/output_queue.h"
#include "http/request_parser.h"

namespace wok::http {

class Connection {
 public:
  Connection(int fd, std::string remote_addr, EventLoop& loop, uint64_t id);
  ~Connection();  // closes the socket; aborts an exchange in flight
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  // Each returns false when the connection is finished.
  bool on_events(uint32_t events);
  bool on_tick();  // timeouts
  bool on_stop();  // the server is stopping
  bool on_poke();  // an exchange changed something (see EventLoop::poke)

  // Called through Exchange (exchange.cc), on the loop thread.
  void want_body(ExchangeState& ex);
  void respond(ExchangeState& ex, Response response);
  void start_response(ExchangeState& ex, const Response& head, int64_t content_length);
  bool write(ExchangeState& ex, std::string_view bytes);
  void finish(ExchangeState& ex);
  void upgrade(ExchangeState& ex, const Response& head);
  void abort(ExchangeState& ex);
  void report_limit(std::string_view limit, int status, std::string_view detail);
  size_t queued_output() const { return output_.buffered_bytes(); }

 private:
  enum class State {
    kOpen,       // reading and answering requests
    kClosing,    // answer what is queued, then close
    kLingering,  // our side is shut; drain the peer so it sees the response, not a reset
    kDead,
  };

  void read_input(bool stop_when_short = false);
  // recv(), or SSL_read on a TLS connection (-1 with EAGAIN when it must wait).
  ssize_t receive(char* buf, size_t size);
  void process_input();
  bool parse_step();
  void begin_exchange(Request request);
  void deliver_body(std::string piece, bool last);
  void deliver_tunnel();
  bool exchange_wants_input() const;
  void complete_exchange(bool keep_alive);
  void fail(int status, std::string_view limit, std::string_view detail);
  void respond_error(int status);
  void flush();
  bool settle();
  void notify_writable();
  bool backlogged() const;
  bool idle() const;
  void schedule();
  LoopState loop_state() const { return loop_.state(); }

  int fd_;
  SSL* ssl_ = nullptr;  // a TLS connection's session (ServerOptions::tls)
  // SSL_read waits for the socket to take bytes (a TLS 1.3 ticket, an alert).
  bool read_wants_write_ = false;
  std::string remote_addr_;
  EventLoop& loop_;
  uint64_t id_;
  RequestParser parser_;
  std::string input_;  // bytes read but not yet parsed (back-pressure)
  size_t input_offset_ = 0;
  size_t discarded_ = 0;  // input dropped while closing
  OutputQueue output_;
  std::shared_ptr<ExchangeState> exchange_;  // the request being answered
  bool tunnel_ = false;                      // after a 101: raw bytes both ways
  bool tunnel_eof_sent_ = false;
  State state_ = State::kOpen;
  bool peer_closed_ = false;  // read returned 0
  bool read_paused_ = false;  // stopped reading: enough input is waiting
  bool scheduled_ = false;
  int64_t opened_ms_;
  int64_t last_activity_ms_;
  int64_t last_read_ms_;
  int64_t header_start_ms_ = -1;  // when the pending request's first bytes came; -1: none
  int64_t linger_deadline_ms_ = 0;
};

}  // namespace wok::http
