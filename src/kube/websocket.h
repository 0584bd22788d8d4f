#pragma once
// WebSocket framing (RFC 6455 §5), the little `kubectl exec` needs: the
// Kubernetes API server streams a pod's stdin, stdout and stderr as binary
// messages over a WebSocket (kube/pod_exec.h). Pure: no I/O. A client masks
// what it sends (§5.3), a server does not; both must refuse the other way.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wok::kube {

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

struct WsFrame {
  bool fin = true;
  WsOpcode opcode = WsOpcode::kBinary;
  std::string payload;  // unmasked
};

// One frame; `mask` (4 bytes) masks it, as a client must send it.
std::string ws_encode(const WsFrame& frame, std::optional<uint32_t> mask);

// Decodes the frame at the start of `bytes`; *used: its length (the
// caller drops that many bytes, as it likes: a stream's buffer is not
// moved once per frame). nullopt with *error empty: the frame is not
// complete yet. nullopt with *error: the stream is broken (reserved bits,
// an unknown opcode, a control frame over 125 bytes or fragmented, a
// length over `max_payload`, masking the wrong way: `from_client` says
// which side sent it).
std::optional<WsFrame> ws_decode(std::string_view bytes, bool from_client, uint64_t max_payload,
                                 size_t* used, std::string* error);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2): base64 of the SHA-1
// of the key and the protocol's GUID.
std::string ws_accept_key(std::string_view key);

}  // namespace wok::kube
