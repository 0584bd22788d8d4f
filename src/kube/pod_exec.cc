#include "kube/pod_exec.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "api/base64.h"
#include "base/text.h"
#include "http/ascii.h"
#include "http/response_parser.h"
#include "kube/websocket.h"

namespace wok::kube {

namespace {

constexpr uint64_t kMaxMessage = 16u << 20;  // the API server's frames are 32 KiB
constexpr size_t kMaxAnswer = 64 << 10;      // an answer that is not an upgrade, read so far
constexpr size_t kInputChunk = 32 << 10;
constexpr int kWaitMs = 1000;

uint32_t random_mask() {
  uint32_t mask = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&mask), sizeof mask) != 1) mask = 0x5a5a5a5a;
  return mask;
}

std::string header_value(const http::ResponseHead& head, std::string_view name) {
  for (const auto& h : head.headers)
    if (http::iequals(h.name, name)) return h.value;
  return "";
}

// One exec's stream after the upgrade: frames in, frames out, neither side
// blocking the other (a command writing much while it reads much).
class Session {
 public:
  Session(KubeConnection& conn, const ExecStreams& streams, std::string received)
      : conn_(conn), streams_(streams), received_(std::move(received)) {}

  // Sends one message on `channel`, taking in what arrives meanwhile.
  bool send(uint8_t channel, std::string_view data) {
    std::string payload(1, static_cast<char>(channel));
    payload += data;
    return send_frame(WsFrame{true, WsOpcode::kBinary, std::move(payload)});
  }

  // Waits for and takes in what arrives; false once the stream ended or
  // broke (ended_ says which).
  bool pump() {
    if (!dispatch()) return false;
    conn_.wait(false, kWaitMs);
    return read() && dispatch();
  }

  void close() {
    std::string code("\x03\xe8", 2);  // 1000: normal closure
    send_frame(WsFrame{true, WsOpcode::kClose, code});
  }

  bool has_status() const { return has_status_; }
  const std::string& status() const { return status_; }
  const std::string& error() const { return error_; }

 private:
  bool send_frame(const WsFrame& frame) {
    std::string bytes = ws_encode(frame, random_mask());
    size_t sent = 0;
    while (sent < bytes.size()) {
      long n = conn_.send_some(std::string_view(bytes).substr(sent), &error_);
      if (n < 0) {
        // A reset after the command ended with input unread: its output
        // and status came before it, and are still to be read.
        const std::string why = error_;
        if (read()) dispatch();
        if (!has_status_) error_ = why;
        return false;
      }
      sent += static_cast<size_t>(n);
      if (n == 0) {
        conn_.wait(true, kWaitMs);
        if (!read() || !dispatch()) return false;
        if (has_status_) return false;  // it ended: the rest is not read
      }
    }
    return true;
  }

  bool read() {
    long n = conn_.recv_some(&received_, &error_);
    if (n < 0) {
      ended_ = true;
      return false;
    }
    return true;
  }

  // Every complete frame received so far; false at the end or an error.
  bool dispatch() {
    received_.erase(0, consumed_);  // what the last call took, at once
    consumed_ = 0;
    while (!has_status_) {
      std::string frame_error;
      size_t used = 0;
      std::optional<WsFrame> frame = ws_decode(std::string_view(received_).substr(consumed_), false,
                                               kMaxMessage, &used, &frame_error);
      consumed_ += used;
      if (!frame) {
        if (frame_error.empty()) return !ended_;
        error_ = frame_error;
        return false;
      }
      switch (frame->opcode) {
        case WsOpcode::kPing:
          if (!send_frame(WsFrame{true, WsOpcode::kPong, frame->payload})) return false;
          continue;
        case WsOpcode::kPong:
          continue;
        case WsOpcode::kClose:
          ended_ = true;
          return false;
        case WsOpcode::kContinuation:
        case WsOpcode::kText:
        case WsOpcode::kBinary:
          break;
      }
      if (message_.empty() && frame->fin) {
        message_ = std::move(frame->payload);  // one frame, one message: no copy
      } else {
        message_ += frame->payload;
        if (message_.size() > kMaxMessage) {
          error_ = "a message from the API server over 16 MiB";
          return false;
        }
        if (!frame->fin) continue;
      }
      std::string message = std::move(message_);
      message_.clear();
      if (message.empty()) continue;  // v4's channel announcement may be empty
      const uint8_t channel = static_cast<uint8_t>(message[0]);
      std::string_view data = std::string_view(message).substr(1);
      if (channel == 1 || channel == 2) {
        const auto& sink = channel == 1 ? streams_.out : streams_.err;
        if (!data.empty() && sink && !sink(data)) {
          error_ = "the command's output could not be written";
          return false;
        }
      } else if (channel == 3) {
        status_ = std::string(data);
        has_status_ = true;
      }
    }
    return true;
  }

  KubeConnection& conn_;
  const ExecStreams& streams_;
  std::string received_, message_, status_, error_;
  size_t consumed_ = 0;  // of received_, decoded
  bool has_status_ = false, ended_ = false;
};

}  // namespace

int exec_status_code(std::string_view status_json, std::string* error) {
  auto status = nlohmann::json::parse(status_json, nullptr, false);
  if (!status.is_object()) {
    *error = "an exit status that is not a Status: " + std::string(status_json.substr(0, 200));
    return -1;
  }
  if (status.value("status", "") == "Success") return 0;
  if (status.value("reason", "") == "NonZeroExitCode" && status.contains("details")) {
    for (const auto& cause : status["details"].value("causes", nlohmann::json::array())) {
      if (cause.value("reason", "") != "ExitCode") continue;
      std::string code = cause.value("message", "");
      if (!code.empty() && code.size() < 4 &&
          code.find_first_not_of("0123456789") == std::string::npos)
        return std::stoi(code);
    }
  }
  *error = status.value("message", std::string("the command failed"));
  return -1;
}

ExecResult pod_exec(KubeClient& client, const std::string& ns, const std::string& pod,
                    const std::string& container, const std::vector<std::string>& command,
                    const ExecStreams& streams) {
  ExecResult result;
  std::string path = "/api/v1/namespaces/" + percent_encode(ns) + "/pods/" + percent_encode(pod) +
                     "/exec?container=" + percent_encode(container);
  for (const auto& arg : command) path += "&command=" + percent_encode(arg);
  const bool stdin_open = streams.in || !streams.first.empty();
  path += std::string("&stdin=") + (stdin_open ? "true" : "false") + "&stdout=true&stderr=true";

  std::unique_ptr<KubeConnection> conn = client.connect(&result.error);
  if (!conn) return result;
  unsigned char nonce[16];
  RAND_bytes(nonce, sizeof nonce);
  const std::string key =
      api::base64_encode(std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce));
  std::string request = "GET " + path + " HTTP/1.1\r\n" + client.upgrade_headers() +
                        "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
                        key +
                        "\r\n"
                        "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    long n = conn->send_some(std::string_view(request).substr(sent), &result.error);
    if (n < 0) return result;
    if (n == 0) conn->wait(true, kWaitMs);
    sent += static_cast<size_t>(n);
  }

  // The answer: 101 Switching Protocols, or an error with its Status (read
  // by the proxy's parser: Content-Length, chunked, or to the close).
  http::ResponseParser parser;
  parser.reset(false);
  std::string received, body;
  size_t read_so_far = 0;
  while (true) {
    std::string chunk;
    conn->wait(false, kWaitMs);
    std::string ignored;
    http::ResponseParser::Status state;
    size_t consumed = 0;
    if (conn->recv_some(&chunk, &ignored) < 0) {
      state = parser.finish();
    } else {
      read_so_far += chunk.size();
      state = parser.parse(chunk, &consumed);
      body += parser.body();
      parser.clear_body();
      if (parser.head_ready() && parser.head().status == 101) {
        received = chunk.substr(consumed);  // the first frames, maybe
        break;
      }
      if (state == http::ResponseParser::Status::kNeedMore && read_so_far < kMaxAnswer) continue;
    }
    Reply reply;
    reply.status = parser.head_ready() ? parser.head().status : 0;
    reply.body = body.substr(0, kMaxAnswer);
    if (reply.status == 0) reply.error = "no HTTP answer (the connection closed or broke)";
    result.error = "exec in pod " + pod + ": " + reply.describe();
    return result;
  }
  const http::ResponseHead& head = parser.head();
  if (header_value(head, "Sec-WebSocket-Accept") != ws_accept_key(key)) {
    result.error = "the API server's WebSocket answer does not match its key";
    return result;
  }
  const std::string protocol = header_value(head, "Sec-WebSocket-Protocol");
  if (protocol != "v5.channel.k8s.io" && protocol != "v4.channel.k8s.io") {
    result.error = "the API server chose no channel protocol wok speaks (\"" + protocol + "\")";
    return result;
  }

  Session session(*conn, streams, std::move(received));
  bool alive = true;
  if (!streams.first.empty()) alive = session.send(0, streams.first);
  if (alive && streams.in) {
    std::string chunk(kInputChunk, '\0');
    while (alive && !session.has_status()) {
      streams.in->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      std::streamsize n = streams.in->gcount();
      if (n > 0) alive = session.send(0, std::string_view(chunk.data(), static_cast<size_t>(n)));
      if (n <= 0 || !*streams.in) break;
    }
  }
  // v5: stdin closed (stream 255, then the stream's number).
  if (alive && stdin_open && protocol == "v5.channel.k8s.io")
    alive = session.send(255, std::string(1, '\0'));
  while (alive && !session.has_status()) alive = session.pump();
  if (!session.has_status()) {
    result.error = session.error().empty()
                       ? "the API server ended the exec stream without the command's exit status"
                       : session.error();
    return result;
  }
  session.close();
  result.exit_code = exec_status_code(session.status(), &result.error);
  result.ran = result.exit_code >= 0;
  return result;
}

}  // namespace wok::kube
