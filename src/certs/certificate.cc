#include "certs/certificate.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace wok::certs {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;

std::string openssl_error(std::string_view fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

X509Ptr parse_cert(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

KeyPtr parse_key(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

KeyPtr new_key() { return KeyPtr(EVP_EC_gen("P-256")); }

std::string name_line(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string common_name(const X509_NAME* name) {
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return name_line(name);
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

int64_t unix_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

}  // namespace

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

// Written whole or not at all (a temporary renamed into place), mode given.
bool write_file(const std::string& path, const std::string& data, unsigned mode,
                std::string* error) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    *error = tmp + ": " + strerror(errno);
    return false;
  }
  bool ok =
      ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": " + strerror(errno);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::optional<CertificateInfo> read_certificate(std::string_view pem, std::string* error) {
  X509Ptr cert = parse_cert(pem);
  if (!cert) {
    *error = "not a PEM certificate (expected -----BEGIN CERTIFICATE-----)";
    return std::nullopt;
  }
  CertificateInfo info;
  info.subject = name_line(X509_get_subject_name(cert.get()));
  info.issuer = common_name(X509_get_issuer_name(cert.get()));
  info.not_before = unix_time(X509_get0_notBefore(cert.get()));
  info.not_after = unix_time(X509_get0_notAfter(cert.get()));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr)) {
    char* hex = BN_bn2hex(bn);
    info.serial = hex;
    OPENSSL_free(hex);
    BN_free(bn);
  }
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_DNS) continue;
      const ASN1_STRING* s = name->d.dNSName;
      info.hosts.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                              static_cast<size_t>(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(names);
  }
  return info;
}

std::string rfc3339(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool covers(const std::vector<std::string>& names, std::string_view host) {
  for (const std::string& name : names) {
    if (name == host) return true;
    if (name.size() > 2 && name.compare(0, 2, "*.") == 0) {
      std::string_view parent = std::string_view(name).substr(2);
      size_t dot = host.find('.');
      if (dot != std::string_view::npos && dot > 0 && host.substr(dot + 1) == parent) return true;
    }
  }
  return false;
}

std::string generate_key_pem() {
  KeyPtr key = new_key();
  return key ? pem_of(key.get()) : std::string();
}

struct LocalCa::Impl {
  X509Ptr cert;
  KeyPtr key;
};

LocalCa::~LocalCa() = default;

std::unique_ptr<LocalCa> LocalCa::open(const std::string& dir, std::string* error) {
  std::unique_ptr<LocalCa> ca(new LocalCa());
  ca->dir_ = dir;
  ca->impl_ = std::make_unique<Impl>();
  std::string cert_pem, key_pem;
  if (read_file(dir + "/ca.crt", &cert_pem) && read_file(dir + "/ca.key", &key_pem)) {
    ca->impl_->cert = parse_cert(cert_pem);
    ca->impl_->key = parse_key(key_pem);
    if (!ca->impl_->cert || !ca->impl_->key ||
        X509_check_private_key(ca->impl_->cert.get(), ca->impl_->key.get()) != 1) {
      ERR_clear_error();
      *error = dir + "/ca.crt and ca.key do not hold a certificate and its key";
      return nullptr;
    }
    ca->cert_pem_ = cert_pem;
    return ca;
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    *error = dir + ": " + strerror(errno);
    return nullptr;
  }
  KeyPtr key = new_key();
  X509Ptr cert(X509_new());
  if (!key || !cert) {
    *error = "local CA: " + openssl_error("cannot make a key");
    return nullptr;
  }
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  std::string cn = std::string("wok local CA (") + host + ")";
  X509_set_version(cert.get(), 2);
  random_serial(cert.get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), int64_t{3650} * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("wok"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (!add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    *error = "local CA: " + openssl_error("cannot sign");
    return nullptr;
  }
  std::string new_cert = pem_of(cert.get()), new_key_pem = pem_of(key.get());
  if (!write_file(dir + "/ca.key", new_key_pem, 0600, error) ||
      !write_file(dir + "/ca.crt", new_cert, 0644, error)) {
    return nullptr;
  }
  ca->impl_->cert = std::move(cert);
  ca->impl_->key = std::move(key);
  ca->cert_pem_ = new_cert;
  return ca;
}

std::optional<Issued> LocalCa::issue(const std::vector<std::string>& hosts, int valid_days,
                                     std::string* error) const {
  if (hosts.empty()) {
    *error = "no host names to certify";
    return std::nullopt;
  }
  KeyPtr key = new_key();
  X509Ptr cert(X509_new());
  if (!key || !cert) {
    *error = openssl_error("cannot make a key");
    return std::nullopt;
  }
  X509_set_version(cert.get(), 2);
  random_serial(cert.get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), int64_t{valid_days} * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(hosts[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(impl_->cert.get()));
  X509_set_pubkey(cert.get(), key.get());
  std::string san;
  for (const std::string& host : hosts) {
    if (host.find_first_of(",\n\r") != std::string::npos) {
      *error = "\"" + host + "\" is not a host name";
      return std::nullopt;
    }
    san += (san.empty() ? "DNS:" : ",DNS:") + host;
  }
  if (!add_extension(cert.get(), impl_->cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), impl_->cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(cert.get(), impl_->cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), impl_->cert.get(), NID_authority_key_identifier, "keyid") ||
      !add_extension(cert.get(), impl_->cert.get(), NID_subject_alt_name, san) ||
      X509_sign(cert.get(), impl_->key.get(), EVP_sha256()) == 0) {
    *error = openssl_error("cannot sign");
    return std::nullopt;
  }
  Issued out;
  out.certificate_pem = pem_of(cert.get()) + cert_pem_;
  out.key_pem = pem_of(key.get());
  std::string ignored;
  out.info = *read_certificate(out.certificate_pem, &ignored);
  return out;
}

}  // namespace wok::certs
