#include "router/router.h"

#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "http/ascii.h"
#include "http/message.h"
#include "http/request_target.h"
#include "router/fastcgi/fastcgi_handler.h"
#include "router/proxy/proxy_handler.h"
#include "router/static/static_handler.h"

namespace wok::router {

namespace {

struct LoopTable {
  uint64_t version = 0;
  std::shared_ptr<const RouteTable> table;
};

// Versions are unique across routers: a loop's slot is keyed by the
// router's address, which a later router may reuse.
uint64_t next_table_version() {
  static std::atomic<uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

namespace {

// spec.access refused the client (the same words for every site: nothing
// of the site is told).
void forbid(http::Response& response) {
  response.status = 403;
  response.set_header("Content-Type", "text/plain; charset=utf-8");
  response.set_header("Cache-Control", "no-store");
  response.body = "forbidden: this site does not accept requests from your address\n";
}

}  // namespace

Router::Router()
    : providers_(std::make_unique<OidcProviders>()),
      table_(std::make_shared<const RouteTable>()),
      table_version_(next_table_version()) {
  base::SealedBox::Key key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
    throw std::runtime_error("the OS's random source failed");
  sessions_ = std::make_unique<base::SealedBox>(key);
}

void Router::set_table(std::shared_ptr<const RouteTable> table) {
  if (!table) table = std::make_shared<const RouteTable>();
  table_.store(std::move(table));
  table_version_.store(next_table_version(), std::memory_order_release);
}

// A version read before the table: a swap in between only means the next
// request reloads a table it already has.
const RouteTable& Router::loop_table(http::Loop& loop) const {
  std::shared_ptr<void>& slot = loop.local(this);
  if (!slot) slot = std::make_shared<LoopTable>();
  auto* cached = static_cast<LoopTable*>(slot.get());
  uint64_t version = table_version_.load(std::memory_order_acquire);
  if (cached->version != version) {
    cached->table = table_.load();
    cached->version = version;
  }
  return *cached->table;
}

namespace {

// A bcrypt hash of nothing anyone knows: an unknown user costs the same
// check as a known one, so timing does not tell which users exist.
constexpr const char* kNoSuchUser = "$2y$10$RIiLKzkubSO7nb7zfkI8geprxJuz8H8AjuP6V1zTNteGrVaFJuEP2";

void unauthorized(const BasicAuth& auth, http::Response& response) {
  response.status = 401;
  std::string realm;
  for (char c : auth.realm)
    if (c != '"' && c != '\\' && c >= 0x20) realm.push_back(c);
  response.set_header("WWW-Authenticate", "Basic realm=\"" + realm + "\", charset=\"UTF-8\"");
  response.set_header("Content-Type", "text/plain; charset=utf-8");
  response.set_header("Cache-Control", "no-store");
  response.body = "this site asks for a user name and password\n";
}

}  // namespace

std::shared_ptr<const RouteTable> Router::table() const { return table_.load(); }

void Router::handle(const http::Request& request, http::Response& response) const {
  // Holding the table keeps it (and its routes) alive for this request even
  // if a new one is swapped in meanwhile.
  std::shared_ptr<const RouteTable> table = table_.load();
  const Route* route = table->find(http::request_host(request));
  if (route != nullptr && !admits(*route, request)) return forbid(response);
  // Passwords are checked off the loop, which only serve() can do: a site
  // with a login is closed here rather than open.
  if (route != nullptr && route->basic_auth &&
      !path_exempt(route->basic_auth->exempt, request.path))
    return unauthorized(*route->basic_auth, response);
  if (route != nullptr && route->oidc && !path_exempt(route->oidc->exempt, request.path)) {
    response.status = 401;
    response.body = "this site asks you to sign in\n";
    return;
  }
  answer(*table, request, response);
}

std::string Router::client_address(const http::Request& request) const {
  if (trusted_proxies_.empty()) return request.remote_addr;
  auto trusted = [this](std::string_view text) {
    auto address = base::parse_ip(text);
    if (!address) return false;
    for (const auto& c : trusted_proxies_)
      if (c.contains(*address)) return true;
    return false;
  };
  if (!trusted(request.remote_addr)) return request.remote_addr;
  // Every X-Forwarded-For field, in order, as one list; walked from the
  // right (the hop nearest us) past the trusted proxies.
  std::vector<std::string_view> hops;
  for (const auto& h : request.headers) {
    if (!http::iequals(h.name, "x-forwarded-for")) continue;
    std::string_view list = h.value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view hop = list.substr(0, comma);
      while (!hop.empty() && (hop.front() == ' ' || hop.front() == '\t')) hop.remove_prefix(1);
      while (!hop.empty() && (hop.back() == ' ' || hop.back() == '\t')) hop.remove_suffix(1);
      hops.push_back(hop);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  std::string client = request.remote_addr;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    client = std::string(*it);  // what does not parse is no address: refused
    if (!trusted(*it)) break;
  }
  return client;
}

bool Router::admits(const Route& route, const http::Request& request) const {
  return !route.access || route.access->allows(client_address(request));
}

// The synchronous answer (static sites) from a given table: handle()'s own
// reference, or serve()'s per-loop one.
void Router::answer(const RouteTable& table, const http::Request& request,
                    http::Response& response) {
  const Route* route = table.find(http::request_host(request));
  if (route == nullptr) {
    response.status = 404;
    response.body = "no site is served at this host\n";
    response.set_header("Content-Type", "text/plain; charset=utf-8");
    return;
  }
  if (route->deploying || route->restoring) {
    response.status = 503;
    response.set_header("Retry-After", "10");
    response.set_header("Cache-Control", "no-store");
    response.set_header("Content-Type", "text/html; charset=utf-8");
    response.body =
        route->restoring
            ? "<!doctype html><title>Being restored</title>"
              "<h1>This site is being restored from a backup</h1>"
              "<p>Its files and data are being put back as they were. Try again in a minute.</p>\n"
            : "<!doctype html><title>Being deployed</title>"
              "<h1>This site is being deployed</h1>"
              "<p>Its first version is being built. Try again in a few seconds.</p>\n";
    return;
  }
  if (route->upstream || route->fastcgi) {  // only serve() can proxy or reach php-fpm
    response.status = 502;
    response.body = "this site is proxied; the synchronous handler cannot serve it\n";
    return;
  }
  StaticHandler().serve(*route, request, response);
}

CredentialChecker& Router::checker() const {
  std::call_once(checker_once_, [this] { checker_ = std::make_unique<CredentialChecker>(); });
  return *checker_;
}

Router::Login Router::log_in(http::Exchange& exchange, const Route& route) const {
  const BasicAuth& auth = *route.basic_auth;
  http::Request& request = exchange.request();
  std::string user, password;
  bool given = auth.error.empty() &&
               parse_basic_authorization(request.header("Authorization"), &user, &password);
  auto refuse = [&] {
    if (!observers_.empty()) observe(exchange, route);
    http::Response response;
    unauthorized(auth, response);
    exchange.respond(std::move(response));
    return Login::kRefused;
  };
  if (!given) return refuse();
  auto known = auth.users.find(user);
  const std::string hash = known != auth.users.end() ? known->second : kNoSuchUser;
  const std::string key = CredentialChecker::cache_key(hash, user, password);
  if (known != auth.users.end() && checker().cached(key)) {
    // The platform consumed the credentials: the site gets who logged in,
    // never the password, nor a user name the client made up.
    std::erase_if(request.headers,
                  [](const http::Header& h) { return http::iequals(h.name, "Authorization"); });
    request.headers.push_back({"X-Forwarded-User", user});
    return Login::kAllowed;
  }
  bool queued = checker().check(
      exchange.loop().mailbox(), route.project, hash, std::move(password), key,
      [this, exchange](bool ok) mutable {
        if (!exchange.active()) return;
        if (ok) {
          serve(std::move(exchange));  // served again: the cache answers now
          return;
        }
        const Route* now = loop_table(exchange.loop()).find(http::request_host(exchange.request()));
        http::Response response;
        if (now && now->basic_auth) {
          if (!observers_.empty()) observe(exchange, *now);
          unauthorized(*now->basic_auth, response);
        } else {
          response.status = 401;
        }
        exchange.respond(std::move(response));
      });
  if (!queued) {
    // Too many checks waiting (a password-guessing flood): shed, do not queue.
    if (!observers_.empty()) observe(exchange, route);
    http::Response response;
    response.status = 503;
    response.set_header("Retry-After", "1");
    response.body = "too many logins at once; try again\n";
    exchange.respond(std::move(response));
    return Login::kRefused;
  }
  return Login::kPending;
}

http::SslContext Router::certificate_for(std::string_view server_name) const {
  if (server_name.empty()) return nullptr;  // no SNI: no site to pick (an IP, an old client)
  std::shared_ptr<const RouteTable> table = table_.load();
  const Route* route = table ? table->find(server_name) : nullptr;
  return route && route->tls ? route->tls->context : nullptr;
}

namespace {

// spec.tls on a plain request: a 308 to the same URL on https:// (the
// method and body kept), except ACME's HTTP-01 challenges, which a CA
// fetches over http:// before the site has a certificate.
bool redirect_to_https(const http::Request& request, uint16_t https_port,
                       http::Response& response) {
  if (request.path.starts_with("/.well-known/acme-challenge/")) return false;
  std::string_view host = http::request_host(request);
  // Without its port: "[::1]:8080" -> "[::1]", "a.example:8080" -> "a.example".
  if (size_t colon = host.rfind(':');
      colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
    host = host.substr(0, colon);
  if (host.empty()) return false;
  std::string location = "https://" + std::string(host);
  if (https_port != 443) location += ":" + std::to_string(https_port);
  location += request.path.starts_with("/") ? request.path : "/";
  if (!request.query.empty()) location += "?" + request.query;
  response.status = 308;
  response.set_header("Location", location);
  response.set_header("Content-Type", "text/plain; charset=utf-8");
  response.body = "this site is served over HTTPS: " + location + "\n";
  return true;
}

}  // namespace

void Router::serve(http::Exchange exchange) const {
  constexpr std::string_view kChallenges = "/.well-known/acme-challenge/";
  if (challenges_ && exchange.request().path.starts_with(kChallenges)) {
    if (auto answer =
            challenges_(std::string_view(exchange.request().path).substr(kChallenges.size()))) {
      http::Response response;
      response.set_header("Content-Type", "application/octet-stream");
      response.body = std::move(*answer);
      exchange.respond(std::move(response));
      return;
    }
  }
  // Valid for this call: the loop's reference changes only at its next serve().
  const Route* route = loop_table(exchange.loop()).find(http::request_host(exchange.request()));
  if (route != nullptr && route->tls) {
    const http::Request& request = exchange.request();
    if (request.tls) {
      if (!route->tls->hsts.empty())
        exchange.add_response_header("Strict-Transport-Security", route->tls->hsts);
    } else if (uint16_t https = https_port_.load(std::memory_order_relaxed);
               route->tls->redirect && https != 0) {
      http::Response response;
      if (redirect_to_https(request, https, response)) {
        if (!observers_.empty()) observe(exchange, *route);
        exchange.respond(std::move(response));
        return;
      }
    }
  }
  if (route != nullptr && !admits(*route, exchange.request())) {
    if (!observers_.empty()) observe(exchange, *route);  // logged and counted as a 403
    http::Response response;
    forbid(response);
    exchange.respond(std::move(response));
    return;
  }
  if (route != nullptr && (route->basic_auth || route->oidc)) {
    // Only the platform says who logged in: a client's own claim goes,
    // on exempt paths too.
    std::erase_if(exchange.request().headers, [](const http::Header& h) {
      return http::iequals(h.name, "X-Forwarded-User") ||
             http::iequals(h.name, "X-Forwarded-Email") ||
             http::iequals(h.name, "X-Forwarded-Groups") ||
             http::iequals(h.name, "X-Forwarded-Preferred-Username");
    });
    if (route->basic_auth && !path_exempt(route->basic_auth->exempt, exchange.request().path) &&
        log_in(exchange, *route) != Login::kAllowed)
      return;
    if (route->oidc && !oidc_gate(exchange, *route)) return;
  }
  if (route != nullptr && route->max_body_bytes > 0 &&
      http::declared_body_length(exchange.request()) > route->max_body_bytes) {
    exchange.report_limit("site_max_body", 413, site_body_limit_detail(route->max_body_bytes));
    http::Response response;
    response.status = 413;
    response.body = "request body too large for this site\n";
    response.set_header("Content-Type", "text/plain; charset=utf-8");
    exchange.respond(std::move(response));
    return;
  }
  if (route != nullptr && !observers_.empty()) observe(exchange, *route);
  if (route != nullptr && route->upstream) {
    ProxyHandler().serve(*route, std::move(exchange));
    return;
  }
  if (route != nullptr && route->fastcgi) {
    FastCgiHandler().serve(*route, std::move(exchange));
    return;
  }
  exchange.read_body([this](http::Exchange& ex) {
    http::Response response;
    answer(loop_table(ex.loop()), ex.request(), response);
    ex.respond(std::move(response));
  });
}

// The one place where a response's status, size and duration are known,
// for static and proxied sites alike.
void Router::observe(http::Exchange& exchange, const Route& route) const {
  // The host, method and path are read from the request at completion
  // (handlers leave them as they came): nothing of it is copied here.
  auto observed = [this, project = route.project, site = route.site,
                   arrived = std::chrono::system_clock::now(),
                   started = std::chrono::steady_clock::now()](const http::Completion& done) {
    RequestRecord record;
    record.project = project;
    record.site = site;
    if (done.request != nullptr) {
      record.host = http::request_host(*done.request);
      record.method = done.request->method;
      record.path = done.request->path;
    }
    // 499 (nginx's "client closed request") when the client left before any answer.
    record.status = done.status == 0 && done.aborted ? 499 : done.status;
    record.bytes = done.body_bytes;
    record.time = arrived;
    record.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    record.upstream = std::chrono::microseconds(done.upstream_us);
    for (RequestObserver* observer : observers_) observer->on_request(record);
  };
  static_assert(http::CompletionCallback::fits_inline<decltype(observed)>(),
                "what the access log keeps of a request is held without an allocation");
  exchange.on_complete(std::move(observed));
}

}  // namespace wok::router
