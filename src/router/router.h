#pragma once
// The data plane's request handler: routes by Host to a site and serves it.
// Knows nothing of the store; keeps serving the last table it was given.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/cidr.h"
#include "base/sealed_box.h"
#include "http/exchange.h"
#include "http/loop.h"
#include "http/message.h"
#include "http/off_loop.h"
#include "router/auth/basic_auth.h"
#include "router/auth/oidc.h"
#include "router/route_table.h"
#include "router/stats/request_observer.h"

namespace wok::router {

class Router {
 public:
  Router();
  // Atomically replaces the table; in-flight requests finish on the old one.
  void set_table(std::shared_ptr<const RouteTable> table);
  std::shared_ptr<const RouteTable> table() const;
  // The synchronous handler (static sites only; proxied sites get 502).
  void handle(const http::Request& request, http::Response& response) const;
  // The asynchronous handler to give to http::Server: picks the site's
  // handler (static or proxy) by its Route. Completion (status, bytes) is
  // observable through Exchange::on_complete, set before dispatching.
  void serve(http::Exchange exchange) const;
  // Observers (access log, statistics) hear of every request served by
  // serve() to a known site when it completes. Add them before serving;
  // they must outlive the router.
  void add_observer(RequestObserver* observer) { observers_.push_back(observer); }
  // Proxies in front of the router (wok up --trusted-proxy): a request from
  // one of them is judged by spec.access on the address its
  // X-Forwarded-For gives (the rightmost one not itself a trusted proxy),
  // a request from anyone else on its peer's, whatever it claims. Set
  // before serving.
  void set_trusted_proxies(std::vector<base::Cidr> proxies) {
    trusted_proxies_ = std::move(proxies);
  }
  // The address spec.access judges `request` by.
  std::string client_address(const http::Request& request) const;
  // The port of the TLS listener as clients reach it (wok up --listen-tls),
  // for redirects to https://; 0: no TLS listener, no redirect.
  void set_https_port(uint16_t port) { https_port_.store(port, std::memory_order_relaxed); }
  // ACME HTTP-01: the key authorization of a pending challenge's token,
  // answered at http://HOST/.well-known/acme-challenge/TOKEN for any host
  // (the token is unguessable and proves nothing but the CA's own
  // question). Set before serving.
  using ChallengeResponder = std::function<std::optional<std::string>(std::string_view token)>;
  void set_challenge_responder(ChallengeResponder responder) { challenges_ = std::move(responder); }
  // The certificate for a TLS handshake naming `server_name` (SNI), from
  // the current table: the host's site's; null when it has none. Any loop
  // thread.
  http::SslContext certificate_for(std::string_view server_name) const;
  // spec.access.oidc: trust for the sites' OpenID providers' HTTPS ("": the
  // system's), whether they may be on private addresses (the admin's
  // --allow-private-sources; default: public addresses only), and the key
  // sessions are sealed with (wok up keeps it in
  // its data directory so sessions outlive a restart; by default a random
  // one, good until the router goes). Set before serving.
  void set_oidc_providers(std::string ca_file, bool allow_private) {
    providers_ = std::make_unique<OidcProviders>(std::move(ca_file), allow_private);
  }
  void set_session_box(std::unique_ptr<base::SealedBox> box) { sessions_ = std::move(box); }

 private:
  bool admits(const Route& route, const http::Request& request) const;
  enum class Login { kAllowed, kPending, kRefused };
  // spec.access.basicAuth for `exchange`: allowed (from the cache), pending
  // (checked off the loop; the exchange is served again once known), or
  // refused (answered 401 or 503 here).
  Login log_in(http::Exchange& exchange, const Route& route) const;
  CredentialChecker& checker() const;
  // spec.access.oidc for `exchange`: true when it may go on to the site
  // (a session let in, or an exempt path); otherwise it has been answered
  // (a redirect to the provider, the login's own /oauth2/ paths, 401, 403),
  // or will be once the provider has been asked off the loop.
  bool oidc_gate(http::Exchange& exchange, const Route& route) const;
  void oidc_endpoint(http::Exchange& exchange, const Route& route) const;
  void oidc_begin(http::Exchange& exchange, const Route& route, std::string return_to) const;
  void oidc_callback(http::Exchange& exchange, const Route& route) const;
  void oidc_sign_out(http::Exchange& exchange, const Route& route, bool fetched) const;
  void oidc_answer(http::Exchange& exchange, const Route& route, http::Response response) const;
  OffLoopPool& pool() const;

 public:
  // Passwords verified by hashing (not answered from the cache) so far.
  uint64_t password_checks() const { return checker_ ? checker_->checks() : 0; }

 private:
  void observe(http::Exchange& exchange, const Route& route) const;
  static void answer(const RouteTable& table, const http::Request& request,
                     http::Response& response);
  // The current table as this loop sees it: each loop keeps its own
  // reference and takes a new one only when the table has changed, so a
  // request costs one load of table_version_ instead of a lock and two
  // reference-count updates on the shared atomic (contended by every loop).
  // A loop keeps an old table alive until its next request.
  const RouteTable& loop_table(http::Loop& loop) const;

  std::vector<RequestObserver*> observers_;
  std::vector<base::Cidr> trusted_proxies_;
  std::atomic<uint16_t> https_port_{0};  // set once the TLS listener has its port
  ChallengeResponder challenges_;
  mutable std::once_flag checker_once_;
  mutable std::unique_ptr<CredentialChecker> checker_;
  std::unique_ptr<OidcProviders> providers_;
  std::unique_ptr<base::SealedBox> sessions_;
  mutable OnceSet used_states_;
  // After what its jobs use: destroyed (its threads joined) before them.
  mutable std::once_flag pool_once_;
  mutable std::unique_ptr<OffLoopPool> pool_;
  std::atomic<std::shared_ptr<const RouteTable>> table_;
  std::atomic<uint64_t> table_version_;
};

}  // namespace wok::router
