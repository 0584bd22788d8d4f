#pragma once
// One request in flight, as an asynchronous handler holds it. The handler
// gets it when the request head has arrived; it may answer at once or keep
// it and answer later, read the body whole or as a stream (with
// back-pressure), stream the response, or switch the connection to a raw
// tunnel (WebSocket). All calls must come from the connection's loop
// thread (loop()); after the client went away they do nothing.
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "http/inline_function.h"
#include "http/loop.h"
#include "http/message.h"

namespace wok::http {

struct ExchangeState;

// How an exchange ended: the single place where status and size are known
// (access logs hook here).
struct Completion {
  int status = 0;
  uint64_t body_bytes = 0;  // response body bytes queued for the client
  bool aborted = false;     // the client went away or the response broke off
  // Time spent on upstream attempts (a proxy's, php-fpm's), summed over
  // retries, in microseconds; -1: no upstream was involved.
  int64_t upstream_us = -1;
  // The request answered (its host, method and path as they arrived:
  // handlers do not change them); valid during the callback.
  const Request* request = nullptr;
};

// Room inside for what the router's access log keeps of a request (its
// site's names and two clocks): no allocation per request for it.
using CompletionCallback = InlineFunction<void(const Completion&), 96>;

class Exchange {
 public:
  // Receives the body in pieces; last is true once (with an empty or final piece).
  using BodySink = std::function<void(std::string_view piece, bool last)>;

  Exchange() = default;
  explicit Exchange(std::shared_ptr<ExchangeState> state) : state_(std::move(state)) {}

  // False once the connection is gone or the response is complete.
  bool active() const;
  const Request& request() const;
  Request& request();
  Loop& loop() const;

  // --- request body (sends "100 Continue" if the client expects it) ---
  // Buffers the whole body into request().body, then calls done.
  void read_body(std::function<void(Exchange&)> done);
  // Streams the body as it arrives.
  void stream_body(BodySink sink);
  // Back-pressure: stop delivering body pieces until resume_body().
  void pause_body();
  void resume_body();
  bool body_complete() const;

  // --- response ---
  // A whole response; completes the exchange.
  void respond(Response response);
  // A streamed response: head now (response.body ignored), body by write().
  // content_length >= 0: exactly that many bytes follow; -1: chunked (or,
  // for an HTTP/1.0 client, delimited by closing the connection).
  void start_response(const Response& head, int64_t content_length);
  // Queues body bytes; false once the client's queue is over its high-water
  // mark: stop producing until the on_writable callback.
  bool write(std::string_view bytes);
  void finish();
  void on_writable(std::function<void()> callback);
  // Sends a 101 head and turns the connection into a byte tunnel: client
  // bytes go to sink (last=true at client EOF), write() sends raw bytes,
  // finish() closes once written.
  void upgrade(const Response& head, BodySink sink);

  // The client went away (or the server stops) before completion.
  void on_abort(std::function<void()> callback);
  // Adds a callback run once when the exchange completes; callbacks run in
  // the order they were added.
  void on_complete(CompletionCallback callback);
  // Breaks the connection off (a streamed response cannot be finished).
  void abort();
  // Adds an upstream attempt's time to the Completion (before it completes).
  void add_upstream_time(int64_t us);
  // A limit the handler enforces (a site's body size): reported like the
  // server's own, to ServerOptions::on_limit with the client's address.
  void report_limit(std::string_view limit, int status, std::string_view detail);
  size_t queued_output() const;
  // A header every response of this exchange carries, whichever handler
  // answers (a site's Strict-Transport-Security); one the handler sets
  // itself wins. Call before the response starts.
  void add_response_header(std::string name, std::string value);

 private:
  std::shared_ptr<ExchangeState> state_;
};

using AsyncHandler = std::function<void(Exchange)>;

}  // namespace wok::http
