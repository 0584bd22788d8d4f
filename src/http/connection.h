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
#include "http/exchange_host.h"
#include "http/exchange_state.h"
#include "http/output_queue.h"
#include "http/request_parser.h"
#include "http/tls.h"

namespace wok::http {

class H2Session;

class Connection final : public ExchangeHost {
 public:
  Connection(int fd, std::string remote_addr, EventLoop& loop, uint64_t id);
  ~Connection() override;  // closes the socket; aborts an exchange in flight
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  // Each returns false when the connection is finished.
  bool on_events(uint32_t events);
  bool on_tick();  // timeouts
  bool on_stop();  // the server is stopping
  bool on_poke();  // an exchange changed something (see EventLoop::poke)

  // Called through Exchange (exchange.cc), on the loop thread.
  void want_body(ExchangeState& ex) override;
  void respond(ExchangeState& ex, Response response) override;
  void start_response(ExchangeState& ex, const Response& head, int64_t content_length) override;
  bool write(ExchangeState& ex, std::string_view bytes) override;
  void finish(ExchangeState& ex) override;
  void upgrade(ExchangeState& ex, const Response& head) override;
  void abort(ExchangeState& ex) override;
  void report_limit(std::string_view limit, int status, std::string_view detail) override;
  size_t queued_output() const override { return output_.buffered_bytes(); }

  // For its HTTP/2 session: drive the connection again after this event.
  void kick() { schedule(); }
  const std::string& remote_addr() const { return remote_addr_; }
  bool is_tls() const { return ssl_ != nullptr; }

 private:
  enum class State {
    kOpen,       // reading and answering requests
    kClosing,    // answer what is queued, then close
    kLingering,  // our side is shut; drain the peer so it sees the response, not a reset
    kDead,
  };

  void read_input(bool stop_when_short = false);
  // HTTP/1.1 or HTTP/2 (ALPN "h2", or the h2c preface where allowed);
  // false while the first bytes could still be either.
  bool decide_protocol();
  bool settle_h2();
  // The TLS 1.3 ticket, asked before the first answer is written.
  void ask_ticket_once();
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
  // Everything queued went to the socket (under TLS: out of the session too).
  bool all_sent() const { return output_.empty() && tls_output_.pending() == 0; }
  // Driven again after this event (next_turn: after the loop's next look
  // at its descriptors).
  void schedule(bool next_turn = false);
  LoopState loop_state() const { return loop_.state(); }

  int fd_;
  std::unique_ptr<H2Session> h2_;  // set once the connection speaks HTTP/2
  bool protocol_decided_ = false;
  SSL* ssl_ = nullptr;  // a TLS connection's session (ServerOptions::tls)
  // SSL_read waits for the socket to take bytes (a TLS 1.3 ticket, an alert).
  bool read_wants_write_ = false;
  bool tls_short_read_ = false;    // the socket's last read under TLS came back short
  TlsOutput tls_output_;           // what the session wrote, not yet sent
  bool tls_ticket_asked_ = false;  // the TLS 1.3 ticket goes with the first answer
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
