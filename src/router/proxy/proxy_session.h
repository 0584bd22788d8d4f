#pragma once
// One proxied request: picks an upstream, connects (or reuses a kept-alive
// connection), streams the request body up and the response down with
// back-pressure both ways, retries where that is safe, and answers
// 502/504 itself. Lives as long as its upstream socket is watched.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/exchange.h"
#include "http/response_parser.h"
#include "router/proxy/loop_upstreams.h"
#include "router/proxy/proxy_headers.h"
#include "router/proxy/upstream_io.h"
#include "router/proxy/upstream_pool.h"

namespace wok::router {

class ProxySession : public std::enable_shared_from_this<ProxySession> {
 public:
  ProxySession(std::shared_ptr<const UpstreamPool> pool, uint64_t max_body_bytes,
               http::Exchange exchange);
  ~ProxySession();
  void start();

 private:
  enum class Phase { kConnecting, kExchanging, kTunnel, kDone };
  enum class Failure { kConnect, kConnectTimeout, kReset, kReadTimeout, kBadResponse };

  void try_next();
  void attach(LoopUpstreams::Handle connection, bool in_progress);
  void on_io(uint32_t events);
  void on_connected();
  void on_body_piece(std::string_view piece, bool last);
  void on_client_tunnel(std::string_view piece, bool last);
  void send_pending();
  void read_upstream();
  void on_response_bytes(std::string_view data);
  void send_head();
  void on_upstream_eof();
  void complete(bool reusable);
  void fail(Failure failure);
  void reply_error(int status, std::string_view text);
  void release(bool reusable);
  void on_timeout();
  void resume_upstream();
  const UpstreamAddress& address() const { return pool_->addresses()[index_]; }

  std::shared_ptr<const UpstreamPool> pool_;
  uint64_t max_body_bytes_;
  http::Exchange ex_;
  http::Loop& loop_;
  LoopUpstreams& upstreams_;
  std::string head_;
  BodyFraming framing_;
  bool idempotent_;
  bool websocket_;
  bool head_request_;
  std::vector<bool> tried_;
  int index_ = -1;
  int stale_retries_ = 0;
  int fd_ = -1;
  uint64_t watch_ = 0;
  Deadline deadline_{loop_};  // connect, then read timeout
  UpstreamTimer timer_;       // each attempt, for the access log
  Phase phase_ = Phase::kConnecting;
  bool reused_ = false;
  SendBuffer out_;  // bytes for the upstream
  bool body_requested_ = false;
  bool body_done_ = false;
  bool client_eof_ = false;  // tunnel: the client closed its side
  uint64_t body_bytes_ = 0;
  http::ResponseParser parser_;
  bool head_sent_ = false;
  bool upstream_paused_ = false;  // the client's queue is full
  uint32_t io_events_ = 0;        // every epoll event seen on the upstream socket
};

}  // namespace wok::router
