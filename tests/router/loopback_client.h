#pragma once
// Raw client sockets on 127.0.0.1 for the router's tests: what a browser or
// curl would send, byte for byte.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace wok::router::test_support {

// A connected TCP socket with a 10 s receive timeout and no Nagle delay
// (as browsers and HTTP/2 clients: a small frame is not held back), or -1.
inline int connect_tcp(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A socket bound to 127.0.0.1 on a port the kernel picks (*port), listening
// unless listen_too is false (then nothing will ever accept on it).
inline int listen_loopback(uint16_t* port, bool listen_too = true) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (listen_too) listen(fd, 8);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

inline void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// What a raw test upstream reads of a request: up to the end of its head
// (whatever arrives with it included); what came if the peer closed first.
inline std::string read_head(int fd) {
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Reads one response with a Content-Length or chunked body; "" on EOF.
inline std::string read_response(int fd, std::string* buffer, std::string* body_out = nullptr) {
  auto fill = [&] {
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer->append(buf, static_cast<size_t>(n));
    return true;
  };
  while (buffer->find("\r\n\r\n") == std::string::npos) {
    if (!fill()) return "";
  }
  size_t head_end = buffer->find("\r\n\r\n") + 4;
  std::string head = buffer->substr(0, head_end);
  std::string body;
  size_t cl = head.find("Content-Length: ");
  if (cl != std::string::npos) {
    size_t length = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    while (buffer->size() < head_end + length && fill()) {
    }
    body = buffer->substr(head_end, length);
    buffer->erase(0, head_end + length);
  } else if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
    size_t pos = head_end;
    while (true) {
      while (buffer->find("\r\n", pos) == std::string::npos && fill()) {
      }
      size_t eol = buffer->find("\r\n", pos);
      if (eol == std::string::npos) return "";
      size_t size = std::strtoul(buffer->c_str() + pos, nullptr, 16);
      while (buffer->size() < eol + 2 + size + 2 && fill()) {
      }
      if (size == 0) {
        buffer->erase(0, eol + 4);
        break;
      }
      body.append(*buffer, eol + 2, size);
      pos = eol + 2 + size + 2;
    }
  } else {
    buffer->erase(0, head_end);
  }
  if (body_out) *body_out = body;
  return head + body;
}

}  // namespace wok::router::test_support
