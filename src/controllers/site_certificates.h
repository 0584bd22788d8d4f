#pragma once
// The certificate each site's hosts present on wok up's TLS listener
// (spec.tls): for mode auto, issued by the platform's issuer (the local CA
// in the data directory) and issued again a third of its life before it
// ends; for mode secret, read from the project's secret (tls.crt, tls.key,
// as a Kubernetes TLS secret) and checked against the site's hosts. Kept in
// memory, published with the site's routes (RoutePublisher::set_tls), and
// said in the site's status.tls: hosts, issuer, expiry, and what is wrong.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "render/plan.h"

namespace wok::certs {
class LocalCa;
}
namespace wok::router {
struct SiteTls;
}

namespace wok::controllers {

class SiteCertificates {
 public:
  using SecretReader = std::function<std::optional<std::map<std::string, std::string>>(
      const std::string& ns, const std::string& name, std::string* error)>;
  // local_ca: the issuer of mode auto (null: such sites get no certificate,
  // and their status says why); it must outlive this.
  SiteCertificates(const certs::LocalCa* local_ca, SecretReader read_secret, int valid_days = 90);

  struct Result {
    std::shared_ptr<const router::SiteTls> tls;  // null: HTTP only (mode off)
    nlohmann::json status;  // status.tls: null for mode off; "message" set when failing
  };
  // For the site's current spec and the hosts it routes. Thread-safe.
  Result ensure(const render::SitePlan& plan, const std::vector<std::string>& hosts);
  void forget(const std::string& ns, const std::string& name);

 private:
  struct Entry {
    std::string source;  // what the certificate was made from: the hosts, or the secret's PEM
    std::shared_ptr<const router::SiteTls> tls;
    nlohmann::json status;
    int64_t renew_at = 0;   // Unix seconds: made again from then on
    int64_t not_after = 0;  // the certificate's end (Unix seconds); 0: none
  };
  Entry make(const render::SitePlan& plan, const std::vector<std::string>& hosts,
             const std::string& source, const std::map<std::string, std::string>* secret,
             const std::string& secret_error);

  const certs::LocalCa* local_ca_;
  SecretReader read_secret_;
  int valid_days_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> entries_;
};

}  // namespace wok::controllers
