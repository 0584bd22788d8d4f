#include "controllers/site_certificates.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/text.h"
#include "certs/acme.h"
#include "certs/certificate.h"
#include "http/tls.h"
#include "router/route_table.h"

namespace wok::controllers {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWaitingForCa = "waiting for the ACME CA to issue a certificate for ";

// Failed ACME orders wait 1, 2, 4... minutes, at most an hour, before the
// next (or as long as the CA said, if longer): a CA's rate limits count
// failed validations too.
int64_t backoff_s(int failures) {
  int64_t s = int64_t{60} << std::min(failures - 1, 6);
  return std::min<int64_t>(s, 3600);
}

bool is_local_name(const std::string& host) {
  return host == "localhost" || host.ends_with(".localhost");
}

}  // namespace

bool certificate_pending(const nlohmann::json& tls_status) {
  if (!tls_status.is_object()) return false;
  auto it = tls_status.find("message");
  return it != tls_status.end() && it->is_string() &&
         it->get_ref<const std::string&>().starts_with(kWaitingForCa);
}

SiteCertificates::SiteCertificates(CertificateIssuers issuers, SecretReader read_secret)
    : issuers_(std::move(issuers)), read_secret_(std::move(read_secret)) {
  if (issuers_.acme) {
    std::error_code ec;
    fs::create_directories(issuers_.acme_dir, ec);
    fs::permissions(issuers_.acme_dir, fs::perms::owner_all, ec);
    acme_thread_ = std::thread([this] { acme_loop(); });
  }
}

SiteCertificates::~SiteCertificates() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (acme_thread_.joinable()) acme_thread_.join();
}

void SiteCertificates::forget(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  entries_.erase({ns, name});
  std::error_code ec;
  if (issuers_.acme) {
    fs::remove(stored_path({ns, name}, ".crt"), ec);
    fs::remove(stored_path({ns, name}, ".key"), ec);
  }
}

nlohmann::json SiteCertificates::status_of(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find({ns, name});
  return it == entries_.end() ? nlohmann::json() : it->second.status;
}

std::string SiteCertificates::stored_path(const Key& key, const char* ext) const {
  // Names are DNS labels: no "/" or ".." can reach here.
  return issuers_.acme_dir + "/" + key.first + "." + key.second + ext;
}

bool SiteCertificates::uses_acme(const std::vector<std::string>& hosts) const {
  if (!issuers_.acme) return false;
  return std::any_of(hosts.begin(), hosts.end(), [](const auto& h) { return !is_local_name(h); });
}

SiteCertificates::Result SiteCertificates::ensure(const render::SitePlan& plan,
                                                  const std::vector<std::string>& hosts) {
  if (!plan.tls.enabled()) {
    forget(plan.ns, plan.name);
    return {nullptr, nullptr};
  }
  const Key key{plan.ns, plan.name};
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
  const bool acme = plan.tls.mode == "auto" && uses_acme(hosts);
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.source == source &&
      (it->second.acme || it->second.renew_at == 0 || now < it->second.renew_at)) {
    // ACME entries are renewed by their thread, not here.
    return {it->second.tls, it->second.status};
  }
  if (acme) {
    Entry entry;
    entry.source = source;
    entry.acme = true;
    entry.hosts = hosts;
    entry.redirect = plan.tls.redirect;
    entry.hsts = render::hsts_header(plan.tls);
    // What an earlier order (this process's, or one before a restart) left.
    std::string chain, pem_key, error;
    if (certs::read_file(stored_path(key, ".crt"), &chain) &&
        certs::read_file(stored_path(key, ".key"), &pem_key)) {
      Entry stored = from_pem(plan, hosts, chain, pem_key, &error);
      if (stored.tls && stored.tls->context && !stored.status.contains("message")) {
        stored.source = source;
        stored.acme = true;
        stored.hosts = hosts;
        stored.redirect = entry.redirect;
        stored.hsts = entry.hsts;
        entry = std::move(stored);
      }
    }
    if (!entry.tls && it != entries_.end() && it->second.tls && it->second.tls->context) {
      // New hosts: the certificate it has serves the ones it covers meanwhile.
      entry.tls = it->second.tls;
      entry.status = it->second.status;
      entry.status["message"] = std::string(kWaitingForCa) + join(hosts);
    } else if (!entry.tls) {
      auto pending = std::make_shared<router::SiteTls>();
      pending->hsts = entry.hsts;  // no certificate yet: no redirect either
      entry.tls = pending;
      entry.status = {{"mode", "auto"}, {"message", std::string(kWaitingForCa) + join(hosts)}};
    }
    if (it != entries_.end()) {  // the order in flight, its failures, carry over
      entry.failures = it->second.failures;
      entry.retry_at = it->second.retry_at;
      entry.queued = it->second.queued;
    }
    if (now >= entry.renew_at) queue_order(key, entry, now);
    Result result{entry.tls, entry.status};
    entries_[key] = std::move(entry);
    return result;
  }
  Entry entry = make(plan, hosts, source, secret ? &*secret : nullptr, secret_error);
  if (!entry.status.contains("message") && it != entries_.end())
    spdlog::info("site {}/{}: certificate for {} from {}, valid until {}", plan.ns, plan.name,
                 entry.status["hosts"].dump(), entry.status.value("issuer", ""),
                 entry.status.value("notAfter", ""));
  Result result{entry.tls, entry.status};
  entries_[key] = std::move(entry);
  return result;
}

void SiteCertificates::queue_order(const Key& key, Entry& entry, int64_t now) {
  if (entry.queued || now < entry.retry_at || stopping_) return;
  entry.queued = true;
  orders_.push_back(key);
  wake_.notify_all();
}

void SiteCertificates::acme_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (orders_.empty()) {
      // Renewals and retries come due on their own: look every few seconds.
      wake_.wait_for(lock, std::chrono::seconds(2));
      const int64_t now = time(nullptr);
      for (auto& [key, entry] : entries_)
        if (entry.acme && now >= entry.renew_at) queue_order(key, entry, now);
      continue;
    }
    // Projects take turns: one whose sites' orders keep failing (each may
    // take the CA's whole timeout) does not hold back another's.
    auto next = std::find_if(orders_.begin(), orders_.end(),
                             [&](const Key& k) { return k.first != last_project_; });
    if (next == orders_.end()) next = orders_.begin();
    Key key = *next;
    orders_.erase(next);
    last_project_ = key.first;
    auto it = entries_.find(key);
    if (it == entries_.end() || !it->second.acme) continue;  // forgotten, or mode changed
    const std::vector<std::string> ordered = it->second.hosts;
    std::vector<std::string> hosts;
    for (const auto& h : ordered)
      if (!h.starts_with("*.")) hosts.push_back(h);  // HTTP-01 cannot prove a wildcard
    lock.unlock();
    certs::AcmeFailure failure;
    std::optional<certs::Issued> issued;
    if (hosts.empty()) {
      failure.message = "only wildcard hosts, which HTTP-01 cannot validate (a DNS-01 issuer can)";
    } else {
      spdlog::info("site {}/{}: ordering a certificate for {} from the ACME CA", key.first,
                   key.second, join(hosts));
      issued = issuers_.acme->order(hosts, &failure);
    }
    finish_order(key, ordered, issued, failure.message, failure.retry_after_s);
    lock.lock();
  }
}

void SiteCertificates::finish_order(const Key& key, const std::vector<std::string>& hosts,
                                    const std::optional<certs::Issued>& issued,
                                    const std::string& error, int64_t retry_after_s) {
  const int64_t now = time(nullptr);
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;  // the site went meanwhile
    Entry& entry = it->second;
    entry.queued = false;
    // What the CA sent must load before it replaces anything or is kept.
    std::string check_error;
    std::optional<Entry> fresh_entry;
    if (issued) {
      render::SitePlan plan;
      plan.ns = key.first;
      plan.name = key.second;
      plan.tls.redirect = entry.redirect;
      Entry candidate =
          from_pem(plan, entry.hosts, issued->certificate_pem, issued->key_pem, &check_error);
      if (candidate.tls && candidate.tls->context)
        fresh_entry = std::move(candidate);
      else
        check_error = "the CA's certificate does not load: " + check_error;
    }
    if (!fresh_entry) {
      const std::string why = issued ? check_error : error;
      entry.failures++;
      entry.retry_at = now + std::max(backoff_s(entry.failures), retry_after_s);
      spdlog::warn("site {}/{}: no certificate from the ACME CA (next try in {}s): {}", key.first,
                   key.second, entry.retry_at - now, why);
      // A failed renewal keeps serving what it has while it is valid.
      entry.status["message"] = why;
      entry.status["retryAt"] = certs::rfc3339(entry.retry_at);
    } else {
      std::string write_error;
      if (!certs::write_file(stored_path(key, ".key"), issued->key_pem, 0600, &write_error) ||
          !certs::write_file(stored_path(key, ".crt"), issued->certificate_pem, 0600,
                             &write_error)) {
        spdlog::warn("site {}/{}: the certificate could not be kept: {}", key.first, key.second,
                     write_error);
      }
      Entry fresh = std::move(*fresh_entry);
      auto tls = std::make_shared<router::SiteTls>(*fresh.tls);
      tls->hsts = entry.hsts;
      fresh.tls = tls;
      fresh.source = entry.source;
      fresh.acme = true;
      fresh.hosts = entry.hosts;
      fresh.redirect = entry.redirect;
      fresh.hsts = entry.hsts;
      // The site's hosts changed while this order ran: order again for them.
      if (entry.hosts != hosts) fresh.renew_at = 0;
      entry = std::move(fresh);
      spdlog::info("site {}/{}: certificate for {} from {}, valid until {}", key.first, key.second,
                   join(hosts), entry.status.value("issuer", ""),
                   entry.status.value("notAfter", ""));
    }
  }
  if (issuers_.changed) issuers_.changed(key.first, key.second);
}

SiteCertificates::Entry SiteCertificates::from_pem(const render::SitePlan& plan,
                                                   const std::vector<std::string>& hosts,
                                                   const std::string& chain, const std::string& key,
                                                   std::string* error) {
  Entry entry;
  json status = {{"mode", plan.tls.mode}};
  if (plan.tls.mode == "secret") status["secretName"] = plan.tls.secret_name;
  auto site_tls = std::make_shared<router::SiteTls>();
  site_tls->hsts = render::hsts_header(plan.tls);
  entry.tls = site_tls;
  auto info = certs::read_certificate(chain, error);
  http::SslContext context;
  if (info) context = http::make_certificate_context(chain, key, error);
  if (!info || !context) {
    status["message"] = *error;
    entry.status = status;
    return entry;
  }
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
  if (!uncovered.empty())
    problem += (problem.empty() ? "" : "; ") + std::string("the certificate does not cover ") +
               join(uncovered);
  if (!problem.empty()) status["message"] = problem;
  site_tls->context = std::move(context);
  site_tls->redirect = plan.tls.redirect;
  entry.status = status;
  entry.not_after = info->not_after;
  // Renewed with a third of its life left (ACME clients' usual rule); a
  // secret's is looked at again when it ends, to say so.
  if (plan.tls.mode == "secret") {
    entry.renew_at = info->not_after;
  } else if (issuers_.renew_after_s > 0) {
    entry.renew_at = info->not_before + issuers_.renew_after_s;
  } else {
    entry.renew_at = info->not_after - (info->not_after - info->not_before) / 3;
  }
  return entry;
}

SiteCertificates::Entry SiteCertificates::make(const render::SitePlan& plan,
                                               const std::vector<std::string>& hosts,
                                               const std::string& source,
                                               const std::map<std::string, std::string>* secret,
                                               const std::string& secret_error) {
  auto fail = [&](std::string message) {
    Entry entry;
    entry.source = source;
    json status = {{"mode", plan.tls.mode}};
    if (plan.tls.mode == "secret") status["secretName"] = plan.tls.secret_name;
    status["message"] = std::move(message);
    // No certificate: handshakes for its hosts are refused, and http:// is
    // not sent to where nothing answers.
    auto site_tls = std::make_shared<router::SiteTls>();
    site_tls->hsts = render::hsts_header(plan.tls);
    entry.tls = site_tls;
    entry.status = status;
    entry.renew_at = time(nullptr) + 60;
    return entry;
  };
  std::string chain, key;
  if (plan.tls.mode == "secret") {
    if (!secret) return fail("secret " + plan.tls.secret_name + ": " + secret_error);
    auto crt = secret->find("tls.crt"), k = secret->find("tls.key");
    if (crt == secret->end() || k == secret->end())
      return fail("secret " + plan.tls.secret_name + " has no tls.crt and tls.key");
    chain = crt->second;
    key = k->second;
  } else {
    if (!issuers_.local_ca) return fail("no certificate issuer is configured");
    if (hosts.empty()) return fail("the site routes no host");
    std::string error;
    auto issued = issuers_.local_ca->issue(hosts, issuers_.local_valid_days, &error);
    if (!issued) return fail("the local CA could not issue: " + error);
    chain = issued->certificate_pem;
    key = issued->key_pem;
  }
  std::string error;
  Entry entry = from_pem(plan, hosts, chain, key, &error);
  if (!entry.tls->context) {
    return fail(plan.tls.mode == "secret" ? "secret " + plan.tls.secret_name + ": " + error
                                          : error);
  }
  entry.source = source;
  return entry;
}

}  // namespace wok::controllers
