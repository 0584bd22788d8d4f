#pragma once
// A scripted HTTP/1.1 server for CLI tests: binds 127.0.0.1 port 0, answers
// each connection with the next scripted reply (then closes it), and records
// what was asked. One thread; hermetic.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wok::cmd::testing {

struct RecordedRequest {
  std::string method;
  std::string path;
  std::string authorization;
  std::string content_type;
  std::string body;
};

struct ScriptedReply {
  int status = 200;
  std::string body;
};

class FakeApiServer {
 public:
  FakeApiServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 16) != 0) {
      std::abort();
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~FakeApiServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void reply(int status, std::string body) {
    std::lock_guard lock(mutex_);
    replies_.push_back({status, std::move(body)});
  }

  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;  // shut down
      handle(fd);
      ::close(fd);
    }
  }

  static std::string header(const std::string& head, const std::string& name) {
    std::string lower_head;
    for (char c : head)
      lower_head += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string key = "\r\n" + name + ":";
    size_t at = lower_head.find(key);
    if (at == std::string::npos) return "";
    size_t start = at + key.size();
    size_t end = head.find("\r\n", start);
    std::string value = head.substr(start, end - start);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    return value;
  }

  void handle(int fd) {
    std::string data;
    char buffer[4096];
    size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return;
      data.append(buffer, static_cast<size_t>(n));
    }
    std::string head = data.substr(0, head_end);
    size_t length = std::strtoul(header(head, "content-length").c_str(), nullptr, 10);
    while (data.size() < head_end + 4 + length) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return;
      data.append(buffer, static_cast<size_t>(n));
    }
    RecordedRequest request;
    size_t sp1 = head.find(' ');
    size_t sp2 = head.find(' ', sp1 + 1);
    request.method = head.substr(0, sp1);
    request.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
    request.authorization = header(head, "authorization");
    request.content_type = header(head, "content-type");
    request.body = data.substr(head_end + 4, length);

    ScriptedReply reply{500, R"({"kind":"Status","message":"no scripted reply left"})"};
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      if (!replies_.empty()) {
        reply = replies_.front();
        replies_.pop_front();
      }
    }
    std::string response = "HTTP/1.1 " + std::to_string(reply.status) +
                           " Scripted\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" +
                           reply.body;
    size_t done = 0;
    while (done < response.size()) {
      ssize_t n = ::write(fd, response.data() + done, response.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::deque<ScriptedReply> replies_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace wok::cmd::testing
