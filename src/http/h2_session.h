#pragma once
// HTTP/2 (RFC 9113) on one connection, with nghttp2: each stream an
// Exchange, so every handler (static, FastCGI, proxy) serves HTTP/2 as it
// serves HTTP/1.1. Negotiated by ALPN "h2" on the TLS listener, or by the
// client's preface on a plain port that allows h2c with prior knowledge.
//
// Limits against the known attacks, each staged by tests/http/h2_test.cc:
// rapid reset (CVE-2023-44487: a token bucket on the client's RST_STREAMs,
// then GOAWAY), CONTINUATION floods (at most 8 after a HEADERS), HPACK
// bombs (decoded header bytes per request bounded by max_header_bytes:
// 431), too many streams (128 at once; more are refused), flow-control
// abuse (a client that never opens its window holds only what the
// connection's idle timeout allows; request bodies are only acknowledged
// as handlers take them), floods of empty DATA frames, PINGs and SETTINGS
// (answers queued beyond 1000 end the connection).
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/exchange_host.h"
#include "http/exchange_state.h"

namespace wok::http {

class Connection;
class EventLoop;
class OutputQueue;

// The client's connection preface: what marks h2c with prior knowledge.
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class H2Session final : public ExchangeHost {
 public:
  H2Session(Connection& connection, EventLoop& loop);
  ~H2Session() override;  // aborts the streams still open
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Queues the server's SETTINGS; false when nghttp2 cannot start.
  bool start();
  // Bytes from the client. False: the connection is broken or abusive; what
  // produce() still gives (a GOAWAY) goes out, then it closes.
  bool receive(std::string_view data);
  // Moves the frames to send into `out` while it holds less than `budget`
  // bytes; with `ssl`, through OutputQueue::stage_tls (written in full
  // records as they come, queued only once the socket is full). True when
  // it stopped at the budget with frames left to send (the caller comes
  // back once `out` has gone out: no event from the client may come to say
  // so when its windows are wide open).
  bool produce(OutputQueue& out, size_t budget, SSL* ssl = nullptr);
  // Neither side has anything more to say (GOAWAY done, or broken).
  bool done() const;
  bool idle() const { return streams_.empty(); }
  // A handler is answering a request whose client has sent it all (it owns
  // the pace, as on HTTP/1.1); a stream waiting on the client does not count.
  bool handlers_working() const;
  // The server stops: no new streams, those open finish.
  void go_away();

  // ExchangeHost: a handler's answer on its stream.
  void want_body(ExchangeState& ex) override;
  void respond(ExchangeState& ex, Response response) override;
  void start_response(ExchangeState& ex, const Response& head, int64_t content_length) override;
  bool write(ExchangeState& ex, std::string_view bytes) override;
  void finish(ExchangeState& ex) override;
  void upgrade(ExchangeState& ex, const Response& head) override;
  void abort(ExchangeState& ex) override;
  void report_limit(std::string_view limit, int status, std::string_view detail) override;
  size_t queued_output() const override;

 private:
  struct Stream;
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                       void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_data_chunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                           size_t len, void* self);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void* self);
  static int send_data(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd,
                       size_t length, nghttp2_data_source* source, void* self);
  // Puts frames into the output produce() is filling; false when broken.
  bool emit(std::string_view bytes);

  Stream* stream_of(int32_t id) const;
  Stream* stream_of(const ExchangeState& ex) const;
  void begin_exchange(Stream& s);
  void deliver_body(Stream& s);
  void end_body(Stream& s);
  void detach(Stream& s, bool aborted);
  bool submit(Stream& s, const Response& head, bool with_body, int64_t content_length);
  void answer_error(Stream& s, int status);

  Connection& connection_;
  EventLoop& loop_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  int empty_data_frames_ = 0;  // DATA frames with no payload and no END_STREAM
  bool fatal_ = false;
  // Where produce() puts frames, while it runs.
  struct Sink {
    OutputQueue* out = nullptr;
    SSL* ssl = nullptr;
    std::string batch;
  } sink_;
};

}  // namespace wok::http
