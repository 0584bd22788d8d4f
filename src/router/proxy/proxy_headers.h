#pragma once
// What a proxy changes in the messages it relays (RFC 9110 7.6): drops
// hop-by-hop fields, adds X-Forwarded-For/Proto/Host and Forwarded
// (RFC 7239). Pure functions, so they are tested without sockets.
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace wok::router {

// How the request body goes upstream.
enum class BodyFraming { kNone, kLength, kChunked };

struct ForwardContext {
  std::string_view client_addr;  // "127.0.0.1" or "::1"
  std::string_view proto;        // "http" or "https"
  std::string_view host;         // the Host the client asked for
};

BodyFraming request_body_framing(const http::Request& request);
bool is_idempotent(std::string_view method);
bool is_websocket_upgrade(const http::Request& request);
// True for a field that concerns one connection only; `connection` is the
// message's Connection value, whose listed fields are hop-by-hop too.
bool is_hop_by_hop(std::string_view name, std::string_view connection);

// The request line and header block sent upstream (origin-form target,
// HTTP/1.1, keep-alive; "Connection: upgrade" for a WebSocket).
std::string upstream_request_head(const http::Request& request, const ForwardContext& context);
// The upstream response's fields the client may see (Content-Length,
// Date and Connection are the server's own to set).
std::vector<http::Header> downstream_headers(std::vector<http::Header> upstream, bool upgrade);

}  // namespace wok::router
