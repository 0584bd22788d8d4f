#include "http/output_queue.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/assert.h"

namespace wok::http {
namespace {

constexpr size_t kMaxIov = 64;
// Bounds one sendfile call so a large file does not starve the loop's
// other connections.
constexpr size_t kMaxSendfileChunk = 1 << 20;

}  // namespace

OutputQueue::~OutputQueue() {
  while (!items_.empty()) pop_front();
}

void OutputQueue::push(std::string bytes) {
  if (bytes.empty()) return;
  buffered_ += bytes.size();
  items_.push_back(Item{std::move(bytes), 0, -1, 0, 0});
}

void OutputQueue::push_file(int file_fd, off_t offset, size_t length) {
  if (length == 0) {
    close(file_fd);
    return;
  }
  items_.push_back(Item{{}, 0, file_fd, offset, length});
}

void OutputQueue::pop_front() {
  Item& item = items_.front();
  if (item.fd >= 0) {
    close(item.fd);
  } else {
    buffered_ -= item.bytes.size() - item.sent;
  }
  items_.pop_front();
}

OutputQueue::Result OutputQueue::write_to(int socket_fd) {
  while (!items_.empty()) {
    Result r =
        items_.front().fd >= 0 ? write_file(socket_fd, items_.front()) : write_strings(socket_fd);
    if (r != Result::kDone) return r;
  }
  return Result::kDone;
}

// One sendmsg over the leading run of strings (sendmsg, not writev: a
// socket call skips the file-position lock and iterator set-up of the VFS
// path); kDone means progress was made. When a file follows (a head before
// its sendfile), MSG_MORE holds the strings back so that they leave in the
// file's first segment, not in a small segment of their own (what nginx's
// tcp_nopush does).
OutputQueue::Result OutputQueue::write_strings(int socket_fd) {
  iovec iov[kMaxIov];
  size_t n = 0;
  auto it = items_.begin();
  for (; it != items_.end() && it->fd < 0 && n < kMaxIov; ++it, ++n) {
    iov[n].iov_base = it->bytes.data() + it->sent;
    iov[n].iov_len = it->bytes.size() - it->sent;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  const bool file_follows = it != items_.end() && it->fd >= 0;
  ssize_t written = sendmsg(socket_fd, &msg, MSG_NOSIGNAL | (file_follows ? MSG_MORE : 0));
  if (written < 0) {
    if (errno == EINTR) return Result::kDone;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? Result::kBlocked : Result::kError;
  }
  size_t left = static_cast<size_t>(written);
  while (left > 0) {
    WOK_ASSERT(!items_.empty() && items_.front().fd < 0, "sendmsg wrote more than it was given");
    Item& front = items_.front();
    size_t take = std::min(left, front.bytes.size() - front.sent);
    front.sent += take;
    buffered_ -= take;
    left -= take;
    if (front.sent == front.bytes.size()) items_.pop_front();
  }
  return Result::kDone;
}

OutputQueue::Result OutputQueue::write_file(int socket_fd, Item& item) {
  ssize_t sent =
      sendfile(socket_fd, item.fd, &item.offset, std::min(item.remaining, kMaxSendfileChunk));
  if (sent < 0) {
    if (errno == EINTR) return Result::kDone;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? Result::kBlocked : Result::kError;
  }
  // The file shrank under us: the promised Content-Length cannot be kept,
  // so the only honest thing left is to drop the connection.
  if (sent == 0) return Result::kError;
  WOK_ASSERT(static_cast<size_t>(sent) <= item.remaining, "sendfile sent more than it was asked");
  item.remaining -= static_cast<size_t>(sent);
  if (item.remaining == 0) pop_front();
  return Result::kDone;
}

}  // namespace wok::http
