#pragma once
// Internal: what an Exchange handle and its Connection share. The
// connection clears `connection` when it goes away, so a handle kept by a
// handler never reaches a dead connection.
#include <cstdint>
#include <functional>

#include "http/exchange.h"

namespace wok::http {

class ExchangeHost;

struct ExchangeState {
  enum class Body { kUndecided, kBuffer, kStream };
  enum class Reply { kNone, kStreaming, kTunnel, kDone };

  ExchangeState() { completion.request = &request; }
  ExchangeState(const ExchangeState&) = delete;  // completion points into it
  ExchangeState& operator=(const ExchangeState&) = delete;

  ExchangeHost* connection = nullptr;  // an HTTP/1.1 Connection or an HTTP/2 stream's session
  int32_t stream_id = 0;               // HTTP/2: the exchange's stream
  Loop* loop = nullptr;
  Request request;
  bool head_request = false;
  bool expects_continue = false;

  Body body_mode = Body::kUndecided;
  bool body_done = false;
  bool body_paused = false;
  std::function<void(Exchange&)> on_body;
  Exchange::BodySink sink;

  Reply reply = Reply::kNone;
  bool keep_alive = true;
  bool send_body = true;        // false for HEAD, 204, 304: write() drops the bytes
  bool wants_writable = false;  // write() said "stop": call on_writable once drained
  bool chunked = false;
  int64_t remaining = -1;  // fixed-length body still owed; -1: not fixed
  Completion completion;
  std::vector<Header> extra_headers;  // added to the response head
  std::function<void()> on_writable;
  std::function<void()> on_abort;
  CompletionCallback on_complete;

  // Handlers' callbacks often hold the Exchange itself: dropping them once
  // the exchange is over breaks that cycle.
  void clear_callbacks() {
    on_body = nullptr;
    sink = nullptr;
    on_writable = nullptr;
    on_abort = nullptr;
    on_complete = nullptr;
  }
};

}  // namespace wok::http
