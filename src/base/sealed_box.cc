#include "base/sealed_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace wok::base {
namespace {

constexpr size_t kNonce = 12, kTag = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// 64 lowercase hex digits, an optional newline after them.
bool parse_key(std::string text, std::array<unsigned char, 32>* key) {
  if (text.size() == 65 && text.back() == '\n') text.pop_back();
  if (text.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*key)[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

std::string read_all(int fd) {
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 4096)
    text.append(buf, static_cast<size_t>(n));
  return text;
}

}  // namespace

std::unique_ptr<SealedBox> SealedBox::load_or_create(const std::string& path, std::string* error) {
  std::array<unsigned char, 32> key{};
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      ::close(fd);
      ::unlink(path.c_str());
      *error = "cannot draw a key for " + path + ": the OS's random source failed";
      return nullptr;
    }
    std::string text = hex(key.data(), key.size()) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    int saved = errno;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      *error = "cannot write " + path + ": " + std::strerror(saved);
      return nullptr;
    }
    return std::make_unique<SealedBox>(key);
  }
  if (errno != EEXIST) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = path + " is not a regular file";
    return nullptr;
  }
  if ((st.st_mode & 077) != 0) ::fchmod(fd, 0600);  // an older or careless copy: narrowed
  std::string text = read_all(fd);
  ::close(fd);
  if (!parse_key(std::move(text), &key)) {
    *error = path + " is not a key (64 hex digits); restore the data directory's own key";
    return nullptr;
  }
  return std::make_unique<SealedBox>(key);
}

std::string SealedBox::seal(std::string_view plaintext, std::string_view context) const {
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(nonce, kNonce) != 1) throw std::runtime_error("the OS's random source failed");
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* body = nonce + kNonce;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(context.data()),
                        static_cast<int>(context.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), body, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, body + plaintext.size()) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  return out;
}

std::optional<std::string> SealedBox::open(std::string_view sealed,
                                           std::string_view context) const {
  if (sealed.size() < kNonce + kTag) return std::nullopt;
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  size_t n = sealed.size() - kNonce - kTag;
  std::string plain(n, '\0');
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  std::array<unsigned char, kTag> tag;
  std::memcpy(tag.data(), nonce + kNonce + n, kTag);
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(context.data()),
                        static_cast<int>(context.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, nonce + kNonce, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out + len, &len) != 1) {
    return std::nullopt;  // wrong key, wrong context, or altered
  }
  return plain;
}

}  // namespace wok::base

namespace wok::base {

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (size_t left = bytes.size() - i; left > 0) {
    uint32_t v = at(i) << 16;
    if (left == 2) v |= at(i + 1) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (left == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical trailing bits
  return out;
}

std::string random_token(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("the OS's random source failed");
  return base64url_encode(raw);
}

}  // namespace wok::base
