#pragma once
// Turns a handler's Response into the bytes of its status line and header
// block, adding the headers the server owns (Date, Content-Length,
// Connection) and deciding whether a body follows.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace wok::http {

// How the body after a head is delimited.
enum class Framing {
  kWhole,    // Response.body or its file: Content-Length from it
  kLength,   // streamed, HeadContext.length bytes
  kChunked,  // streamed, Transfer-Encoding: chunked
  kClose,    // streamed until the connection closes (HTTP/1.0 client)
  kUpgrade,  // 101: "Connection: upgrade", then another protocol
};

struct HeadContext {
  bool head_request = false;  // the request was HEAD: never a body
  bool keep_alive = true;
  std::string_view date;  // preformatted IMF-fixdate
  Framing framing = Framing::kWhole;
  int64_t length = 0;  // Framing::kLength
  // Headers added to whatever the handler answers (Exchange::add_response_header).
  const std::vector<Header>* extra = nullptr;
};

// Sets *send_body to whether Response.body or the file must follow.
std::string serialize_response_head(const Response& response, const HeadContext& context,
                                    bool* send_body);

// A short plain-text response for errors the server answers itself.
Response make_error_response(int status);

// True when the handler asked for the connection to end ("Connection: close").
bool response_wants_close(const Response& response);

}  // namespace wok::http
