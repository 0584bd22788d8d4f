// How a site is reached: a Service, and an Ingress or OpenShift Routes for its hosts.
#include "api/validation.h"
#include "render/parts.h"

namespace wok::render::detail {

json service(const SiteNames& names, std::string_view component, std::string_view name) {
  json s = object_head("v1", "Service", name, names.ns, site_labels(names, component));
  s["spec"] = {{"type", "ClusterIP"},
               {"selector", selector(names, component)},
               {"ports", {{{"name", "http"}, {"port", 80}, {"targetPort", "http"}}}}};
  return s;
}

namespace {

std::vector<std::string> hosts_of(const json& site) {
  std::vector<std::string> hosts;
  if (!site.is_object() || !site.contains("spec") || !site["spec"].is_object()) return hosts;
  const json& spec = site["spec"];
  if (!spec.contains("hosts") || !spec["hosts"].is_array()) return hosts;
  for (const json& h : spec["hosts"]) {
    if (h.is_string()) hosts.push_back(h.get<std::string>());
  }
  return hosts;
}

// `exempt`: the Ingress of spec.access.exempt's paths (no login), beside
// the site's own (ingress-nginx picks the longest matching path of a host
// across Ingresses).
json ingress(const SiteNames& names, const std::vector<std::string>& hosts,
             std::string_view service_name, const PlatformSettings& settings,
             long long max_body_bytes, const SitePlan& plan, bool exempt = false) {
  json rules = json::array();
  for (const auto& host : hosts) {
    json backend = {{"service", {{"name", service_name}, {"port", {{"name", "http"}}}}}};
    json paths = json::array();
    if (!exempt) {
      paths.push_back({{"path", "/"}, {"pathType", "Prefix"}, {"backend", backend}});
    } else {
      // "/.well-known/" covers what is under it; "/healthz" that path and
      // what is under it, as the router reads them (Prefix matches by
      // whole path segments).
      for (const auto& p : plan.login_exempt) {
        std::string path = p.size() > 1 && p.ends_with("/") ? p.substr(0, p.size() - 1) : p;
        paths.push_back({{"path", path}, {"pathType", "Prefix"}, {"backend", backend}});
      }
    }
    rules.push_back({{"host", host}, {"http", {{"paths", paths}}}});
  }
  json i =
      object_head("networking.k8s.io/v1", "Ingress", exempt ? names.name + "-exempt" : names.name,
                  names.ns, site_labels(names, ""));
  i["spec"] = {{"ingressClassName", settings.ingress_class}, {"rules", rules}};
  // ingress-nginx refuses bodies over 1m unless told; it reads plain bytes too.
  if (max_body_bytes > 0) {
    i["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] =
        std::to_string(max_body_bytes);
  }
  // spec.access: ingress-nginx's source ranges (comma-separated), checked
  // against the client's address as wok up's router checks its peer's.
  auto joined = [](const std::vector<std::string>& list, const char* sep) {
    std::string out;
    for (const auto& item : list) out += (out.empty() ? "" : sep) + item;
    return out;
  };
  if (!plan.ip_allow.empty())
    i["metadata"]["annotations"]["nginx.ingress.kubernetes.io/whitelist-source-range"] =
        joined(plan.ip_allow, ",");
  if (!plan.ip_deny.empty())
    i["metadata"]["annotations"]["nginx.ingress.kubernetes.io/denylist-source-range"] =
        joined(plan.ip_deny, ",");
  // spec.tls: the hosts on HTTPS with the project's secret (mode secret) or
  // one cert-manager fills (mode auto with an issuer), or, with no issuer,
  // the controller's default certificate; ingress-nginx redirects to HTTPS
  // whenever tls is set unless told otherwise.
  if (plan.tls.enabled()) {
    json entry = {{"hosts", hosts}};
    if (plan.tls.mode == "secret") {
      entry["secretName"] = plan.tls.secret_name;
    } else if (!settings.tls_issuer.empty()) {
      entry["secretName"] = names.name + "-tls";
      i["metadata"]["annotations"][settings.tls_issuer_kind == "Issuer"
                                       ? "cert-manager.io/issuer"
                                       : "cert-manager.io/cluster-issuer"] = settings.tls_issuer;
    }
    i["spec"]["tls"] = json::array({entry});
    i["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"] =
        plan.tls.redirect ? "true" : "false";
  }
  // spec.access.basicAuth: ingress-nginx's own, from the same secret (its
  // key `auth`, htpasswd lines).
  if (!plan.basic_auth_secret.empty() && !exempt) {
    auto& a = i["metadata"]["annotations"];
    a["nginx.ingress.kubernetes.io/auth-type"] = "basic";
    a["nginx.ingress.kubernetes.io/auth-secret"] = plan.basic_auth_secret;
    a["nginx.ingress.kubernetes.io/auth-secret-type"] = "auth-file";
    a["nginx.ingress.kubernetes.io/auth-realm"] = plan.basic_auth_realm;
  }
  return i;
}

// The OpenShift router's name for the routed component's spec balance
// (app sites, api::routed_component); "" when none is set.
std::string openshift_balance(const json& site) {
  const json& spec = spec_of(site);
  if (!spec.contains("app") || !spec["app"].is_object() || !spec["app"].contains("components"))
    return "";
  const json& components = spec["app"]["components"];
  int i = api::routed_component(components);
  if (i < 0) return "";
  std::string balance = string_at(components[static_cast<size_t>(i)], "balance");
  return balance == "least-connections" ? "leastconn"
         : balance == "round-robin"     ? "roundrobin"
                                        : "";
}

// A Route holds one host. "*.example.org" is written the OpenShift way: a
// host in the domain plus wildcardPolicy Subdomain.
json route(const SiteNames& names, std::string_view name, const std::string& host,
           std::string_view service_name, const std::string& balance, const SitePlan& plan,
           const PlatformSettings& settings) {
  json r = object_head("route.openshift.io/v1", "Route", name, names.ns, site_labels(names, ""));
  if (!balance.empty())
    r["metadata"]["annotations"]["haproxy.router.openshift.io/balance"] = balance;
  // spec.access.ipAllow: the OpenShift router's allow list (space-separated);
  // a deny list it has not (render::unsupported_on refuses one).
  if (!plan.ip_allow.empty()) {
    std::string list;
    for (const auto& cidr : plan.ip_allow) list += (list.empty() ? "" : " ") + cidr;
    r["metadata"]["annotations"]["haproxy.router.openshift.io/ip_whitelist"] = list;
  }
  bool wildcard = host.starts_with("*.");
  r["spec"] = {{"host", wildcard ? "wildcard" + host.substr(1) : host},
               {"to", {{"kind", "Service"}, {"name", service_name}, {"weight", 100}}},
               {"port", {{"targetPort", "http"}}},
               {"wildcardPolicy", wildcard ? "Subdomain" : "None"}};
  // spec.tls: edge termination, with the router's default certificate or
  // one cert-manager's openshift-routes puts in (mode auto with an issuer);
  // mode secret is refused by unsupported_on (a Route holds its key inline).
  if (plan.tls.enabled()) {
    r["spec"]["tls"] = {
        {"termination", "edge"},
        {"insecureEdgeTerminationPolicy", plan.tls.redirect ? "Redirect" : "Allow"}};
    if (!settings.tls_issuer.empty()) {
      r["metadata"]["annotations"]["cert-manager.io/issuer-name"] = settings.tls_issuer;
      r["metadata"]["annotations"]["cert-manager.io/issuer-kind"] = settings.tls_issuer_kind;
    }
    if (std::string hsts = hsts_header(plan.tls); !hsts.empty())
      r["metadata"]["annotations"]["haproxy.router.openshift.io/hsts_header"] = hsts;
  }
  return r;
}

// A regular expression matching what the router's path_exempt matches for
// `prefix` ("/.well-known/": what is under it; "/healthz": that path and
// what is under it).
std::string exempt_regex(const std::string& prefix) {
  std::string r = "^";
  for (char c : prefix) {
    if (std::string_view(".^$*+?()[]{}|\\").find(c) != std::string_view::npos) r += '\\';
    r += c;
  }
  return prefix.ends_with("/") ? r : r + "(/|$)";
}

// spec.access.oidc on a cluster: oauth2-proxy between the Ingress or Route
// and the site's Service, with the same paths (/oauth2/callback ...), the
// same headers to the site (X-Forwarded-User, -Email, -Groups) and the
// same secret (client-secret; cookie-secret, its session key).
std::vector<json> oauth2_proxy(const SiteNames& names, std::string_view upstream,
                               const SitePlan& plan, const PlatformSettings& settings) {
  const std::string name = names.name + "-oauth2-proxy";
  const OidcPlan& o = plan.oidc;
  std::string scopes;
  for (const auto& s : o.scopes) scopes += (scopes.empty() ? "" : " ") + s;
  json args = {"--provider=oidc", "--oidc-issuer-url=" + o.issuer, "--client-id=" + o.client_id,
               "--upstream=http://" + std::string(upstream) + "." + names.ns + ".svc:80",
               "--http-address=0.0.0.0:4180", "--reverse-proxy=true", "--skip-provider-button=true",
               "--code-challenge-method=S256", "--scope=" + scopes,
               // The user claim's value as X-Forwarded-User (and the user
               // the lists match), as wok up's router gives it: oauth2-proxy
               // reads it as its "email" claim and prefers it to "sub".
               "--oidc-email-claim=" + o.user_claim, "--prefer-email-to-user=true",
               "--oidc-groups-claim=" + o.groups_claim,
               // The ID token's claims only, its nonce checked: as wok up.
               "--skip-claims-from-profile-url=true", "--insecure-oidc-skip-nonce=false",
               "--pass-user-headers=true",
               // Over HTTPS the __Host- name, as wok up's (a sibling host
               // cannot plant it).
               plan.tls.enabled() ? "--cookie-name=__Host-wok_oidc" : "--cookie-name=_wok_oidc",
               "--cookie-samesite=lax", "--cookie-expire=" + std::to_string(o.session_s) + "s",
               std::string("--cookie-secure=") + (plan.tls.enabled() ? "true" : "false")};
  // Anyone the provider signs in, unless lists say who (unsupported_on
  // refuses both lists at once: oauth2-proxy would ask for both).
  if (o.allowed_users.empty()) args.push_back("--email-domain=*");
  if (!o.allowed_users.empty()) args.push_back("--authenticated-emails-file=/etc/wok-oidc/users");
  for (const auto& g : o.allowed_groups) args.push_back("--allowed-group=" + g);
  for (const auto& p : plan.login_exempt) args.push_back("--skip-auth-route=" + exempt_regex(p));
  auto from_secret = [&](const char* env, const char* key) {
    return json{{"name", env},
                {"valueFrom", {{"secretKeyRef", {{"name", o.secret_name}, {"key", key}}}}}};
  };
  json container = {{"name", "oauth2-proxy"},
                    {"image", settings.oauth2_proxy_image},
                    {"args", args},
                    {"env",
                     {from_secret("OAUTH2_PROXY_CLIENT_SECRET", "client-secret"),
                      from_secret("OAUTH2_PROXY_COOKIE_SECRET", "cookie-secret")}},
                    {"ports", {{{"name", "http"}, {"containerPort", 4180}}}},
                    {"readinessProbe",
                     {{"httpGet", {{"path", "/ping"}, {"port", "http"}}}, {"periodSeconds", 10}}},
                    {"resources",
                     {{"requests", {{"cpu", "10m"}, {"memory", "32Mi"}}},
                      {"limits", {{"cpu", "200m"}, {"memory", "64Mi"}}}}},
                    {"securityContext", container_security()}};
  json pod_spec = {{"securityContext", pod_security(settings)},
                   {"automountServiceAccountToken", false},
                   {"containers", {container}}};
  std::vector<json> out;
  if (!o.allowed_users.empty()) {
    std::string users;
    for (const auto& u : o.allowed_users) users += u + "\n";
    json cm = object_head("v1", "ConfigMap", name, names.ns, site_labels(names, "oauth2-proxy"));
    cm["data"] = {{"users", users}};
    out.push_back(cm);
    pod_spec["volumes"] = {{{"name", "users"}, {"configMap", {{"name", name}}}}};
    pod_spec["containers"][0]["volumeMounts"] = {
        {{"name", "users"}, {"mountPath", "/etc/wok-oidc"}, {"readOnly", true}}};
  }
  json d = object_head("apps/v1", "Deployment", name, names.ns, site_labels(names, "oauth2-proxy"));
  d["spec"] = {
      {"replicas", 1},
      {"selector", {{"matchLabels", selector(names, "oauth2-proxy")}}},
      {"template",
       {{"metadata", {{"labels", site_labels(names, "oauth2-proxy")}}}, {"spec", pod_spec}}}};
  out.push_back(d);
  out.push_back(service(names, "oauth2-proxy", name));
  return out;
}

std::vector<json> exposure_of(const SiteNames& names, const json& site,
                              const std::vector<std::string>& hosts, std::string_view service_name,
                              const SitePlan& plan, const PlatformSettings& settings);

}  // namespace

std::vector<json> exposure(const SiteNames& names, const json& site, std::string_view service_name,
                           const PlatformSettings& settings) {
  std::vector<std::string> hosts = hosts_of(site);
  if (hosts.empty()) return {};
  const SitePlan plan = plan_site(site);
  std::vector<json> proxy;
  std::string proxy_service;
  if (plan.oidc.enabled()) {
    // The Ingress or Route sends everything to the login, which sends
    // those it lets in on to the site.
    proxy = oauth2_proxy(names, service_name, plan, settings);
    proxy_service = names.name + "-oauth2-proxy";
    service_name = proxy_service;
  }
  std::vector<json> out = exposure_of(names, site, hosts, service_name, plan, settings);
  out.insert(out.begin(), proxy.begin(), proxy.end());
  return out;
}

namespace {

std::vector<json> exposure_of(const SiteNames& names, const json& site,
                              const std::vector<std::string>& hosts, std::string_view service_name,
                              const SitePlan& plan, const PlatformSettings& settings) {
  if (!settings.openshift_routes) {
    long long max_body = api::parse_memory_bytes(string_at(spec_of(site), "maxBodySize", ""));
    std::vector<json> out = {ingress(names, hosts, service_name, settings, max_body, plan)};
    if (!plan.basic_auth_secret.empty() && !plan.login_exempt.empty())
      out.push_back(ingress(names, hosts, service_name, settings, max_body, plan, true));
    return out;
  }
  std::vector<json> routes;
  const std::string balance = openshift_balance(site);
  for (size_t i = 0; i < hosts.size(); ++i) {
    // The first host keeps the site's name, so a one-host site has one obvious Route.
    std::string name = i == 0 ? names.name : names.name + "-" + std::to_string(i + 1);
    routes.push_back(route(names, name, hosts[i], service_name, balance, plan, settings));
  }
  return routes;
}

}  // namespace

}  // namespace wok::render::detail
