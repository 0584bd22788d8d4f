#pragma once
// What a connection still has to send, in order: byte strings (written with
// writev) and file ranges (sendfile). Owns the file descriptors it holds.
#include <openssl/ssl.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "http/message.h"

namespace wok::http {

class OutputQueue {
 public:
  enum class Result { kDone, kBlocked, kError };

  OutputQueue() = default;
  ~OutputQueue();
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  void push(std::string bytes);
  // Bytes another object owns: sent from where they are (kept alive until then).
  void push_shared(SharedBytes bytes);
  // Takes ownership of file_fd; it is closed once sent or dropped.
  void push_file(int file_fd, off_t offset, size_t length);

  // Writes as much as the socket takes. kBlocked: wait for EPOLLOUT.
  Result write_to(int socket_fd);
  // The same through a TLS session: strings and file ranges are copied in
  // turns into one buffer of up to kTlsBatch bytes (no sendfile under TLS),
  // which SSL_write sends whole (retried unchanged after a kBlocked, as
  // OpenSSL requires); the buffer is freed once sent, so an idle
  // connection holds none.
  Result write_tls(SSL* ssl);
  // Under TLS, bytes made for this connection alone (HTTP/2 frames): copied
  // once into the loop thread's buffer of one record, written by SSL_write
  // each time it is full, while nothing is queued before them; else (once
  // the socket is full) queued. finish_tls() writes what is staged (a
  // shorter record) and must end every run of stage_tls() calls, before
  // the loop serves another connection.
  Result stage_tls(SSL* ssl, std::string_view bytes);
  Result finish_tls(SSL* ssl);
  // Bytes given to stage_tls() so far (written or queued).
  uint64_t staged_total() const { return staged_total_; }
  bool empty() const { return items_.empty() && tls_batch_.empty(); }
  // Bytes of strings still queued; files count for little since they cost no memory.
  size_t buffered_bytes() const { return buffered_ + tls_batch_.size(); }
  size_t items() const { return items_.size(); }

 private:
  struct Item {
    std::string bytes;  // used when fd < 0 and no shared bytes
    size_t sent = 0;
    int fd = -1;
    off_t offset = 0;
    size_t remaining = 0;
    SharedBytes shared;
    // The bytes of a string item, owned or shared.
    std::string_view text() const { return shared.owner ? shared.bytes : std::string_view(bytes); }
  };
  Result write_strings(int socket_fd);
  Result write_file(int socket_fd, Item& item);
  void pop_front();
  bool fill_tls_batch();
  Result write_stage(SSL* ssl);

  static constexpr size_t kTlsBatch = 64 * 1024;

  std::deque<Item> items_;
  size_t buffered_ = 0;
  std::string tls_batch_;  // taken from items_, being written by SSL_write
  uint64_t staged_total_ = 0;
};

}  // namespace wok::http
