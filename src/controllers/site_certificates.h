#pragma once
// The certificate each site's hosts present on wok up's TLS listener
// (spec.tls). Mode auto: from an ACME CA when the admin configured one
// (wok up --acme-directory), one order per site for all its hosts, on a
// thread of its own, kept on disk (a restart orders nothing) and renewed
// with a third of its life left, failures retried with backoff and the
// CA's Retry-After; hosts under .localhost, or every host without ACME,
// from the local CA in the data directory. Mode secret: the project's
// secret (tls.crt, tls.key, as a Kubernetes TLS secret), checked against
// the site's hosts. Published with the site's routes (RoutePublisher::
// set_tls) and said in status.tls: hosts, issuer, expiry, what is wrong.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "render/plan.h"

namespace wok::certs {
class CertificateOrderer;
class LocalCa;
struct Issued;
}  // namespace wok::certs
namespace wok::router {
struct SiteTls;
}

namespace wok::controllers {

// Whether a site's status.tls says its first certificate (or one for new
// hosts) is still being ordered, as opposed to an order or a secret that
// failed: the CertificateReady condition's reason is CertificatePending
// (a Normal event), not CertificateFailed (a Warning).
bool certificate_pending(const nlohmann::json& tls_status);

struct CertificateIssuers {
  const certs::LocalCa* local_ca = nullptr;   // null: no local CA
  certs::CertificateOrderer* acme = nullptr;  // an ACME CA; null: mode auto uses the local CA
  std::string acme_dir;                       // where ACME certificates are kept
  // Called (from the ACME thread) when a site's certificate changed or its
  // order failed: the site's reconcile publishes it and writes its status.
  std::function<void(const std::string& ns, const std::string& name)> changed;
  int local_valid_days = 90;
  // A certificate is due this long after it began (tests of renewal);
  // 0: when a third of its life is left.
  int64_t renew_after_s = 0;
};

class SiteCertificates {
 public:
  using SecretReader = std::function<std::optional<std::map<std::string, std::string>>(
      const std::string& ns, const std::string& name, std::string* error)>;
  SiteCertificates(CertificateIssuers issuers, SecretReader read_secret);
  ~SiteCertificates();  // stops the ACME thread (an order in flight ends first)

  struct Result {
    std::shared_ptr<const router::SiteTls> tls;  // null: HTTP only (mode off)
    nlohmann::json status;  // status.tls: null for mode off; "message" set when not ready
  };
  // For the site's current spec and the hosts it routes. Thread-safe; never
  // waits for a CA (an ACME order is queued, and its result comes later).
  Result ensure(const render::SitePlan& plan, const std::vector<std::string>& hosts);
  void forget(const std::string& ns, const std::string& name);
  // status.tls as the last ensure() (or ACME order) left it, without reading
  // the secret or issuing again; null when the site has none (mode off).
  nlohmann::json status_of(const std::string& ns, const std::string& name);

 private:
  using Key = std::pair<std::string, std::string>;
  struct Entry {
    std::string source;  // what the certificate was made from: the hosts, or the secret's PEM
    std::shared_ptr<const router::SiteTls> tls;
    nlohmann::json status;
    int64_t renew_at = 0;   // Unix seconds: made again from then on
    int64_t not_after = 0;  // the certificate's end (Unix seconds); 0: none
    bool acme = false;
    std::vector<std::string> hosts;  // ACME: what to order
    bool redirect = false;
    std::string hsts;
    int failures = 0;      // ACME orders failed in a row
    int64_t retry_at = 0;  // ACME: no order before this (backoff, Retry-After)
    bool queued = false;   // ACME: an order is waiting or running
  };
  Entry make(const render::SitePlan& plan, const std::vector<std::string>& hosts,
             const std::string& source, const std::map<std::string, std::string>* secret,
             const std::string& secret_error);
  // An entry for a certificate and key; its status says any problem.
  Entry from_pem(const render::SitePlan& plan, const std::vector<std::string>& hosts,
                 const std::string& chain, const std::string& key, std::string* error);
  bool uses_acme(const std::vector<std::string>& hosts) const;
  void queue_order(const Key& key, Entry& entry, int64_t now);  // mu_ held
  void acme_loop();
  void finish_order(const Key& key, const std::vector<std::string>& hosts,
                    const std::optional<certs::Issued>& issued, const std::string& error,
                    int64_t retry_after_s);
  std::string stored_path(const Key& key, const char* ext) const;

  CertificateIssuers issuers_;
  SecretReader read_secret_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<Key, Entry> entries_;
  std::deque<Key> orders_;
  std::string last_project_;  // whose order ran last: the next goes to another, if any waits
  bool stopping_ = false;
  std::thread acme_thread_;  // only with an ACME client
};

}  // namespace wok::controllers
