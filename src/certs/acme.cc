#include "certs/acme.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "base/https_client.h"
#include "base/sealed_box.h"

namespace wok::certs {

using nlohmann::json;

void HttpChallenges::put(const std::string& token, const std::string& key_authorization) {
  std::lock_guard lock(mu_);
  tokens_[token] = key_authorization;
}

void HttpChallenges::remove(const std::string& token) {
  std::lock_guard lock(mu_);
  tokens_.erase(token);
}

std::optional<std::string> HttpChallenges::get(std::string_view token) const {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string base64url(std::string_view data) { return base::base64url_encode(data); }

std::string bn_bytes(const BIGNUM* bn, int size) {
  std::string out(static_cast<size_t>(size), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  return out;
}

using HttpResponse = base::HttpsResponse;

}  // namespace

struct AcmeClient::Impl {
  AcmeOptions options;
  HttpChallenges& challenges;
  KeyPtr account_key{nullptr, EVP_PKEY_free};
  json jwk;
  std::string thumbprint;
  json directory;
  std::string nonce;
  std::string account_url;  // the "kid"

  Impl(AcmeOptions o, HttpChallenges& c) : options(std::move(o)), challenges(c) {}

  HttpResponse http(const std::string& method, const std::string& url, const std::string& body,
                    const char* accept = nullptr) {
    base::HttpsRequest request;
    request.method = method;
    request.url = url;
    request.body = body;
    if (method == "POST") request.headers.push_back("Content-Type: application/jose+json");
    if (accept) request.headers.push_back(std::string("Accept: ") + accept);
    request.ca_file = options.ca_file;  // RFC 8555 6.1: HTTPS only, as https_request speaks
    request.user_agent = "wok-acme";
    request.max_body = 4 << 20;
    HttpResponse r = base::https_request(request);
    if (auto it = r.headers.find("replay-nonce"); it != r.headers.end()) nonce = it->second;
    return r;
  }

  bool load_account_key(std::string* error) {
    if (account_key) return true;
    std::ifstream in(options.account_key_path);
    std::string pem;
    if (in) {
      std::ostringstream s;
      s << in.rdbuf();
      pem = s.str();
    } else {
      pem = generate_key_pem();
      int fd = open(options.account_key_path.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0 || ::write(fd, pem.data(), pem.size()) != static_cast<ssize_t>(pem.size())) {
        *error = "ACME account key " + options.account_key_path + ": " + strerror(errno);
        if (fd >= 0) close(fd);
        return false;
      }
      close(fd);
    }
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    account_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    BIGNUM *x = nullptr, *y = nullptr;
    if (!account_key ||
        EVP_PKEY_get_bn_param(account_key.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(account_key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
      BN_free(x);
      BN_free(y);
      ERR_clear_error();
      *error = "ACME account key " + options.account_key_path + " is not a P-256 key";
      account_key.reset();
      return false;
    }
    // RFC 7638: the members in lexicographic order, no whitespace.
    jwk = json{{"crv", "P-256"},
               {"kty", "EC"},
               {"x", base64url(bn_bytes(x, 32))},
               {"y", base64url(bn_bytes(y, 32))}};
    BN_free(x);
    BN_free(y);
    std::string canonical = jwk.dump();
    unsigned char digest[32];
    SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
    thumbprint = base64url(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
    return true;
  }

  std::string sign(const std::string& data) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, account_key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
      return "";
    std::string der(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
      return "";
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    if (!sig) return "";
    // JWS ES256: r and s, 32 bytes each (not DER).
    std::string raw = bn_bytes(ECDSA_SIG_get0_r(sig), 32) + bn_bytes(ECDSA_SIG_get0_s(sig), 32);
    ECDSA_SIG_free(sig);
    return raw;
  }

  // A signed POST (payload nullopt: POST-as-GET); bad nonces are retried.
  HttpResponse post(const std::string& url, const std::optional<json>& payload,
                    const char* accept = nullptr) {
    HttpResponse r;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (nonce.empty()) {
        HttpResponse n = http("HEAD", directory.value("newNonce", ""), "");
        if (!n.error.empty()) return n;
      }
      json header = {{"alg", "ES256"}, {"nonce", nonce}, {"url", url}};
      if (account_url.empty())
        header["jwk"] = jwk;
      else
        header["kid"] = account_url;
      nonce.clear();
      std::string protected64 = base64url(header.dump());
      std::string payload64 = payload ? base64url(payload->dump()) : "";
      json jws = {{"protected", protected64},
                  {"payload", payload64},
                  {"signature", base64url(sign(protected64 + "." + payload64))}};
      r = http("POST", url, jws.dump(), accept);
      if (!r.error.empty()) return r;
      if (r.status == 400 && problem_type(r) == "urn:ietf:params:acme:error:badNonce") continue;
      return r;
    }
    return r;
  }

  static std::string problem_type(const HttpResponse& r) {
    json body = json::parse(r.body, nullptr, false);
    return body.is_object() ? body.value("type", "") : "";
  }

  // What went wrong, from a problem document (RFC 7807) or the transport.
  static AcmeFailure failure_of(const std::string& what, const HttpResponse& r) {
    AcmeFailure f;
    if (!r.error.empty()) {
      f.message = what + ": " + r.error;
      return f;
    }
    json body = json::parse(r.body, nullptr, false);
    std::string detail = body.is_object() ? body.value("detail", "") : "";
    std::string type = body.is_object() ? body.value("type", "") : "";
    if (type.rfind("urn:ietf:params:acme:error:", 0) == 0) type = type.substr(27);
    f.message = what + ": HTTP " + std::to_string(r.status) + (type.empty() ? "" : " " + type) +
                (detail.empty() ? "" : ": " + detail);
    if (auto it = r.headers.find("retry-after"); it != r.headers.end())
      f.retry_after_s = std::max<int64_t>(0, std::atoll(it->second.c_str()));
    return f;
  }

  bool ensure_account(AcmeFailure* failure) {
    std::string error;
    if (!load_account_key(&error)) {
      failure->message = error;
      return false;
    }
    if (!directory.is_object()) {
      HttpResponse d = http("GET", options.directory_url, "");
      json body = json::parse(d.body, nullptr, false);
      if (!d.error.empty() || d.status != 200 || !body.is_object() || !body.contains("newOrder")) {
        *failure = failure_of("ACME directory " + options.directory_url, d);
        return false;
      }
      directory = body;
    }
    if (!account_url.empty()) return true;
    json payload = {{"termsOfServiceAgreed", true}};
    if (!options.email.empty()) payload["contact"] = json::array({"mailto:" + options.email});
    HttpResponse r = post(directory.value("newAccount", ""), payload);
    auto location = r.headers.find("location");
    if (!r.error.empty() || (r.status != 200 && r.status != 201) || location == r.headers.end()) {
      *failure = failure_of("ACME account", r);
      return false;
    }
    account_url = location->second;
    return true;
  }

  // POST-as-GET until `field` leaves the pending states, within deadline.
  std::optional<json> poll(const std::string& url, const std::string& what,
                           std::chrono::steady_clock::time_point deadline, AcmeFailure* failure) {
    for (;;) {
      HttpResponse r = post(url, std::nullopt);
      json body = json::parse(r.body, nullptr, false);
      if (!r.error.empty() || r.status != 200 || !body.is_object()) {
        *failure = failure_of(what, r);
        return std::nullopt;
      }
      std::string status = body.value("status", "");
      if (status != "pending" && status != "processing") return body;
      int64_t wait = 1;
      if (auto it = r.headers.find("retry-after"); it != r.headers.end())
        wait = std::clamp<int64_t>(std::atoll(it->second.c_str()), 1, 10);
      if (std::chrono::steady_clock::now() + std::chrono::seconds(wait) > deadline) {
        failure->message =
            what + ": still " + status + " after " + std::to_string(options.timeout_s) + "s";
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::seconds(wait));
    }
  }

  // The certificate request: a new key, every host in subjectAltName.
  static std::string csr_der(const std::vector<std::string>& hosts, EVP_PKEY* key) {
    std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(X509_REQ_new(), X509_REQ_free);
    X509_REQ_set_version(req.get(), 0);
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(hosts[0].c_str()), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key);
    std::string san;
    for (const auto& h : hosts) san += (san.empty() ? "DNS:" : ",DNS:") + h;
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    if (ext) sk_X509_EXTENSION_push(exts, ext);
    X509_REQ_add_extensions(req.get(), exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (X509_REQ_sign(req.get(), key, EVP_sha256()) == 0) return "";
    int len = i2d_X509_REQ(req.get(), nullptr);
    std::string der(static_cast<size_t>(std::max(len, 0)), '\0');
    unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509_REQ(req.get(), &p);
    return der;
  }

  std::optional<Issued> order(const std::vector<std::string>& hosts, AcmeFailure* failure) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
    if (hosts.empty()) {
      failure->message = "no host to order a certificate for";
      return std::nullopt;
    }
    if (!ensure_account(failure)) return std::nullopt;
    json identifiers = json::array();
    for (const auto& h : hosts) identifiers.push_back({{"type", "dns"}, {"value", h}});
    HttpResponse r = post(directory.value("newOrder", ""), json{{"identifiers", identifiers}});
    json order_body = json::parse(r.body, nullptr, false);
    auto location = r.headers.find("location");
    if (!r.error.empty() || r.status != 201 || !order_body.is_object() ||
        location == r.headers.end()) {
      *failure = failure_of("ACME new order", r);
      if (r.status == 401 || r.status == 403) account_url.clear();  // try a new account next time
      return std::nullopt;
    }
    const std::string order_url = location->second;
    std::vector<std::string> tokens;
    auto cleanup = [&] {
      for (const auto& t : tokens) challenges.remove(t);
    };
    for (const auto& authz_url : order_body.value("authorizations", json::array())) {
      HttpResponse a = post(authz_url.get<std::string>(), std::nullopt);
      json authz = json::parse(a.body, nullptr, false);
      if (!a.error.empty() || a.status != 200 || !authz.is_object()) {
        *failure = failure_of("ACME authorization", a);
        cleanup();
        return std::nullopt;
      }
      if (authz.value("status", "") == "valid") continue;  // reused
      const std::string host = authz.value("identifier", json::object()).value("value", "");
      json challenge;
      for (const auto& c : authz.value("challenges", json::array()))
        if (c.value("type", "") == "http-01") challenge = c;
      if (!challenge.is_object()) {
        failure->message = "the CA offers no http-01 challenge for " + host +
                           (authz.value("wildcard", false) ? " (a wildcard needs DNS-01)" : "");
        cleanup();
        return std::nullopt;
      }
      const std::string token = challenge.value("token", "");
      challenges.put(token, token + "." + thumbprint);
      tokens.push_back(token);
      HttpResponse c = post(challenge.value("url", ""), json::object());
      if (!c.error.empty() || c.status != 200) {
        *failure = failure_of("ACME challenge for " + host, c);
        cleanup();
        return std::nullopt;
      }
      auto done =
          poll(authz_url.get<std::string>(), "ACME authorization of " + host, deadline, failure);
      if (!done) {
        cleanup();
        return std::nullopt;
      }
      if (done->value("status", "") != "valid") {
        std::string detail;
        for (const auto& ch : done->value("challenges", json::array()))
          if (ch.value("type", "") == "http-01" && ch.contains("error"))
            detail = ch["error"].value("detail", "");
        failure->message = "the CA could not validate " + host + " over HTTP-01" +
                           (detail.empty() ? "" : ": " + detail);
        cleanup();
        return std::nullopt;
      }
    }
    cleanup();
    KeyPtr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::string csr = key ? csr_der(hosts, key.get()) : "";
    if (csr.empty()) {
      failure->message = "cannot make the certificate request";
      return std::nullopt;
    }
    r = post(order_body.value("finalize", ""), json{{"csr", base64url(csr)}});
    if (!r.error.empty() || r.status != 200) {
      *failure = failure_of("ACME finalize", r);
      return std::nullopt;
    }
    auto final_order = poll(order_url, "ACME order", deadline, failure);
    if (!final_order) return std::nullopt;
    if (final_order->value("status", "") != "valid" || !final_order->contains("certificate")) {
      failure->message = "ACME order ended " + final_order->value("status", "?");
      return std::nullopt;
    }
    r = post((*final_order)["certificate"].get<std::string>(), std::nullopt,
             "application/pem-certificate-chain");
    if (!r.error.empty() || r.status != 200) {
      *failure = failure_of("ACME certificate download", r);
      return std::nullopt;
    }
    Issued issued;
    issued.certificate_pem = r.body;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    issued.key_pem.assign(data, static_cast<size_t>(n));
    std::string error;
    auto info = read_certificate(issued.certificate_pem, &error);
    if (!info) {
      failure->message = "the CA's certificate: " + error;
      return std::nullopt;
    }
    issued.info = *info;
    return issued;
  }
};

AcmeClient::AcmeClient(AcmeOptions options, HttpChallenges& challenges)
    : impl_(std::make_unique<Impl>(std::move(options), challenges)) {}

AcmeClient::~AcmeClient() = default;

std::optional<Issued> AcmeClient::order(const std::vector<std::string>& hosts,
                                        AcmeFailure* failure) {
  // A CA's answer of an unexpected shape (a field of the wrong type) is a
  // failed order, never the end of the process.
  try {
    return impl_->order(hosts, failure);
  } catch (const std::exception& e) {
    failure->message = std::string("the ACME CA's answer was not understood: ") + e.what();
    return std::nullopt;
  }
}

}  // namespace wok::certs
