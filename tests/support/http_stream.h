#pragma once
// One HTTP/1.1 request on loopback whose answer, chunked or not, is read
// line by line: for the API's streams (watches, log follows).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace wok::test_support {

using nlohmann::json;

class Stream {
 public:
  Stream(uint16_t port, const std::string& token, const std::string& target) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: api\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += "\r\n";
    send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
    while (raw_.find("\r\n\r\n") == std::string::npos && fill()) {
    }
    size_t end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    head_ = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    status_ = std::stoi(head_.substr(9, 3));
    chunked_ = head_.find("Transfer-Encoding: chunked") != std::string::npos;
    if (size_t at = head_.find("Content-Length: "); at != std::string::npos)
      length_ = std::stol(head_.substr(at + 16));
  }
  ~Stream() { close(fd_); }

  int status() const { return status_; }
  // The next line of the body as JSON; nullopt when none came in time or
  // the body ended.
  std::optional<json> next(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      decode();
      if (size_t nl = body_.find('\n'); nl != std::string::npos) {
        json j = json::parse(body_.substr(0, nl));
        body_.erase(0, nl + 1);
        return j;
      }
      if (ended_) return std::nullopt;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0 || !fill()) return std::nullopt;
    }
  }
  // The whole body of a non-streamed answer.
  json whole() {
    while (true) {
      decode();
      if (ended_ || !fill()) break;
    }
    return json::parse(body_, nullptr, false);
  }
  bool ended() {
    decode();
    return ended_;
  }
  // Whether the body ended (the terminal chunk) within the time.
  bool ends_within(int timeout_ms) {
    while (!ended()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0 || !fill()) return ended();
    }
    return true;
  }

 private:
  bool fill() {
    char buf[8192];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    raw_.append(buf, static_cast<size_t>(n));
    return true;
  }
  void decode() {
    if (!chunked_) {
      body_ += raw_;
      raw_.clear();
      if (length_ >= 0 && static_cast<long>(body_.size()) >= length_) ended_ = true;
      return;
    }
    while (!ended_) {
      size_t crlf = raw_.find("\r\n");
      if (crlf == std::string::npos) return;
      size_t size = std::stoul(raw_.substr(0, crlf), nullptr, 16);
      if (raw_.size() < crlf + 2 + size + 2) return;
      if (size == 0) ended_ = true;
      body_ += raw_.substr(crlf + 2, size);
      raw_.erase(0, crlf + 2 + size + 2);
    }
  }

  int fd_ = -1;
  int status_ = 0;
  bool chunked_ = false, ended_ = false;
  long length_ = -1;
  std::string head_, raw_, body_;
};

}  // namespace wok::test_support
