#pragma once
// TLS for the event loop's connections: the settings every handshake starts
// from (TLS 1.2 and 1.3, modern ciphers, ALPN, session tickets whose keys
// rotate), and the certificate picked per handshake by the name the client
// asks for (SNI) from whatever the caller holds (the router: its route
// table, so a new or renewed certificate is used at the next handshake,
// with no restart and no connection dropped).
#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wok::http {

using SslContext = std::shared_ptr<SSL_CTX>;
struct AlpnList;

// A certificate chain and its private key (PEM, the leaf first) as a
// context with wok's settings; null with *error naming what is wrong (not
// PEM, no certificate, a key that does not match).
SslContext make_certificate_context(std::string_view chain_pem, std::string_view key_pem,
                                    std::string* error);

// Picks the context of a handshake from the name the client sent ("" when
// it sent none). Null refuses the handshake (alert unrecognized_name).
// Called on the loop thread that owns the connection, concurrently from
// several loops.
using CertificateSelector = std::function<SslContext(std::string_view server_name)>;

// What a session writes, held by its connection and sent with one send()
// when the connection is done with an event (send_tls_output): a handshake
// flight, a TLS 1.3 ticket and the first answer leave together, not as a
// syscall and a segment each; so do the four full records of a 64 KiB
// answer (one sendmsg instead of four: 14% less CPU per request for HTTP/2
// with 64 KiB files, docs/performance.md). Records are held up to
// kTlsCoalesceBytes; the one that would go past it goes out at once, after
// what is held (writev).
struct TlsOutput {
  int fd = -1;
  std::string bytes;
  size_t sent = 0;
  size_t pending() const { return bytes.size() - sent; }
};
inline constexpr size_t kTlsCoalesceBytes = 64 * 1024;

// Sends what `out` holds until it is empty or the socket is full (the
// rest waits for the next EPOLLOUT). False when the socket failed.
bool send_tls_output(TlsOutput& out);

// Asks a TLS 1.3 session for its ticket, sent with its next write (the
// first answer): once per connection, by the connection, so that the ticket
// shares the answer's segment. Nothing for TLS 1.2 (its ticket is part of
// the handshake).
void ask_tls_ticket(SSL* ssl);

class TlsAcceptor {
 public:
  // alpn: the protocols offered, in order of preference ("http/1.1").
  static std::shared_ptr<TlsAcceptor> create(CertificateSelector select,
                                             std::vector<std::string> alpn, std::string* error);
  ~TlsAcceptor();
  TlsAcceptor(const TlsAcceptor&) = delete;
  TlsAcceptor& operator=(const TlsAcceptor&) = delete;

  // A server session on a connected socket (the caller owns both); null
  // when OpenSSL cannot make one. *short_read (kept by the caller as long
  // as the session) says after each read of the socket whether it returned
  // fewer bytes than asked: the socket was drained (see tls_drained); while
  // it is set, reads say "retry" without a syscall, so the caller clears it
  // when epoll says there is something to read. The
  // session writes into *output (kept as long as the session; its fd is
  // set), which the caller sends (send_tls_output).
  SSL* accept(int fd, bool* short_read, TlsOutput* output) const;

  // The protocol ALPN chose on an established session ("" when none).
  static std::string_view negotiated_protocol(const SSL* ssl);
  // The name the client asked for (SNI), "" when none.
  static std::string_view server_name(const SSL* ssl);

 private:
  TlsAcceptor() = default;
  static int on_server_name(SSL* ssl, int* alert, void* self);

  SSL_CTX* base_ = nullptr;
  CertificateSelector select_;
  std::unique_ptr<AlpnList> alpn_;
};

// The ALPN wire list of `protocols` (length-prefixed names); shared by every
// context so that a context picked by SNI negotiates the same way.
std::string alpn_wire(const std::vector<std::string>& protocols);

// Whether a session's socket has nothing more to read now: its last read
// was short and OpenSSL holds no bytes unprocessed. An edge-triggered
// reader may then wait for the next edge instead of reading to EAGAIN (one
// read syscall less per request).
bool tls_drained(SSL* ssl, bool short_read);

}  // namespace wok::http
