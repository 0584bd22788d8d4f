#pragma once
// A blocking HTTP/2 client for tests: nghttp2's client session over a
// socket (or a TLS session), requests and WebSocket tunnels (RFC 8441).
// Shared by the HTTP/2 tests and the proxy's.
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wok::test_support {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  bool closed = false;  // ended by RST_STREAM
  uint32_t rst = 0;
};

// A blocking HTTP/2 client: nghttp2's client session over a socket (or a
// TLS session), driven until the streams it waits for are closed.
class H2Client {
 public:
  explicit H2Client(int fd, SSL* ssl = nullptr, uint32_t initial_window = 65535)
      : fd_(fd), ssl_(ssl) {
    nghttp2_session_callbacks* cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
               const uint8_t* v, size_t vl, uint8_t, void* self) {
          auto& r = static_cast<H2Client*>(self)->replies_[f->hd.stream_id];
          std::string name(reinterpret_cast<const char*>(n), nl),
              value(reinterpret_cast<const char*>(v), vl);
          if (name == ":status") r.status = std::stoi(value);
          r.headers[name] = value;
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t n, void* self) {
          static_cast<H2Client*>(self)->replies_[id].body.append(reinterpret_cast<const char*>(d),
                                                                 n);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cb, [](nghttp2_session*, int32_t id, uint32_t code, void* self) {
          auto* c = static_cast<H2Client*>(self);
          c->replies_[id].closed = true;
          c->replies_[id].rst = code;
          c->open_--;
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, void* self) {
          if (f->hd.type == NGHTTP2_GOAWAY) static_cast<H2Client*>(self)->goaway_ = true;
          return 0;
        });
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, initial_window}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, 1);
  }
  ~H2Client() {
    nghttp2_session_del(session_);
    if (ssl_) SSL_free(ssl_);
    close(fd_);
  }

  int32_t request(const std::string& method, const std::string& path,
                  std::vector<std::pair<std::string, std::string>> extra = {},
                  const std::string* body = nullptr) {
    Headers h = {
        {":method", method}, {":path", path}, {":scheme", "https"}, {":authority", authority_}};
    if (body) body_ = *body;
    // The body as given, then the end.
    return submit(std::move(h), std::move(extra), body != nullptr, [this](size_t len, bool* end) {
      std::string piece = body_.substr(0, len);
      body_.erase(0, piece.size());
      *end = body_.empty();
      return piece;
    });
  }
  // A WebSocket over HTTP/2 (RFC 8441): CONNECT with :protocol, whose DATA
  // go out as tunnel_send() gives them, until tunnel_send(..., true).
  int32_t open_tunnel(const std::string& path,
                      std::vector<std::pair<std::string, std::string>> extra,
                      const std::string& protocol = "websocket") {
    Headers h = {{":method", "CONNECT"},
                 {":protocol", protocol},
                 {":scheme", "https"},
                 {":path", path},
                 {":authority", authority_}};
    return submit(std::move(h), std::move(extra), true, [this](size_t len, bool* end) {
      std::string piece = tunnel_out_.substr(0, len);
      tunnel_out_.erase(0, piece.size());
      *end = tunnel_out_.empty() && tunnel_end_;
      return piece;
    });
  }
  void tunnel_send(int32_t id, std::string_view bytes, bool end = false) {
    tunnel_out_.append(bytes);
    tunnel_end_ = tunnel_end_ || end;
    nghttp2_session_resume_data(session_, id);
  }
  // Runs until done() says so (true), or the connection ends or `limit` passes.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (!run(std::chrono::milliseconds(50), true)) return done();
    }
    return true;
  }
  uint32_t remote_setting(nghttp2_settings_id id) {
    return nghttp2_session_get_remote_settings(session_, id);
  }
  // The connection's window too (the constructor sets the streams').
  void open_connection_window(int32_t size) {
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, size);
  }
  void reset(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }

  // Sends and receives until every stream asked is closed, the peer
  // closes, or 5 s pass. False when the connection ended.
  bool run(std::chrono::milliseconds limit = std::chrono::milliseconds(5000), bool whole = false) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!flush()) return false;
      if (open_ <= 0 && !whole) return true;
      pollfd p{fd_, POLLIN, 0};
      if (!(ssl_ && SSL_pending(ssl_)) && poll(&p, 1, 100) <= 0) continue;
      char buf[65536];
      ssize_t n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      if (nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf),
                                   static_cast<size_t>(n)) < 0)
        return false;
    }
    return true;
  }
  bool flush() {
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      ssize_t w = ssl_ ? SSL_write(ssl_, data, static_cast<int>(n))
                       : send(fd_, data, static_cast<size_t>(n), MSG_NOSIGNAL);
      if (w != n) return false;
    }
    return n == 0;
  }
  Reply& reply(int32_t id) { return replies_[id]; }
  void set_authority(std::string authority) { authority_ = std::move(authority); }
  bool goaway() const { return goaway_; }

 private:
  int fd_;
  SSL* ssl_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Reply> replies_;
  int open_ = 0;
  bool goaway_ = false;
  std::string body_;
  using Headers = std::vector<std::pair<std::string, std::string>>;
  // Gives the next piece of a stream's body, at most `len` bytes; *end once
  // it is the last. An empty piece that is not the last: not yet.
  using BodySource = std::function<std::string(size_t len, bool* end)>;

  int32_t submit(Headers h, Headers extra, bool with_body, BodySource source) {
    for (auto& e : extra) h.push_back(std::move(e));
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : h)
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider;
    provider.source.ptr = this;
    provider.read_callback = [](nghttp2_session*, int32_t id, uint8_t* buf, size_t len,
                                uint32_t* flags, nghttp2_data_source* src, void*) -> ssize_t {
      auto* c = static_cast<H2Client*>(src->ptr);
      bool end = false;
      std::string piece = c->sources_[id](len, &end);
      if (piece.empty() && !end) return NGHTTP2_ERR_DEFERRED;
      std::memcpy(buf, piece.data(), piece.size());
      if (end) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(piece.size());
    };
    int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                        with_body ? &provider : nullptr, nullptr);
    if (with_body) sources_[id] = std::move(source);
    open_++;
    return id;
  }

  std::map<int32_t, BodySource> sources_;
  std::string authority_ = "a.test";
  std::string tunnel_out_;
  bool tunnel_end_ = false;
};

}  // namespace wok::test_support
