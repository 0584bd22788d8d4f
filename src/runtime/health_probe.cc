#include "runtime/health_probe.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/netns.h"

namespace wok::runtime {

int parse_status_line(const std::string& head) {
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12 || head[8] != ' ') return 0;
  int code = 0;
  for (int i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return 0;
    code = code * 10 + (head[i] - '0');
  }
  return code;
}

ProbeResult probe_http(int pid, uint16_t port, const std::string& path,
                       std::chrono::milliseconds timeout) {
  ProbeResult result;
  int fd = connect_in_netns(pid, port, timeout);
  if (fd < 0) {
    result.error = std::string("connect: ") + std::strerror(errno);
    return result;
  }
  if (path.empty()) {
    ::close(fd);
    result.ok = true;
    return result;
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\nUser-Agent: wok-probe\r\n\r\n";
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t sent = 0;
  std::string head;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.error = "timed out";
      break;
    }
    bool sending = sent < req.size();
    pollfd p{fd, static_cast<short>(sending ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    if (sending) {
      ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) {
        result.error = std::string("send: ") + std::strerror(errno);
        break;
      }
      if (n > 0) sent += n;
      continue;
    }
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) head.append(buf, n);
    if ((n == 0 || head.size() >= 12) || (n < 0 && errno != EAGAIN)) {
      result.status = parse_status_line(head);
      result.ok = result.status >= 200 && result.status < 400;
      if (!result.ok)
        result.error =
            result.status ? "status " + std::to_string(result.status) : "no HTTP response";
      break;
    }
  }
  ::close(fd);
  return result;
}

ProbeResult probe_listening(int pid, uint16_t port) {
  ProbeResult result;
  char hex_port[8];
  std::snprintf(hex_port, sizeof hex_port, "%04X", port);
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    if (!in) {
      result.error = "no network namespace (instance gone?)";
      return result;
    }
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      // "  0: 0100007F:2328 00000000:0000 0A ...": local address, remote, state
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      auto colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos || local.substr(colon + 1) != hex_port)
        continue;
      std::string address = local.substr(0, colon);
      bool loopback_or_any = address == "0100007F" ||
                             address.find_first_not_of('0') == std::string::npos ||
                             address == "00000000000000000000000001000000";
      if (loopback_or_any) {
        result.ok = true;
        return result;
      }
    }
  }
  result.error = "nothing listens on port " + std::to_string(port);
  return result;
}

}  // namespace wok::runtime
