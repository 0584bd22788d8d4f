#include "http/h2_session.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "http/ascii.h"
#include "http/connection.h"
#include "http/event_loop.h"
#include "http/output_queue.h"
#include "http/response_head.h"

namespace wok::http {
namespace {

using Reply = ExchangeState::Reply;
using Body = ExchangeState::Body;

constexpr uint32_t kMaxConcurrentStreams = 128;
// write() asks the producer to wait beyond this much queued on a stream.
constexpr size_t kStreamHighWater = 256 * 1024;
// Empty DATA frames without END_STREAM cost work and carry nothing
// (CVE-2019-9518): this many on a connection is an attack.
constexpr int kMaxEmptyDataFrames = 100;

bool connection_specific(std::string_view name) {
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "transfer-encoding") ||
         iequals(name, "upgrade") || iequals(name, "content-length") || iequals(name, "date");
}

bool safe(std::string_view s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

bool bodiless_status(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

// A 2xx to an extended CONNECT opens the tunnel (RFC 8441 5), so a handler
// that answers a WebSocket request as an ordinary one (a static site's
// file, an app that does not upgrade) must not send its 2xx: over HTTP/1.1
// the client fails the handshake on anything but 101; here it gets 501.
Response not_a_websocket() {
  Response response;
  response.status = 501;
  response.set_header("Content-Type", "text/plain; charset=utf-8");
  response.body = "no WebSocket is served here\n";
  return response;
}

// A Sec-WebSocket-Key for the HTTP/1.1 upgrade an extended CONNECT becomes
// (RFC 6455 4.1: 16 random bytes, base64); empty if the source fails.
std::string websocket_key() {
  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return "";
  std::string key(24, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(key.data()), nonce, sizeof nonce);
  return key;
}

}  // namespace

struct H2Session::Stream {
  int32_t id = 0;
  std::shared_ptr<ExchangeState> ex;  // null once the answer is the stream's alone
  // The request as it arrives.
  std::string method, path, authority, scheme, protocol, cookies;
  std::vector<Header> headers;
  size_t header_bytes = 0;
  bool too_large = false;
  bool headers_done = false;
  bool body_end = false;       // END_STREAM from the client
  bool end_delivered = false;  // the handler was told the body ended
  std::string unread;          // body bytes the handler has not taken yet
  uint64_t body_bytes = 0;
  // The answer as it leaves.
  // Body bytes not yet framed: pending from pending_sent on (framed bytes
  // are not erased one frame at a time, which would move the rest each time).
  std::string pending;
  size_t pending_sent = 0;
  size_t pending_left() const { return pending.size() - pending_sent; }
  SharedBytes shared;  // a whole answer's body held elsewhere (a cached file)
  size_t shared_sent = 0;
  int file_fd = -1;
  off_t file_offset = 0;
  size_t file_left = 0;
  bool eof = false;        // nothing more will be added
  int64_t remaining = -1;  // a declared Content-Length still owed
  bool send_body = true;
  bool deferred = false;   // the data source said "not yet"
  bool websocket = false;  // an extended CONNECT (RFC 8441) for a WebSocket
  ~Stream() {
    if (file_fd >= 0) close(file_fd);
  }
};

H2Session::H2Session(Connection& connection, EventLoop& loop)
    : connection_(connection), loop_(loop) {}

H2Session::~H2Session() {
  // Streams still carrying a handler's exchange: it lost its client.
  for (auto& [id, s] : streams_)
    if (s->ex) detach(*s, true);
  streams_.clear();
  if (session_) nghttp2_session_del(session_);
}

bool H2Session::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
  nghttp2_session_callbacks_set_send_data_callback(callbacks, send_data);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Request bodies are acknowledged (WINDOW_UPDATE) as handlers take them:
  // a paused upload holds at most one window, not the whole body.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_continuations(option, 8);
  nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33);
  nghttp2_option_set_max_outbound_ack(option, 1000);
  nghttp2_option_set_max_settings(option, 32);
  int rv = nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return false;
  const ServerOptions& o = *loop_.state().options;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 256 * 1024},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(o.max_header_bytes)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      // WebSockets over HTTP/2 (RFC 8441): a CONNECT with :protocol.
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings,
                              sizeof settings / sizeof settings[0]) != 0)
    return false;
  // The connection's window: several uploads at once.
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 1 << 20);
  return true;
}

bool H2Session::receive(std::string_view data) {
  if (fatal_) return false;
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data.data()),
                                        data.size());
  if (rv < 0) {
    const char* why = nghttp2_strerror(static_cast<int>(rv));
    connection_.report_limit(rv == NGHTTP2_ERR_FLOODED ? "h2_flood" : "h2_protocol", 0, why);
    fatal_ = true;
    return false;
  }
  connection_.kick();
  return true;
}

// Frames go to the connection as they come: under TLS into records
// (stage_tls), else into one string for the queue.
bool H2Session::emit(std::string_view bytes) {
  if (!sink_.ssl) {
    sink_.batch.append(bytes);
  } else if (sink_.out->stage_tls(sink_.ssl, bytes) == OutputQueue::Result::kError) {
    fatal_ = true;
    return false;
  }
  return true;
}

bool H2Session::produce(OutputQueue& out, size_t budget, SSL* ssl) {
  sink_.out = &out;
  sink_.ssl = ssl;
  std::string& batch = sink_.batch;
  batch.clear();
  bool more = false;
  for (;;) {
    if (out.buffered_bytes() + batch.size() >= budget) {
      more = true;
      break;
    }
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      fatal_ = true;
      break;
    }
    if (n == 0) break;
    if (fatal_ ||
        !emit(std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n))))
      break;
  }
  if (ssl && out.finish_tls(ssl) == OutputQueue::Result::kError) fatal_ = true;
  if (!batch.empty()) out.push(std::move(batch));
  sink_ = Sink{};
  return more && !fatal_;
}

bool H2Session::done() const {
  return fatal_ || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_));
}

void H2Session::go_away() {
  if (!session_ || fatal_) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  connection_.kick();
}

H2Session::Stream* H2Session::stream_of(int32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

H2Session::Stream* H2Session::stream_of(const ExchangeState& ex) const {
  Stream* s = stream_of(ex.stream_id);
  return s && s->ex.get() == &ex ? s : nullptr;
}

// ---- from the client ----

int H2Session::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* h2 = static_cast<H2Session*>(self);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto s = std::make_unique<Stream>();
  s->id = frame->hd.stream_id;
  h2->streams_[s->id] = std::move(s);
  return 0;
}

int H2Session::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name_p,
                         size_t namelen, const uint8_t* value_p, size_t valuelen, uint8_t,
                         void* self) {
  auto* h2 = static_cast<H2Session*>(self);
  Stream* s = h2->stream_of(frame->hd.stream_id);
  if (!s || s->headers_done) return 0;  // trailers: not kept
  // What the headers decode to, not what they cost on the wire: an HPACK
  // bomb (a large table entry referenced many times) is a large request.
  s->header_bytes += namelen + valuelen + 32;
  if (s->header_bytes > h2->loop_.state().options->max_header_bytes) {
    s->too_large = true;
    return 0;
  }
  std::string_view name(reinterpret_cast<const char*>(name_p), namelen);
  std::string value(reinterpret_cast<const char*>(value_p), valuelen);
  if (name == ":method") {
    s->method = std::move(value);
  } else if (name == ":path") {
    s->path = std::move(value);
  } else if (name == ":authority") {
    s->authority = std::move(value);
  } else if (name == ":scheme") {
    s->scheme = std::move(value);
  } else if (name == ":protocol") {
    s->protocol = std::move(value);
  } else if (name == "cookie") {  // RFC 9113 8.2.3: one header again for HTTP/1.1 semantics
    s->cookies += (s->cookies.empty() ? "" : "; ") + value;
  } else if (!name.empty() && name[0] != ':') {
    s->headers.push_back({std::string(name), std::move(value)});
  }
  return 0;
}

int H2Session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* h2 = static_cast<H2Session*>(self);
  Stream* s = h2->stream_of(frame->hd.stream_id);
  switch (frame->hd.type) {
    case NGHTTP2_DATA:
      if (frame->hd.length == 0 && !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
          ++h2->empty_data_frames_ > kMaxEmptyDataFrames) {
        h2->connection_.report_limit("h2_flood", 0, "empty DATA frames");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      if (s && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) h2->end_body(*s);
      break;
    case NGHTTP2_HEADERS:
      if (!s) break;
      if (!s->headers_done && (frame->hd.flags & NGHTTP2_FLAG_END_HEADERS)) {
        s->headers_done = true;
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) s->body_end = true;
        h2->begin_exchange(*s);
      } else if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        h2->end_body(*s);  // after trailers
      }
      break;
    default:
      break;
  }
  return 0;
}

int H2Session::on_data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                             const uint8_t* data, size_t len, void* self) {
  auto* h2 = static_cast<H2Session*>(self);
  Stream* s = h2->stream_of(stream_id);
  const bool tunnel = s && s->ex && s->ex->reply == Reply::kTunnel;
  if (!s || !s->ex || (s->ex->reply != Reply::kNone && !tunnel)) {
    // Nobody reads it (answered already, or gone): acknowledged and dropped.
    nghttp2_session_consume(session, stream_id, len);
    return 0;
  }
  s->body_bytes += len;
  const uint64_t limit = h2->loop_.state().options->max_body_bytes;
  if (!tunnel && s->body_bytes > limit) {  // a tunnel's bytes are no request body
    nghttp2_session_consume(session, stream_id, len);
    h2->connection_.report_limit("max_body", 413, "request body too large");
    h2->answer_error(*s, 413);
    return 0;
  }
  s->unread.append(reinterpret_cast<const char*>(data), len);
  h2->deliver_body(*s);
  return 0;
}

// The answer's last frame is out while the client still owes its body (a
// 401 or 413 before an upload): the stream is ended (RFC 9113 8.1,
// RST_STREAM NO_ERROR) rather than left half-open, holding the connection.
int H2Session::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  auto* h2 = static_cast<H2Session*>(self);
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  if (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) return 0;
  Stream* s = h2->stream_of(frame->hd.stream_id);
  if (s && !s->body_end && !s->ex)
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
  return 0;
}

int H2Session::on_stream_close(nghttp2_session* session, int32_t stream_id, uint32_t, void* self) {
  auto* h2 = static_cast<H2Session*>(self);
  auto it = h2->streams_.find(stream_id);
  if (it == h2->streams_.end()) return 0;
  // Body bytes nobody took still count against the connection's window.
  if (!it->second->unread.empty()) {
    nghttp2_session_consume_connection(session, it->second->unread.size());
    it->second->unread.clear();
  }
  // Still a handler's: the client reset it (or the connection broke).
  if (it->second->ex) h2->detach(*it->second, true);
  h2->streams_.erase(it);
  return 0;
}

void H2Session::begin_exchange(Stream& s) {
  auto ex = std::make_shared<ExchangeState>();
  ex->connection = this;
  ex->loop = &loop_;
  ex->stream_id = s.id;
  Request& r = ex->request;
  // RFC 8441: a WebSocket over HTTP/2 is a CONNECT with :protocol; the
  // handlers (the proxy, whose upstream speaks HTTP/1.1) see the upgrade
  // request HTTP/1.1 would have sent: GET with Upgrade, Connection and a
  // key of its own (HTTP/2 carries none; the answer's accept is dropped).
  s.websocket = s.method == "CONNECT" && !s.protocol.empty();
  if (s.websocket) {
    if (!iequals(s.protocol, "websocket")) {
      ex->head_request = false;
      s.ex = ex;
      answer_error(s, 501);  // a protocol this server does not tunnel
      return;
    }
    s.method = "GET";
    s.headers.erase(std::remove_if(s.headers.begin(), s.headers.end(),
                                   [](const Header& h) {
                                     return iequals(h.name, "upgrade") ||
                                            iequals(h.name, "connection") ||
                                            iequals(h.name, "sec-websocket-key");
                                   }),
                    s.headers.end());
    s.headers.push_back({"Upgrade", "websocket"});
    s.headers.push_back({"Connection", "Upgrade"});
    s.headers.push_back({"Sec-WebSocket-Key", websocket_key()});
  }
  r.method = std::move(s.method);
  r.target = s.path;
  size_t q = s.path.find('?');
  r.path = s.path.substr(0, q);
  if (q != std::string::npos) r.query = s.path.substr(q + 1);
  r.version_major = 2;
  r.version_minor = 0;
  r.keep_alive = true;
  r.remote_addr = connection_.remote_addr();
  r.tls = connection_.is_tls();
  bool has_host = false;
  for (const Header& h : s.headers) has_host = has_host || iequals(h.name, "host");
  if (!has_host && !s.authority.empty()) r.headers.push_back({"Host", s.authority});
  for (Header& h : s.headers) r.headers.push_back(std::move(h));
  if (!s.cookies.empty()) r.headers.push_back({"Cookie", std::move(s.cookies)});
  // HTTP/2 needs no Content-Length: a body of unknown length reaches the
  // handlers as HTTP/1.1's chunked one does (they stream or collect it).
  if (!s.body_end && !s.websocket) {
    bool sized = std::any_of(r.headers.begin(), r.headers.end(),
                             [](const Header& h) { return iequals(h.name, "content-length"); });
    if (!sized) r.headers.push_back({"Transfer-Encoding", "chunked"});
  }
  s.headers.clear();
  ex->head_request = r.method == "HEAD";
  ex->keep_alive = true;
  ex->body_done = s.body_end;
  s.ex = ex;
  if (s.too_large) {
    connection_.report_limit("max_header_bytes", 431, "HTTP/2 request headers too large");
    answer_error(s, 431);
    return;
  }
  try {
    (*loop_.state().handler)(Exchange(ex));
  } catch (...) {
    if (s.ex == ex && ex->reply == Reply::kNone) answer_error(s, 500);
  }
}

// Hands the handler what it asked for of the body, and acknowledges it to
// the client (WINDOW_UPDATE) only then.
void H2Session::deliver_body(Stream& s) {
  std::shared_ptr<ExchangeState> ex = s.ex;
  if (!ex || ex->body_mode == Body::kUndecided || ex->body_paused) return;
  std::string piece = std::move(s.unread);
  s.unread.clear();
  if (!piece.empty()) nghttp2_session_consume(session_, s.id, piece.size());
  if (s.body_end) ex->body_done = true;
  bool last = ex->body_done && !s.end_delivered;
  if (last) s.end_delivered = true;
  if (piece.empty() && !last) return;
  if (ex->body_mode == Body::kBuffer) {
    ex->request.body.append(piece);
    if (last && ex->on_body) {
      auto done = std::move(ex->on_body);
      Exchange handle(ex);
      done(handle);
    }
  } else if (ex->sink) {
    ex->sink(piece, last);
  }
  connection_.kick();
}

void H2Session::end_body(Stream& s) {
  s.body_end = true;
  deliver_body(s);
}

void H2Session::answer_error(Stream& s, int status) {
  if (!s.ex || s.ex->reply != Reply::kNone) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
    return;
  }
  respond(*s.ex, make_error_response(status));
}

// The exchange is over for its handler (answered whole, finished, or
// broken off); the stream may still be sending what it holds.
void H2Session::detach(Stream& s, bool aborted) {
  std::shared_ptr<ExchangeState> ex = std::move(s.ex);
  if (!ex) return;
  // What the handler left unread is given back to the client's windows
  // (later DATA is acknowledged as it arrives: on_data_chunk).
  if (!s.unread.empty() && session_) {
    nghttp2_session_consume(session_, s.id, s.unread.size());
    s.unread.clear();
  }
  ex->connection = nullptr;
  bool was_done = ex->reply == Reply::kDone;
  ex->reply = Reply::kDone;
  if (aborted) {
    ex->completion.aborted = true;
    auto on_abort = std::move(ex->on_abort);
    if (on_abort && !was_done) on_abort();
  }
  auto on_complete = std::move(ex->on_complete);
  if (on_complete) on_complete(ex->completion);
  loop_.defer([ex] { ex->clear_callbacks(); });
}

// ---- to the client ----

// Not inside read_body()'s or stream_body()'s caller (it may not be ready
// for its callback yet): after this event.
void H2Session::want_body(ExchangeState& ex) {
  Stream* s = stream_of(ex);
  if (!s) return;
  std::shared_ptr<ExchangeState> held = s->ex;
  loop_.defer([held] {
    // Null once the stream's answer is done or the session is gone.
    auto* h2 = static_cast<H2Session*>(held->connection);
    if (!h2) return;
    if (Stream* stream = h2->stream_of(*held)) h2->deliver_body(*stream);
  });
}

bool H2Session::submit(Stream& s, const Response& head, bool with_body, int64_t content_length) {
  std::vector<std::string> storage;
  storage.reserve(2 * (head.headers.size() + 4));
  std::vector<nghttp2_nv> nva;
  auto add = [&](std::string name, std::string value) {
    storage.push_back(std::move(name));
    storage.push_back(std::move(value));
    const std::string& n = storage[storage.size() - 2];
    const std::string& v = storage.back();
    nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                   NGHTTP2_NV_FLAG_NONE});
  };
  add(":status", std::to_string(head.status));
  add("date", std::string(loop_.state().date));
  if (content_length >= 0 && !bodiless_status(head.status))
    add("content-length", std::to_string(content_length));
  auto lower = [](std::string_view name) {
    std::string out(name);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  auto add_header = [&](const Header& h) {
    if (h.name.empty() || connection_specific(h.name) || !safe(h.name) || !safe(h.value)) return;
    add(lower(h.name), h.value);
  };
  for (const Header& h : head.headers) add_header(h);
  if (s.ex) {
    for (const Header& h : s.ex->extra_headers) {
      bool set = std::any_of(head.headers.begin(), head.headers.end(),
                             [&](const Header& o) { return iequals(o.name, h.name); });
      if (!set) add_header(h);
    }
  }
  nghttp2_data_provider provider;
  provider.source.ptr = &s;
  provider.read_callback = read_body;
  int rv = nghttp2_submit_response(session_, s.id, nva.data(), nva.size(),
                                   with_body ? &provider : nullptr);
  connection_.kick();
  return rv == 0;
}

void H2Session::respond(ExchangeState& ex, Response response) {
  Stream* s = stream_of(ex);
  if (!s || ex.reply != Reply::kNone) {
    if (response.file_fd >= 0) close(response.file_fd);
    return;
  }
  if (s->websocket && response.status / 100 == 2) {
    if (response.file_fd >= 0) close(response.file_fd);
    response = not_a_websocket();
  }
  bool send_body = !ex.head_request && !response.head_only && !bodiless_status(response.status);
  int64_t length = response.file_fd >= 0 ? static_cast<int64_t>(response.file_length)
                                         : static_cast<int64_t>(response.body_size());
  if (response.file_fd >= 0 && send_body) {
    s->file_fd = response.file_fd;
    s->file_offset = response.file_offset;
    s->file_left = response.file_length;
  } else {
    if (response.file_fd >= 0) close(response.file_fd);
    if (send_body && response.shared.owner) {
      s->shared = std::move(response.shared);
    } else if (send_body) {
      s->pending = std::move(response.body);
    }
  }
  s->eof = true;
  ex.completion.status = response.status;
  ex.completion.body_bytes = send_body ? static_cast<uint64_t>(length) : 0;
  // A HEAD answer states the length of the body it does not carry.
  submit(*s, response, send_body && length > 0, length);
  ex.reply = Reply::kDone;
  detach(*s, false);
}

void H2Session::start_response(ExchangeState& ex, const Response& head, int64_t length) {
  Stream* s = stream_of(ex);
  if (!s || ex.reply != Reply::kNone) return;
  if (s->websocket && head.status / 100 == 2) {
    respond(ex, not_a_websocket());
    return;
  }
  s->send_body = !ex.head_request && !bodiless_status(head.status);
  s->remaining = s->send_body && length >= 0 ? length : -1;
  ex.send_body = s->send_body;
  ex.reply = Reply::kStreaming;
  ex.completion.status = head.status;
  submit(*s, head, s->send_body, length);
}

bool H2Session::write(ExchangeState& ex, std::string_view bytes) {
  Stream* s = stream_of(ex);
  if (!s || (ex.reply != Reply::kStreaming && ex.reply != Reply::kTunnel)) return false;
  if (!s->send_body) bytes = {};
  if (s->remaining >= 0) {
    bytes = bytes.substr(0, static_cast<size_t>(s->remaining));
    s->remaining -= static_cast<int64_t>(bytes.size());
  }
  if (!bytes.empty()) {
    if (s->pending_sent > 0 && s->pending_sent >= s->pending.size() / 2) {
      s->pending.erase(0, s->pending_sent);
      s->pending_sent = 0;
    }
    s->pending.append(bytes);
    ex.completion.body_bytes += bytes.size();
    if (s->deferred) {
      s->deferred = false;
      nghttp2_session_resume_data(session_, s->id);
    }
    connection_.kick();
  }
  bool room = s->pending_left() < kStreamHighWater;
  if (!room) ex.wants_writable = true;
  return room;
}

void H2Session::finish(ExchangeState& ex) {
  Stream* s = stream_of(ex);
  if (!s || (ex.reply != Reply::kStreaming && ex.reply != Reply::kTunnel)) return;
  if (s->remaining > 0) {  // fewer bytes than promised
    abort(ex);
    return;
  }
  s->eof = true;
  if (s->deferred) {
    s->deferred = false;
    nghttp2_session_resume_data(session_, s->id);
  }
  connection_.kick();
  ex.reply = Reply::kDone;
  detach(*s, false);
}

// The handler took the upgrade of an extended CONNECT: the stream answers
// 200 (RFC 8441 5: no 101, no Sec-WebSocket-Accept) and becomes the
// tunnel, the client's DATA frames to the handler's sink and what it
// writes back as DATA, until either side ends its half. Any other stream
// has no Upgrade in HTTP/2: reset.
void H2Session::upgrade(ExchangeState& ex, const Response& head) {
  Stream* s = stream_of(ex);
  if (!s || !s->websocket || head.status != 101) {
    abort(ex);
    return;
  }
  Response answer;
  answer.status = 200;
  for (const Header& h : head.headers)
    if (!iequals(h.name, "sec-websocket-accept")) answer.headers.push_back(h);
  s->remaining = -1;
  s->send_body = true;
  ex.send_body = true;
  ex.reply = Reply::kTunnel;
  ex.completion.status = 200;
  ex.body_mode = Body::kStream;
  ex.body_paused = false;
  submit(*s, answer, true, -1);
  deliver_body(*s);
}

void H2Session::abort(ExchangeState& ex) {
  Stream* s = stream_of(ex);
  if (!s) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
  detach(*s, true);
  connection_.kick();
}

void H2Session::report_limit(std::string_view limit, int status, std::string_view detail) {
  connection_.report_limit(limit, status, detail);
}

bool H2Session::handlers_working() const {
  for (const auto& [id, s] : streams_)
    if (s->ex && s->body_end) return true;
  return false;
}

size_t H2Session::queued_output() const {
  size_t total = 0;
  for (const auto& [id, s] : streams_)
    total += s->pending_left() + s->file_left + (s->shared.bytes.size() - s->shared_sent);
  return total;
}

// How much of a stream's body the next DATA frame carries; the bytes are
// not copied here (NGHTTP2_DATA_FLAG_NO_COPY): send_data puts them straight
// into the connection's output (a TLS record), from the cached file, the
// handler's string or the file itself.
ssize_t H2Session::read_body(nghttp2_session*, int32_t, uint8_t*, size_t length,
                             uint32_t* data_flags, nghttp2_data_source* source, void*) {
  auto* s = static_cast<Stream*>(source->ptr);
  const size_t available = s->file_fd >= 0   ? s->file_left
                           : s->shared.owner ? s->shared.bytes.size() - s->shared_sent
                                             : s->pending_left();
  const size_t n = std::min(length, available);
  if (n == available && s->eof) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  } else if (n == 0) {
    s->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  if (n > 0) *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  return static_cast<ssize_t>(n);
}

int H2Session::send_data(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd,
                         size_t length, nghttp2_data_source* source, void* self) {
  auto* h2 = static_cast<H2Session*>(self);
  auto* s = static_cast<Stream*>(source->ptr);
  if (frame->data.padlen > 0) return NGHTTP2_ERR_CALLBACK_FAILURE;  // never asked for
  std::string_view data;
  if (s->file_fd >= 0) {
    // A file larger than the cache holds: read first, so that a file that
    // shrank resets the stream before any of its frame is out.
    thread_local std::string scratch;
    scratch.resize(length);
    size_t got = 0;
    while (got < length) {
      ssize_t n = pread(s->file_fd, scratch.data() + got, length - got, s->file_offset + got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // shrank: reset
      got += static_cast<size_t>(n);
    }
    s->file_offset += static_cast<off_t>(length);
    s->file_left -= length;
    if (s->file_left == 0) {
      close(s->file_fd);
      s->file_fd = -1;
    }
    data = std::string_view(scratch.data(), length);
  } else if (s->shared.owner) {
    data = s->shared.bytes.substr(s->shared_sent, length);
    s->shared_sent += length;
  } else {
    data = std::string_view(s->pending).substr(s->pending_sent, length);
    s->pending_sent += length;
  }
  if (!h2->emit(std::string_view(reinterpret_cast<const char*>(framehd), 9)) || !h2->emit(data))
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  if (s->shared.owner && s->shared_sent == s->shared.bytes.size()) {
    s->shared = SharedBytes{};  // sent: the cache's copy is not held longer
    s->shared_sent = 0;
  }
  if (s->pending_sent == s->pending.size()) {
    s->pending.clear();
    s->pending_sent = 0;
  }
  // A producer that was told to wait may go on.
  if (s->ex && s->ex->wants_writable && s->pending_left() < kStreamHighWater / 4) {
    std::shared_ptr<ExchangeState> ex = s->ex;
    ex->wants_writable = false;
    h2->loop_.defer([ex] {
      if (ex->connection && ex->on_writable) {
        auto callback = ex->on_writable;
        callback();
      }
    });
  }
  return 0;
}

}  // namespace wok::http
