#include "http/response_head.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "http/ascii.h"

namespace wok::http {
namespace {

bool server_owned(std::string_view name) {
  switch (name.size()) {  // most names are none of these lengths: no compare at all
    case 4:
      return iequals(name, "Date");
    case 10:
      return iequals(name, "Connection");
    case 14:
      return iequals(name, "Content-Length");
    case 17:
      return iequals(name, "Transfer-Encoding");
    default:
      return false;
  }
}

template <typename Integer>
void append_number(std::string* out, Integer n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out->append(digits, static_cast<size_t>(end - digits));
}

// A CR or LF in a handler's header would let request data split the
// response; such a header is dropped rather than sent. Eight bytes at a
// time (a word has a byte equal to b when (w ^ b...) has a zero byte), as
// every header of every answer goes through here.
bool safe(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101u, kHighs = 0x8080808080808080u;
  auto has_zero_byte = [](uint64_t w) { return ((w - kOnes) & ~w & kHighs) != 0; };
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (has_zero_byte(w ^ (kOnes * '\r')) || has_zero_byte(w ^ (kOnes * '\n'))) return false;
  }
  for (; n > 0; ++p, --n) {
    if (*p == '\r' || *p == '\n') return false;
  }
  return true;
}

std::string_view find_header(const Response& r, std::string_view name) {
  for (const Header& h : r.headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

// The handler's own headers, those the server adds for the route (unless
// the handler set one of that name), then the blank line that ends the head.
void append_headers(const Response& r, const HeadContext& ctx, std::string* out) {
  for (const Header& h : r.headers) {
    if (server_owned(h.name) || !safe(h.name) || !safe(h.value)) continue;
    out->append("\r\n").append(h.name).append(": ").append(h.value);
  }
  if (ctx.extra) {
    for (const Header& h : *ctx.extra) {
      if (server_owned(h.name) || !safe(h.name) || !safe(h.value) ||
          !find_header(r, h.name).empty()) {
        continue;
      }
      out->append("\r\n").append(h.name).append(": ").append(h.value);
    }
  }
  out->append("\r\n\r\n");
}

}  // namespace

std::string serialize_response_head(const Response& r, const HeadContext& ctx, bool* send_body) {
  const bool no_content = (r.status >= 100 && r.status < 200) || r.status == 204;
  const bool bodiless = no_content || r.status == 304 || ctx.head_request || r.head_only;
  *send_body = !bodiless;

  std::string out;
  out.reserve(512);  // a static file's head is near 256 bytes: one allocation, not two
  out.append("HTTP/1.1 ");
  append_number(&out, r.status);
  out.push_back(' ');
  out.append(reason_phrase(r.status));
  out.append("\r\nDate: ").append(ctx.date);
  if (ctx.framing == Framing::kUpgrade) {
    out.append("\r\nConnection: upgrade");
  } else {
    out.append(ctx.keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close");
  }
  if (ctx.framing != Framing::kWhole) {
    if (!no_content && r.status != 304) {
      if (ctx.framing == Framing::kLength) {
        out.append("\r\nContent-Length: ");
        append_number(&out, ctx.length);
      } else if (ctx.framing == Framing::kChunked) {
        out.append("\r\nTransfer-Encoding: chunked");
      }
    }
    append_headers(r, ctx, &out);
    return out;
  }

  size_t length = r.file_fd >= 0 ? r.file_length : r.body_size();
  std::string_view declared = find_header(r, "Content-Length");
  if (!no_content && r.status != 304) {
    out.append("\r\nContent-Length: ");
    // A HEAD answer may state the length of a body it does not carry (a
    // proxied HEAD has no body to measure).
    if ((ctx.head_request || r.head_only) && !declared.empty() && safe(declared) && r.file_fd < 0 &&
        r.body_size() == 0) {
      out.append(declared);
    } else {
      append_number(&out, length);
    }
  }
  append_headers(r, ctx, &out);
  return out;
}

Response make_error_response(int status) {
  Response r;
  r.status = status;
  r.body = std::string(reason_phrase(status)) + "\n";
  r.set_header("Content-Type", "text/plain; charset=utf-8");
  r.set_header("Connection", "close");
  return r;
}

bool response_wants_close(const Response& response) {
  return iequals(find_header(response, "Connection"), "close");
}

}  // namespace wok::http
