#include "http/tls.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>

namespace wok::http {

// ALPN is answered by the context the handshake ends on (picked by SNI), so
// every context has the callback; the protocols come from the acceptor the
// connection was accepted by (the SSL's app data).
struct AlpnList {
  std::string wire;
};

namespace {

constexpr unsigned char kSessionIdContext[] = "wok";
// TLS 1.2's suites: forward secrecy and AEAD only (Mozilla's "intermediate").
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3's, AES-128-GCM first as on 1.2: its key schedule hashes with
// SHA-256, cheaper per handshake than AES-256's SHA-384 (OpenSSL's default
// puts AES-256 first), and as strong for a session. ChaCha20 when the
// client puts it first (SSL_OP_PRIORITIZE_CHACHA: no AES in its hardware).
constexpr const char* kCiphers13 =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

std::string openssl_error(std::string_view fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// Session ticket keys, the same for every context of the process (a ticket
// from one certificate's handshake resumes under any), rotated: a new key
// encrypts every kRotateEvery, the previous ones still decrypt (and the
// ticket is then renewed) until they are kKept rotations old. Keys live in
// memory only: a restart ends every ticket, which costs one full handshake.
class TicketKeys {
 public:
  static TicketKeys& instance() {
    static TicketKeys keys;
    return keys;
  }

  // Fetched once: EVP_aes_256_cbc() would be looked up by name again in
  // every ticket's EVP_*Init_ex.
  static const EVP_CIPHER* ticket_cipher() {
    static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    return cipher;
  }

  int encrypt(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac) {
    Key key;
    {
      std::lock_guard lock(mu_);
      rotate_if_due();
      key = keys_.front();
    }
    const EVP_CIPHER* aes = ticket_cipher();
    if (!aes || RAND_bytes(iv, EVP_CIPHER_get_iv_length(aes)) != 1) return -1;
    std::memcpy(name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cipher, aes, nullptr, key.aes.data(), iv) != 1) return -1;
    return set_mac(mac, key) ? 1 : -1;
  }

  int decrypt(const unsigned char* name, const unsigned char* iv, EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac) {
    Key key;
    bool current = false;
    {
      std::lock_guard lock(mu_);
      rotate_if_due();
      bool found = false;
      for (size_t i = 0; i < keys_.size() && !found; ++i) {
        if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
          key = keys_[i];
          found = true;
          current = i == 0;
        }
      }
      if (!found) return 0;  // unknown or expired: a full handshake
    }
    const EVP_CIPHER* aes = ticket_cipher();
    if (!aes || EVP_DecryptInit_ex(cipher, aes, nullptr, key.aes.data(), iv) != 1) return -1;
    if (!set_mac(mac, key)) return -1;
    return current ? 1 : 2;  // 2: valid, but issue a ticket under the current key
  }

 private:
  static constexpr std::chrono::hours kRotateEvery{6};
  static constexpr size_t kKept = 4;  // a ticket stays good for up to a day

  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{};
    std::array<unsigned char, 32> hmac{};
    std::chrono::steady_clock::time_point created;
  };

  static bool set_mac(EVP_MAC_CTX* mac, Key& key) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_init(mac, key.hmac.data(), key.hmac.size(), params) == 1;
  }

  void rotate_if_due() {
    auto now = std::chrono::steady_clock::now();
    if (!keys_.empty() && now - keys_.front().created < kRotateEvery) return;
    Key key;
    key.created = now;
    if (RAND_bytes(key.name.data(), key.name.size()) != 1 ||
        RAND_bytes(key.aes.data(), key.aes.size()) != 1 ||
        RAND_bytes(key.hmac.data(), key.hmac.size()) != 1) {
      if (!keys_.empty()) return;  // keep the old key rather than none
    }
    keys_.push_front(key);
    while (keys_.size() > kKept) keys_.pop_back();
  }

  std::mutex mu_;
  std::deque<Key> keys_;
};

int ticket_key_callback(SSL*, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac, int enc) {
  return enc ? TicketKeys::instance().encrypt(name, iv, cipher, mac)
             : TicketKeys::instance().decrypt(name, iv, cipher, mac);
}

int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_len,
                const unsigned char* in, unsigned int in_len, void*) {
  auto* list = static_cast<const AlpnList*>(SSL_get_app_data(ssl));
  if (!list || list->wire.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  unsigned char selected_len = 0;
  // Our order of preference, the first the client also offers.
  if (SSL_select_next_proto(
          &selected, &selected_len, reinterpret_cast<const unsigned char*>(list->wire.data()),
          static_cast<unsigned int>(list->wire.size()), in, in_len) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // nothing in common: go on without ALPN (HTTP/1.1)
  }
  *out = selected;
  *out_len = selected_len;
  return SSL_TLSEXT_ERR_OK;
}

constexpr int kMaxChainCertificates = 8;

// Keys every handshake can afford: the router's loops sign with them for
// every site they serve, so a tenant's 16384-bit RSA key would cost the
// others a second of CPU per handshake. RSA 2048 to 4096 bits, ECDSA P-256
// or P-384, Ed25519. "" when fine, else why not.
std::string key_problem(EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (bits < 2048 || bits > 4096)
      return "the private key is RSA " + std::to_string(bits) +
             " bits: 2048 to 4096 only (larger keys make every handshake cost the shared router "
             "far more, smaller ones are weak)";
    return "";
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char curve[64] = "";
    size_t len = 0;
    EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &len);
    std::string name(curve, len);
    if (name != "prime256v1" && name != "secp384r1" && name != "P-256" && name != "P-384")
      return "the private key is on curve " + (name.empty() ? std::string("?") : name) +
             ": P-256 or P-384 only";
    return "";
  }
  if (EVP_PKEY_is_a(key, "ED25519")) return "";
  return "the private key is neither RSA, ECDSA (P-256, P-384) nor Ed25519";
}

bool apply_settings(SSL_CTX* ctx, std::string* error) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Idle keep-alive connections give their read and write buffers back. A
  // write the socket could not take is retried from another buffer holding
  // the same bytes (OutputQueue: a staged record moves into the queue).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Records read whole with one recv, not a header and then a body.
  SSL_CTX_set_read_ahead(ctx, 1);
  if (SSL_CTX_set_cipher_list(ctx, kCiphers12) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kCiphers13) != 1) {
    *error = "cipher list: " + openssl_error("rejected");
    return false;
  }
  // Sessions resume by tickets only (stateless; no cache to share between loops).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  return true;
}

}  // namespace

std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) continue;
    wire.push_back(static_cast<char>(p.size()));
    wire.append(p);
  }
  return wire;
}

SslContext make_certificate_context(std::string_view chain_pem, std::string_view key_pem,
                                    std::string* error) {
  ERR_clear_error();
  SslContext ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) {
    *error = openssl_error("cannot create a TLS context");
    return nullptr;
  }
  if (!apply_settings(ctx.get(), error)) return nullptr;

  std::unique_ptr<BIO, decltype(&BIO_free)> chain(
      BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> leaf(
      PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr), X509_free);
  if (!leaf) {
    *error = "the certificate is not PEM (expected -----BEGIN CERTIFICATE-----)";
    ERR_clear_error();
    return nullptr;
  }
  if (EVP_PKEY* public_key = X509_get0_pubkey(leaf.get())) {
    if (std::string problem = key_problem(public_key); !problem.empty()) {
      *error = problem;
      return nullptr;
    }
  }
  if (SSL_CTX_use_certificate(ctx.get(), leaf.get()) != 1) {
    *error = "certificate: " + openssl_error("rejected");
    return nullptr;
  }
  // The rest of the chain, as many intermediates as follow the leaf (a
  // real chain has one or two).
  int extras = 0;
  while (X509* extra = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
    if (++extras > kMaxChainCertificates) {
      X509_free(extra);
      *error = "the certificate chain has more than " + std::to_string(kMaxChainCertificates) +
               " certificates after the leaf";
      return nullptr;
    }
    if (SSL_CTX_add0_chain_cert(ctx.get(), extra) != 1) {
      X509_free(extra);
      *error = "certificate chain: " + openssl_error("rejected");
      return nullptr;
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"

  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) {
    *error = "the private key is not PEM, or is encrypted";
    ERR_clear_error();
    return nullptr;
  }
  if (std::string problem = key_problem(key.get()); !problem.empty()) {
    *error = problem;
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    *error = "the private key does not match the certificate";
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

std::shared_ptr<TlsAcceptor> TlsAcceptor::create(CertificateSelector select,
                                                 std::vector<std::string> alpn,
                                                 std::string* error) {
  ERR_clear_error();
  std::shared_ptr<TlsAcceptor> acceptor(new TlsAcceptor());
  acceptor->base_ = SSL_CTX_new(TLS_server_method());
  if (!acceptor->base_) {
    *error = openssl_error("cannot create a TLS context");
    return nullptr;
  }
  if (!apply_settings(acceptor->base_, error)) return nullptr;
  // Tickets are made and read by the context a session began on (this
  // one), whichever certificate SNI then picks.
  SSL_CTX_set_tlsext_ticket_key_evp_cb(acceptor->base_, ticket_key_callback);
  // One TLS 1.3 ticket per connection, not OpenSSL's two (a browser resumes
  // with one, and each costs an encryption and a MAC), and not at the end
  // of the handshake but with the first answer (ask_tls_ticket): one
  // segment for both.
  SSL_CTX_set_num_tickets(acceptor->base_, 0);
  SSL_CTX_set_tlsext_servername_callback(acceptor->base_, on_server_name);
  SSL_CTX_set_tlsext_servername_arg(acceptor->base_, acceptor.get());
  acceptor->select_ = std::move(select);
  acceptor->alpn_ = std::make_unique<AlpnList>(AlpnList{alpn_wire(alpn)});
  return acceptor;
}

TlsAcceptor::~TlsAcceptor() {
  if (base_) SSL_CTX_free(base_);
}

namespace {

// A socket BIO's reads, watched: whether the last one came back short.
// After a short read the socket is drained until the connection sees its
// next EPOLLIN edge (and clears the flag): a read before that would only
// say EAGAIN, so it says so without the syscall (OpenSSL reads on after a
// handshake flight for the client's answer, which cannot be there yet).
long note_short_read(BIO* bio, int oper, const char*, size_t len, int, long, int ret,
                     size_t* processed) {
  auto* short_read = reinterpret_cast<bool*>(BIO_get_callback_arg(bio));
  if (oper == BIO_CB_READ && *short_read) {
    BIO_set_retry_read(bio);
    return -1;
  }
  if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
    *short_read = ret > 0 && processed != nullptr && *processed < len;
  }
  return (oper & BIO_CB_RETURN) ? ret : 1;
}

// A session's writes go to its connection's TlsOutput: small records are
// held (sent together by send_tls_output), a large one is sent at once
// after what is held (writev), its unsent part left to OpenSSL to write
// again, as on a socket.
int output_write(BIO* bio, const char* data, size_t len, size_t* written) {
  auto* out = static_cast<TlsOutput*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (out->pending() + len <= kTlsCoalesceBytes) {
    if (out->sent == out->bytes.size()) {
      out->bytes.clear();
      out->sent = 0;
    }
    // Room for a run of full records at once, not regrown (and copied)
    // record by record.
    if (len > 4096 && out->bytes.capacity() < kTlsCoalesceBytes) {
      out->bytes.reserve(kTlsCoalesceBytes);
    }
    out->bytes.append(data, len);
    *written = len;
    return 1;
  }
  const size_t held = out->pending();
  iovec iov[2] = {{out->bytes.data() + out->sent, held}, {const_cast<char*>(data), len}};
  msghdr msg{};
  msg.msg_iov = held ? iov : iov + 1;
  msg.msg_iovlen = held ? 2 : 1;
  ssize_t n;
  do {
    n = sendmsg(out->fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return 0;  // failed: no retry
  size_t sent = n < 0 ? 0 : static_cast<size_t>(n);
  const size_t of_held = std::min(sent, held);
  out->sent += of_held;
  if (out->sent == out->bytes.size()) {
    std::string().swap(out->bytes);
    out->sent = 0;
  }
  if (sent > held) {
    *written = sent - held;
    return 1;
  }
  BIO_set_retry_write(bio);  // the socket is full: EPOLLOUT will say when to go on
  return 0;
}

long output_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // the connection sends when its event is handled
    case BIO_CTRL_WPENDING:
      return static_cast<long>(static_cast<TlsOutput*>(BIO_get_data(bio))->pending());
    default:
      return 0;
  }
}

int output_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* output_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wok TLS output");
    if (m) {
      BIO_meth_set_write_ex(m, output_write);
      BIO_meth_set_ctrl(m, output_ctrl);
      BIO_meth_set_create(m, output_create);
    }
    return m;
  }();
  return method;
}

}  // namespace

bool send_tls_output(TlsOutput& out) {
  while (out.pending() > 0) {
    ssize_t n = send(out.fd, out.bytes.data() + out.sent, out.pending(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    out.sent += static_cast<size_t>(n);
  }
  // Emptied: a large buffer goes back (idle connections hold none).
  if (out.bytes.capacity() > 4096) {
    std::string().swap(out.bytes);
  } else {
    out.bytes.clear();
  }
  out.sent = 0;
  return true;
}

void ask_tls_ticket(SSL* ssl) {
  if (SSL_version(ssl) == TLS1_3_VERSION && !(SSL_get_options(ssl) & SSL_OP_NO_TICKET)) {
    SSL_new_session_ticket(ssl);
  }
}

bool tls_drained(SSL* ssl, bool short_read) { return short_read && SSL_has_pending(ssl) == 0; }

SSL* TlsAcceptor::accept(int fd, bool* short_read, TlsOutput* output) const {
  const BIO_METHOD* method = output_method();
  if (!method) return nullptr;
  SSL* ssl = SSL_new(base_);
  if (!ssl) return nullptr;
  BIO* rbio = BIO_new_socket(fd, BIO_NOCLOSE);
  BIO* wbio = BIO_new(method);
  if (!rbio || !wbio) {
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    return nullptr;
  }
  output->fd = fd;
  BIO_set_data(wbio, output);
  SSL_set_bio(ssl, rbio, wbio);  // the session owns both
  if (short_read) {
    *short_read = false;
    BIO_set_callback_arg(rbio, reinterpret_cast<char*>(short_read));
    BIO_set_callback_ex(rbio, note_short_read);
  }
  SSL_set_app_data(ssl, alpn_.get());
  SSL_set_accept_state(ssl);
  return ssl;
}

int TlsAcceptor::on_server_name(SSL* ssl, int* alert, void* self) {
  auto* acceptor = static_cast<const TlsAcceptor*>(self);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  SslContext ctx = acceptor->select_(name ? std::string_view(name) : std::string_view());
  if (!ctx) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  // The session takes its own reference; ours may go with the table.
  if (!SSL_set_SSL_CTX(ssl, ctx.get())) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

std::string_view TlsAcceptor::negotiated_protocol(const SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return data ? std::string_view(reinterpret_cast<const char*>(data), len) : std::string_view();
}

std::string_view TlsAcceptor::server_name(const SSL* ssl) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return name ? std::string_view(name) : std::string_view();
}

}  // namespace wok::http
