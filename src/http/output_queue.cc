#include "http/output_queue.h"

#include <openssl/err.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/assert.h"

namespace wok::http {
namespace {

constexpr size_t kMaxIov = 64;
// Bounds one sendfile call so a large file does not starve the loop's
// other connections.
constexpr size_t kMaxSendfileChunk = 1 << 20;

// One TLS record's plaintext: what stage_tls() gathers before SSL_write.
constexpr size_t kTlsRecord = 16 * 1024;

// The loop thread's staged record (one connection's at a time: finish_tls
// empties it before the loop moves on).
struct TlsStage {
  char bytes[kTlsRecord];
  size_t size = 0;
};
thread_local TlsStage tls_stage;

}  // namespace

OutputQueue::~OutputQueue() {
  while (!items_.empty()) pop_front();
}

void OutputQueue::push(std::string bytes) {
  if (bytes.empty()) return;
  buffered_ += bytes.size();
  items_.push_back(Item{std::move(bytes), 0, -1, 0, 0, {}});
}

void OutputQueue::push_shared(SharedBytes bytes) {
  if (bytes.bytes.empty()) return;
  buffered_ += bytes.bytes.size();
  Item item;
  item.shared = std::move(bytes);
  items_.push_back(std::move(item));
}

void OutputQueue::push_file(int file_fd, off_t offset, size_t length) {
  if (length == 0) {
    close(file_fd);
    return;
  }
  items_.push_back(Item{{}, 0, file_fd, offset, length, {}});
}

void OutputQueue::pop_front() {
  Item& item = items_.front();
  if (item.fd >= 0) {
    close(item.fd);
  } else {
    buffered_ -= item.text().size() - item.sent;
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
    std::string_view text = it->text();
    iov[n].iov_base = const_cast<char*>(text.data()) + it->sent;
    iov[n].iov_len = text.size() - it->sent;
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
    const size_t size = front.text().size();
    size_t take = std::min(left, size - front.sent);
    front.sent += take;
    buffered_ -= take;
    left -= take;
    if (front.sent == size) items_.pop_front();
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

// Moves up to kTlsBatch bytes from the front of the queue into tls_batch_;
// false when a file could not be read (it shrank, or failed).
bool OutputQueue::fill_tls_batch() {
  while (!items_.empty() && tls_batch_.size() < kTlsBatch) {
    Item& item = items_.front();
    size_t room = kTlsBatch - tls_batch_.size();
    if (item.fd < 0) {
      std::string_view text = item.text();
      size_t take = std::min(room, text.size() - item.sent);
      if (!item.shared.owner && tls_batch_.empty() && take == text.size()) {
        tls_batch_ = std::move(item.bytes);  // a whole string: no copy
        item.bytes.clear();
        item.sent = 0;
        buffered_ -= take;
        items_.pop_front();
        continue;
      }
      tls_batch_.append(text.substr(item.sent, take));
      item.sent += take;
      buffered_ -= take;
      if (item.sent == text.size()) items_.pop_front();
      continue;
    }
    size_t want = std::min(room, item.remaining);
    size_t old = tls_batch_.size();
    tls_batch_.resize(old + want);
    ssize_t got = pread(item.fd, tls_batch_.data() + old, want, item.offset);
    if (got < 0 && errno == EINTR) {
      tls_batch_.resize(old);
      continue;
    }
    if (got <= 0) return false;  // shrank or failed: Content-Length cannot be kept
    tls_batch_.resize(old + static_cast<size_t>(got));
    item.offset += got;
    item.remaining -= static_cast<size_t>(got);
    if (item.remaining == 0) pop_front();
  }
  return true;
}

OutputQueue::Result OutputQueue::stage_tls(SSL* ssl, std::string_view bytes) {
  staged_total_ += bytes.size();
  TlsStage& stage = tls_stage;
  while (!bytes.empty()) {
    if (!empty()) {  // the socket is full: behind what waits
      WOK_ASSERT(stage.size == 0, "a staged record behind a queue");
      push(std::string(bytes));
      return Result::kBlocked;
    }
    size_t take = std::min(kTlsRecord - stage.size, bytes.size());
    std::memcpy(stage.bytes + stage.size, bytes.data(), take);
    stage.size += take;
    bytes.remove_prefix(take);
    if (stage.size == kTlsRecord) {
      if (Result r = write_stage(ssl); r == Result::kError) return r;
    }
  }
  return empty() ? Result::kDone : Result::kBlocked;
}

OutputQueue::Result OutputQueue::finish_tls(SSL* ssl) {
  if (tls_stage.size == 0) return empty() ? Result::kDone : Result::kBlocked;
  return write_stage(ssl);
}

// SSL_write of the staged record; when the socket cannot take it, the
// record moves into tls_batch_, from where write_tls() retries it
// (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: the same bytes at another address).
OutputQueue::Result OutputQueue::write_stage(SSL* ssl) {
  TlsStage& stage = tls_stage;
  const size_t size = stage.size;
  stage.size = 0;
  size_t written = 0;
  if (SSL_write_ex(ssl, stage.bytes, size, &written) == 1) return Result::kDone;
  int error = SSL_get_error(ssl, 0);
  if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
    tls_batch_.assign(stage.bytes, size);
    return Result::kBlocked;
  }
  ERR_clear_error();
  return Result::kError;
}

OutputQueue::Result OutputQueue::write_tls(SSL* ssl) {
  for (;;) {
    if (tls_batch_.empty() && !fill_tls_batch()) return Result::kError;
    if (tls_batch_.empty()) return Result::kDone;
    // The thread's OpenSSL error queue is kept empty (each failure clears
    // it), as SSL_get_error needs, without a clear before every call.
    size_t written = 0;
    if (SSL_write_ex(ssl, tls_batch_.data(), tls_batch_.size(), &written) != 1) {
      int error = SSL_get_error(ssl, 0);
      if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) return Result::kBlocked;
      ERR_clear_error();
      return Result::kError;
    }
    std::string().swap(tls_batch_);
  }
}

}  // namespace wok::http
