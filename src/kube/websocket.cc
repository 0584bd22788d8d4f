#include "kube/websocket.h"

#include <openssl/sha.h>

#include "api/base64.h"

namespace wok::kube {

namespace {

bool known_opcode(uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

}  // namespace

std::string ws_encode(const WsFrame& frame, std::optional<uint32_t> mask) {
  std::string out;
  out.push_back(static_cast<char>((frame.fin ? 0x80 : 0) | static_cast<uint8_t>(frame.opcode)));
  const uint64_t n = frame.payload.size();
  const uint8_t masked = mask ? 0x80 : 0;
  if (n < 126) {
    out.push_back(static_cast<char>(masked | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(masked | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(masked | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  if (!mask) return out + frame.payload;
  const uint8_t key[4] = {static_cast<uint8_t>(*mask >> 24), static_cast<uint8_t>(*mask >> 16),
                          static_cast<uint8_t>(*mask >> 8), static_cast<uint8_t>(*mask)};
  out.append(reinterpret_cast<const char*>(key), 4);
  const size_t start = out.size();
  out += frame.payload;
  for (size_t i = 0; i < n; ++i) out[start + i] = static_cast<char>(out[start + i] ^ key[i % 4]);
  return out;
}

std::optional<WsFrame> ws_decode(std::string_view b, bool from_client, uint64_t max_payload,
                                 size_t* used, std::string* error) {
  error->clear();
  *used = 0;
  if (b.size() < 2) return std::nullopt;
  const auto byte = [&b](size_t i) { return static_cast<uint8_t>(b[i]); };
  if (byte(0) & 0x70) {
    *error = "a WebSocket frame with reserved bits set (no extension was agreed)";
    return std::nullopt;
  }
  const uint8_t op = byte(0) & 0x0F;
  if (!known_opcode(op)) {
    *error = "a WebSocket frame of unknown opcode " + std::to_string(op);
    return std::nullopt;
  }
  const bool fin = byte(0) & 0x80;
  const bool masked = byte(1) & 0x80;
  if (masked != from_client) {
    *error = from_client ? "an unmasked WebSocket frame from a client"
                         : "a masked WebSocket frame from a server";
    return std::nullopt;
  }
  uint64_t n = byte(1) & 0x7F;
  size_t at = 2;
  if (n == 126) {
    if (b.size() < 4) return std::nullopt;
    n = (uint64_t{byte(2)} << 8) | byte(3);
    at = 4;
  } else if (n == 127) {
    if (b.size() < 10) return std::nullopt;
    n = 0;
    for (size_t i = 2; i < 10; ++i) n = (n << 8) | byte(i);
    at = 10;
    if (n >> 63) {
      *error = "a WebSocket frame length with its top bit set";
      return std::nullopt;
    }
  }
  if (op >= 0x8 && (n > 125 || !fin)) {
    *error = "a WebSocket control frame fragmented or over 125 bytes";
    return std::nullopt;
  }
  if (n > max_payload) {
    *error = "a WebSocket frame of " + std::to_string(n) + " bytes (at most " +
             std::to_string(max_payload) + ")";
    return std::nullopt;
  }
  const size_t key_at = at;
  if (masked) at += 4;
  if (b.size() < at + n) return std::nullopt;
  WsFrame frame{fin, static_cast<WsOpcode>(op), std::string(b.substr(at, n))};
  if (masked)
    for (size_t i = 0; i < n; ++i)
      frame.payload[i] = static_cast<char>(frame.payload[i] ^ b[key_at + i % 4]);
  *used = at + n;
  return frame;
}

std::string ws_accept_key(std::string_view key) {
  std::string text(key);
  text += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return api::base64_encode(
      std::string_view(reinterpret_cast<const char*>(digest), SHA_DIGEST_LENGTH));
}

}  // namespace wok::kube
