#include "controllers/site_certificates.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "certs/certificate.h"
#include "http/tls.h"
#include "router/route_table.h"

namespace wok::controllers {

using nlohmann::json;

SiteCertificates::SiteCertificates(const certs::LocalCa* local_ca, SecretReader read_secret,
                                   int valid_days)
    : local_ca_(local_ca), read_secret_(std::move(read_secret)), valid_days_(valid_days) {}

void SiteCertificates::forget(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  entries_.erase({ns, name});
}

SiteCertificates::Result SiteCertificates::ensure(const render::SitePlan& plan,
                                                  const std::vector<std::string>& hosts) {
  if (!plan.tls.enabled()) {
    forget(plan.ns, plan.name);
    return {nullptr, nullptr};
  }
  // What the certificate is made from: a change of it (hosts, the secret's
  // contents) makes a new one; so do the redirect and HSTS settings.
  std::string source = plan.tls.mode + "|" + std::to_string(plan.tls.redirect) + "|" +
                       render::hsts_header(plan.tls) + "|";
  std::optional<std::map<std::string, std::string>> secret;
  std::string secret_error;
  if (plan.tls.mode == "secret") {
    if (!read_secret_) {
      secret_error = "secrets cannot be read here";
    } else {
      secret = read_secret_(plan.ns, plan.tls.secret_name, &secret_error);
    }
    if (secret) source += (*secret)["tls.crt"] + "|" + (*secret)["tls.key"];
  } else {
    for (const auto& h : hosts) source += h + ",";
  }
  const int64_t now = time(nullptr);
  std::lock_guard lock(mu_);
  auto it = entries_.find({plan.ns, plan.name});
  if (it != entries_.end() && it->second.source == source &&
      (it->second.renew_at == 0 || now < it->second.renew_at)) {
    return {it->second.tls, it->second.status};
  }
  Entry entry = make(plan, hosts, source, secret ? &*secret : nullptr, secret_error);
  if (!entry.status.contains("message") && it != entries_.end())
    spdlog::info("site {}/{}: certificate for {} from {}, valid until {}", plan.ns, plan.name,
                 entry.status["hosts"].dump(), entry.status.value("issuer", ""),
                 entry.status.value("notAfter", ""));
  // A failed renewal keeps serving the certificate it has while it is valid.
  if (entry.status.contains("message") && it != entries_.end() && it->second.tls &&
      it->second.tls->context && plan.tls.mode == "auto" && it->second.not_after > now) {
    it->second.status["message"] = entry.status["message"];
    it->second.renew_at = now + 60;  // try again in a minute
    return {it->second.tls, it->second.status};
  }
  Result result{entry.tls, entry.status};
  entries_[{plan.ns, plan.name}] = std::move(entry);
  return result;
}

SiteCertificates::Entry SiteCertificates::make(const render::SitePlan& plan,
                                               const std::vector<std::string>& hosts,
                                               const std::string& source,
                                               const std::map<std::string, std::string>* secret,
                                               const std::string& secret_error) {
  Entry entry;
  entry.source = source;
  json status = {{"mode", plan.tls.mode}};
  auto site_tls = std::make_shared<router::SiteTls>();
  site_tls->hsts = render::hsts_header(plan.tls);
  auto fail = [&](std::string message) {
    status["message"] = std::move(message);
    // No certificate: handshakes for its hosts are refused, and http:// is
    // not sent to where nothing answers.
    site_tls->redirect = false;
    entry.tls = site_tls;
    entry.status = status;
    entry.renew_at = time(nullptr) + 60;
    return entry;
  };
  std::string chain, key;
  if (plan.tls.mode == "secret") {
    status["secretName"] = plan.tls.secret_name;
    if (!secret) return fail("secret " + plan.tls.secret_name + ": " + secret_error);
    auto crt = secret->find("tls.crt"), k = secret->find("tls.key");
    if (crt == secret->end() || k == secret->end())
      return fail("secret " + plan.tls.secret_name + " has no tls.crt and tls.key");
    chain = crt->second;
    key = k->second;
  } else {
    if (!local_ca_) return fail("no certificate issuer is configured");
    if (hosts.empty()) return fail("the site routes no host");
    std::string error;
    auto issued = local_ca_->issue(hosts, valid_days_, &error);
    if (!issued) return fail("the local CA could not issue: " + error);
    chain = issued->certificate_pem;
    key = issued->key_pem;
  }
  std::string error;
  auto info = certs::read_certificate(chain, &error);
  if (!info) return fail("secret " + plan.tls.secret_name + ": tls.crt is " + error);
  http::SslContext context = http::make_certificate_context(chain, key, &error);
  if (!context) return fail("secret " + plan.tls.secret_name + ": " + error);
  status["hosts"] = info->hosts;
  status["issuer"] = info->issuer;
  status["notBefore"] = certs::rfc3339(info->not_before);
  status["notAfter"] = certs::rfc3339(info->not_after);
  const int64_t now = time(nullptr);
  std::vector<std::string> uncovered;
  for (const auto& h : hosts)
    if (!certs::covers(info->hosts, h)) uncovered.push_back(h);
  std::string problem;
  if (info->not_after <= now)
    problem = "the certificate expired at " + certs::rfc3339(info->not_after);
  else if (info->not_before > now)
    problem = "the certificate is not valid before " + certs::rfc3339(info->not_before);
  if (!uncovered.empty()) {
    std::string list;
    for (const auto& h : uncovered) list += (list.empty() ? "" : ", ") + h;
    problem +=
        (problem.empty() ? "" : "; ") + std::string("the certificate does not cover ") + list;
  }
  if (!problem.empty()) status["message"] = problem;
  site_tls->context = std::move(context);
  site_tls->redirect = plan.tls.redirect;
  entry.tls = site_tls;
  entry.status = status;
  entry.not_after = info->not_after;
  // Renewed with a third of its life left (ACME clients' usual rule); a
  // secret's is looked at again when it ends, to say so.
  entry.renew_at = plan.tls.mode == "auto"
                       ? info->not_after - (info->not_after - info->not_before) / 3
                       : info->not_after;
  return entry;
}

}  // namespace wok::controllers
