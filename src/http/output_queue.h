#pragma once
// What a connection still has to send, in order: byte strings (written with
// writev) and file ranges (sendfile). Owns the file descriptors it holds.
#include <sys/types.h>

#include <cstddef>
#include <deque>
#include <string>

namespace wok::http {

class OutputQueue {
 public:
  enum class Result { kDone, kBlocked, kError };

  OutputQueue() = default;
  ~OutputQueue();
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  void push(std::string bytes);
  // Takes ownership of file_fd; it is closed once sent or dropped.
  void push_file(int file_fd, off_t offset, size_t length);

  // Writes as much as the socket takes. kBlocked: wait for EPOLLOUT.
  Result write_to(int socket_fd);
  bool empty() const { return items_.empty(); }
  // Bytes of strings still queued; files count for little since they cost no memory.
  size_t buffered_bytes() const { return buffered_; }
  size_t items() const { return items_.size(); }

 private:
  struct Item {
    std::string bytes;  // used when fd < 0
    size_t sent = 0;
    int fd = -1;
    off_t offset = 0;
    size_t remaining = 0;
  };
  Result write_strings(int socket_fd);
  Result write_file(int socket_fd, Item& item);
  void pop_front();

  std::deque<Item> items_;
  size_t buffered_ = 0;
};

}  // namespace wok::http
