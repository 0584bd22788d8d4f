#pragma once
// HTTP/1.1 request and response as the handlers see them. Shared by the
// router (data plane) and the API server.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wok::http {

struct Header {
  std::string name;
  std::string value;
};

// Parsers reserve room for this many fields: one allocation for a usual
// message instead of one per doubling.
inline constexpr size_t kTypicalHeaders = 12;

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // raw request-target as received
  std::string path;    // path part of the target, still percent-encoded
  std::string query;   // after '?', without it; empty if none
  int version_major = 1;
  int version_minor = 1;
  std::vector<Header> headers;  // in arrival order, names as received
  std::string body;             // decoded (de-chunked) body
  bool keep_alive = true;
  std::string remote_addr;  // "127.0.0.1"
  bool tls = false;         // came over a TLS connection (https)

  // First header with this name, compared case-insensitively; empty if absent.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// Bytes another object owns (a cached file's contents), sent as a body
// without being copied into Response::body; `owner` keeps them alive until
// they are sent.
struct SharedBytes {
  std::shared_ptr<const void> owner;
  std::string_view bytes;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // Content-Length/Date/Connection are added by the server
  std::string body;
  // When shared.owner is set the body is shared.bytes, and `body` is unused.
  SharedBytes shared;
  // When file_fd >= 0 the body is file_length bytes of that file from
  // file_offset, sent with sendfile(2); the server closes the fd afterwards.
  int file_fd = -1;
  off_t file_offset = 0;
  size_t file_length = 0;
  bool head_only = false;  // HEAD: headers (with the real Content-Length), no body

  void set_header(std::string name, std::string value);
  // The body when it is in memory (body or shared).
  std::string_view body_view() const { return shared.owner ? shared.bytes : body; }
  size_t body_size() const { return body_view().size(); }
};

// Reason phrase for a status code ("Not Found").
std::string_view reason_phrase(int status);

using Handler = std::function<void(const Request&, Response&)>;

}  // namespace wok::http
