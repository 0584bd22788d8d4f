// Router: spec.access.oidc (router/auth/oidc.h), the login's gate and its
// /oauth2/ paths.
#include <chrono>
#include <exception>
#include <optional>

#include "http/ascii.h"
#include "http/request_target.h"
#include "router/router.h"

namespace wok::router {
namespace {

int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The value of cookie `name` among the request's Cookie fields.
std::optional<std::string_view> cookie_value(const http::Request& request, std::string_view name) {
  for (const auto& h : request.headers) {
    if (!http::iequals(h.name, "cookie")) continue;
    std::string_view list = h.value;
    while (!list.empty()) {
      size_t semi = list.find(';');
      std::string_view pair = list.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=')
        return pair.substr(name.size() + 1);
      if (semi == std::string_view::npos) break;
      list.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

// The login's own cookies never reach the site (its code has no use for
// them, and a site's script that logs its requests would log sessions).
void drop_login_cookies(http::Request& request) {
  std::string kept;
  bool any = false;
  for (const auto& h : request.headers) {
    if (!http::iequals(h.name, "cookie")) continue;
    any = true;
    std::string_view list = h.value;
    while (!list.empty()) {
      size_t semi = list.find(';');
      std::string_view pair = list.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (!pair.empty() && !pair.starts_with("_wok_oidc") && !pair.starts_with("__Host-wok_oidc")) {
        if (!kept.empty()) kept += "; ";
        kept += pair;
      }
      if (semi == std::string_view::npos) break;
      list.remove_prefix(semi + 1);
    }
  }
  if (!any) return;
  std::erase_if(request.headers,
                [](const http::Header& h) { return http::iequals(h.name, "cookie"); });
  if (!kept.empty()) request.headers.push_back({"Cookie", kept});
}

// A Set-Cookie value for cookie `base` (over HTTPS: its __Host- name).
std::string cookie(std::string_view base, std::string_view value, std::string_view path,
                   int64_t max_age, bool secure) {
  std::string c = oidc_cookie_name(base, secure);
  c += "=";
  c += value;
  c += "; Path=";
  c += path;
  c += "; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Lax";
  if (secure) c += "; Secure";
  return c;
}

http::Response text(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.set_header("Content-Type", "text/plain; charset=utf-8");
  r.set_header("Cache-Control", "no-store");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.body = std::move(body);
  return r;
}

std::string origin(const http::Request& request) {
  return (request.tls ? "https://" : "http://") + std::string(http::request_host(request));
}

}  // namespace

OffLoopPool& Router::pool() const {
  // Four threads for every site's provider, taken in turns by project; a
  // project runs one job at a time (its provider stalling to the timeout
  // holds one thread: the others go on serving the other projects) and has
  // at most 16 queued or running; a flood beyond 256 waiting is shed.
  std::call_once(pool_once_, [this] { pool_ = std::make_unique<OffLoopPool>(4, 256, 16, 1); });
  return *pool_;
}

void Router::oidc_answer(http::Exchange& exchange, const Route& route,
                         http::Response response) const {
  if (!observers_.empty()) observe(exchange, route);
  exchange.respond(std::move(response));
}

bool Router::oidc_gate(http::Exchange& exchange, const Route& route) const {
  const OidcLogin& login = *route.oidc;
  http::Request& request = exchange.request();
  if (request.path.starts_with("/oauth2/")) {
    oidc_endpoint(exchange, route);
    return false;
  }
  if (path_exempt(login.exempt, request.path)) {
    drop_login_cookies(request);
    return true;
  }
  if (!login.error.empty()) {
    // The secret is the project's to fix; the visitor learns only that.
    oidc_answer(exchange, route,
                text(503,
                     "this site's sign-in is not set up; its owners can see why in its "
                     "status\n"));
    return false;
  }
  if (auto value = cookie_value(request, oidc_cookie_name(kOidcSessionCookie, request.tls))) {
    if (auto user = open_session(*sessions_, login, *value, wall_now())) {
      if (!oidc_allows(login, *user)) {  // the lists changed since the login
        oidc_answer(exchange, route,
                    text(403, "you are signed in as " + user->name +
                                  ", who may not use this site; sign out at /oauth2/sign_out\n"));
        return false;
      }
      drop_login_cookies(request);
      request.headers.push_back({"X-Forwarded-User", user->name});
      if (!user->email.empty()) request.headers.push_back({"X-Forwarded-Email", user->email});
      if (!user->groups.empty()) {
        std::string groups;
        for (const auto& g : user->groups) {
          if (g.find(',') != std::string::npos) continue;  // would split in two
          if (!groups.empty()) groups += ",";
          groups += g;
        }
        request.headers.push_back({"X-Forwarded-Groups", groups});
      }
      return true;
    }
  }
  if (request.method != "GET" && request.method != "HEAD") {
    // A form posted after the session ended: a redirect would lose it.
    oidc_answer(exchange, route, text(401, "sign in first: /oauth2/start\n"));
    return false;
  }
  std::string back = request.path;
  if (!request.query.empty()) back += "?" + request.query;
  oidc_begin(exchange, route, safe_return_path(back));
  return false;
}

void Router::oidc_endpoint(http::Exchange& exchange, const Route& route) const {
  const http::Request& request = exchange.request();
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (request.path == "/oauth2/start" && get) {
    auto rd = query_param(request.query, "rd");
    oidc_begin(exchange, route, safe_return_path(rd ? *rd : "/"));
  } else if (request.path == "/oauth2/callback" && get) {
    oidc_callback(exchange, route);
  } else if (request.path == "/oauth2/sign_out") {
    oidc_sign_out(exchange, route, false);
  } else {
    oidc_answer(exchange, route, text(404, "no such sign-in path\n"));
  }
}

void Router::oidc_sign_out(http::Exchange& exchange, const Route& route, bool fetched) const {
  const OidcLogin& login = *route.oidc;
  const http::Request& request = exchange.request();
  auto provider = providers_->cached(login.issuer);
  if (!provider && !fetched && login.error.empty()) {
    // Where the provider ends its own session is in its discovery
    // document: fetched off the loop first (after a restart, say).
    auto route_ref = std::make_shared<Route>(route);
    bool queued = pool().run(
        exchange.loop().mailbox(), route.project,
        [this, issuer = login.issuer, exchange, route_ref]() mutable -> std::function<void()> {
          std::string error;
          try {
            providers_->fetch(issuer, &error);
          } catch (const std::exception&) {
            // signed out of the site only
          }
          return [this, exchange, route_ref]() mutable {
            if (exchange.active()) oidc_sign_out(exchange, *route_ref, true);
          };
        });
    if (queued) return;
  }
  http::Response response;
  response.headers.push_back({"Set-Cookie", cookie(kOidcSessionCookie, "", "/", 0, request.tls)});
  response.set_header("Cache-Control", "no-store");
  if (provider && !provider->end_session_endpoint.empty()) {
    // RP-initiated logout: the provider ends its own session too, then
    // sends the browser back to the site.
    const std::string& end = provider->end_session_endpoint;
    response.status = 302;
    response.set_header("Location",
                        end + (end.find('?') == std::string::npos ? "?" : "&") +
                            "client_id=" + form_encode(login.client_id) +
                            "&post_logout_redirect_uri=" + form_encode(origin(request) + "/"));
  } else {
    response.status = 200;
    response.set_header("Content-Type", "text/plain; charset=utf-8");
    response.body = "you are signed out of this site\n";
  }
  oidc_answer(exchange, route, std::move(response));
}

void Router::oidc_begin(http::Exchange& exchange, const Route& route, std::string return_to) const {
  const OidcLogin& login = *route.oidc;
  if (!login.error.empty()) {
    oidc_answer(exchange, route,
                text(503,
                     "this site's sign-in is not set up; its owners can see why in its "
                     "status\n"));
    return;
  }
  std::shared_ptr<const OidcProvider> provider = providers_->cached(login.issuer);
  if (!provider) {
    // Discovery blocks: asked off the loop, then begun again with the
    // provider cached (or its failure told).
    auto route_ref = std::make_shared<Route>(route);  // the table may change meanwhile
    bool queued = pool().run(
        exchange.loop().mailbox(), route.project,
        [this, issuer = login.issuer, exchange, route_ref,
         return_to]() mutable -> std::function<void()> {
          std::string error;
          bool ok = false;
          try {
            ok = providers_->fetch(issuer, &error) != nullptr;
          } catch (const std::exception& e) {
            error = std::string("its answer could not be read: ") + e.what();
          }
          return [this, exchange, route_ref, return_to, ok, error]() mutable {
            if (!exchange.active()) return;
            if (ok) return oidc_begin(exchange, *route_ref, return_to);
            oidc_answer(
                exchange, *route_ref,
                text(502, "this site's sign-in provider cannot be reached: " + error + "\n"));
          };
        });
    if (!queued) oidc_answer(exchange, route, text(503, "too many sign-ins at once; try again\n"));
    return;
  }
  const http::Request& request = exchange.request();
  OidcPending pending{random_token(), random_token(), random_token(), std::move(return_to),
                      wall_now() + 600};
  const std::string& auth = provider->authorization_endpoint;
  std::string scopes;
  for (const auto& s : login.scopes) scopes += (scopes.empty() ? "" : " ") + s;
  std::string location = auth + (auth.find('?') == std::string::npos ? "?" : "&") +
                         "response_type=code&client_id=" + form_encode(login.client_id) +
                         "&redirect_uri=" + form_encode(origin(request) + "/oauth2/callback") +
                         "&scope=" + form_encode(scopes) + "&state=" + form_encode(pending.state) +
                         "&nonce=" + form_encode(pending.nonce) +
                         "&code_challenge=" + pkce_challenge(pending.verifier) +
                         "&code_challenge_method=S256";
  http::Response response = text(302, "sign in at " + auth + "\n");
  response.set_header("Location", location);
  response.headers.push_back(
      {"Set-Cookie", cookie(kOidcPendingCookie, seal_pending(*sessions_, login, pending), "/", 600,
                            request.tls)});
  oidc_answer(exchange, route, std::move(response));
}

void Router::oidc_callback(http::Exchange& exchange, const Route& route) const {
  const OidcLogin& login = *route.oidc;
  const http::Request& request = exchange.request();
  if (auto error = query_param(request.query, "error")) {
    std::string why = error->substr(0, 64);
    if (auto d = query_param(request.query, "error_description")) why += ": " + d->substr(0, 200);
    for (char& c : why)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    oidc_answer(
        exchange, route,
        text(403, "the sign-in provider refused: " + why + "\nstart again: /oauth2/start\n"));
    return;
  }
  auto code = query_param(request.query, "code");
  auto state = query_param(request.query, "state");
  auto value = cookie_value(request, oidc_cookie_name(kOidcPendingCookie, request.tls));
  std::optional<OidcPending> pending;
  if (value) pending = open_pending(*sessions_, login, *value, wall_now());
  // The state must be the one this browser's own login cookie holds: a
  // callback link someone else started (login CSRF) or an old one is refused.
  if (!code || code->empty() || !state || !pending || pending->state != *state) {
    oidc_answer(exchange, route,
                text(400,
                     "this sign-in has expired or was not started in this browser; start "
                     "again: /oauth2/start\n"));
    return;
  }
  // Each login's callback is honoured once: a replayed link (from the
  // history, a log, a proxy) neither signs in nor asks the provider again.
  if (!used_states_.first(pending->state, pending->expires, wall_now())) {
    oidc_answer(exchange, route,
                text(400, "this sign-in was already used; start again: /oauth2/start\n"));
    return;
  }
  auto route_ref = std::make_shared<Route>(route);
  bool queued = pool().run(
      exchange.loop().mailbox(), route.project,
      [this, exchange, route_ref, pending = *pending, code = *code,
       redirect = origin(request) + "/oauth2/callback"]() mutable -> std::function<void()> {
        std::string error;
        int status = 502;
        std::optional<OidcUser> user;
        try {
          user = providers_->redeem(*route_ref->oidc, pending, code, redirect, &error, &status);
        } catch (const std::exception& e) {
          error = std::string("the provider's answer could not be read: ") + e.what();
          status = 502;
        }
        return [this, exchange, route_ref, pending, user, error, status]() mutable {
          if (!exchange.active()) return;
          const bool tls = exchange.request().tls;
          http::Response response;
          if (user) {
            response = text(302, "signed in\n");
            response.set_header("Location", pending.return_to);
            response.headers.push_back(
                {"Set-Cookie",
                 cookie(kOidcSessionCookie, seal_session(*sessions_, *route_ref->oidc, *user), "/",
                        route_ref->oidc->session.count(), tls)});
          } else {
            response = text(status, "sign-in failed: " + error + "\n");
          }
          response.headers.push_back({"Set-Cookie", cookie(kOidcPendingCookie, "", "/", 0, tls)});
          oidc_answer(exchange, *route_ref, std::move(response));
        };
      });
  if (!queued) oidc_answer(exchange, route, text(503, "too many sign-ins at once; try again\n"));
}

}  // namespace wok::router
