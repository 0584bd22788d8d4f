#include "hooks/push_hook.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "hooks/push_event.h"
#include "hooks/signature.h"

namespace wok::hooks {
namespace {

using nlohmann::json;

constexpr const char* kOutcomeNames[] = {"accepted",    "ignored",   "ping",      "unauthorized",
                                         "bad_request", "too_large", "not_found", "error"};

// The same words for every request that does not prove itself, whatever the
// reason: nobody without the secret learns which projects or sites exist.
constexpr const char* kNotAccepted =
    "the signature does not match the webhook secret of a site at this URL";

std::string random_secret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return std::string(32, 'x');
  return std::string(reinterpret_cast<char*>(bytes), sizeof bytes);
}

// "/hooks/v1/projects/P/sites/S", each name a DNS label, nothing else (no
// empty, encoded or dot segments): true and the names, or false.
bool parse_path(std::string_view path, std::string* ns, std::string* name) {
  constexpr std::string_view kPrefix = "/hooks/v1/projects/";
  if (!path.starts_with(kPrefix)) return false;
  path.remove_prefix(kPrefix.size());
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return false;
  *ns = path.substr(0, slash);
  path.remove_prefix(slash);
  if (!path.starts_with("/sites/")) return false;
  path.remove_prefix(7);
  *name = path;
  return api::is_dns_label(*ns) && api::is_dns_label(*name);
}

}  // namespace

PushHookEndpoint::PushHookEndpoint(HookBackend backend, std::chrono::milliseconds window)
    : backend_(std::move(backend)), decoy_secret_(random_secret()) {
  coalescer_ = std::make_unique<RefreshCoalescer>(window, [this](const std::string& key) {
    size_t slash = key.find('/');
    return backend_.refresh(key.substr(0, slash), key.substr(slash + 1));
  });
}

void PushHookEndpoint::answer(http::Response& response, Outcome outcome, int code,
                              const std::string& message) {
  counts_[outcome].fetch_add(1, std::memory_order_relaxed);
  bool ok = code < 400;
  json status = {{"apiVersion", "v1"},
                 {"kind", "Status"},
                 {"status", ok ? "Success" : "Failure"},
                 {"code", code},
                 {"message", message}};
  if (!ok) status["reason"] = std::string(http::reason_phrase(code));
  response.status = code;
  response.set_header("Content-Type", "application/json");
  response.set_header("Cache-Control", "no-store");
  response.body = status.dump(2) + "\n";
}

void PushHookEndpoint::handle(const http::Request& request, http::Response& response) {
  std::string ns, name;
  if (!parse_path(request.path, &ns, &name)) {
    return answer(response, kNotFound, 404,
                  "no such webhook path: a site's is /hooks/v1/projects/PROJECT/sites/SITE");
  }
  if (request.method != "POST") {
    response.set_header("Allow", "POST");
    return answer(response, kBadRequest, 405, "a webhook is a POST");
  }
  if (request.body.size() > kMaxHookBodyBytes) {
    return answer(response, kTooLarge, 413,
                  "the body is larger than a webhook may be (" +
                      std::to_string(kMaxHookBodyBytes / 1024) + " KiB)");
  }
  if (!has_signature_header(request)) {
    return answer(response, kUnauthorized, 401,
                  "no signature: give the webhook the site's secret (X-Hub-Signature-256, "
                  "X-Gitea-Signature or X-Gitlab-Token)");
  }
  std::optional<HookSite> site = backend_.find(ns, name);
  SignatureCheck check = verify_signature(request, site ? site->secret : decoy_secret_);
  if (check.proof == Proof::kMalformed) {
    return answer(response, kUnauthorized, 401,
                  std::string(check.header) + " is not of its form (" +
                      (check.header == "X-Hub-Signature-256" ? "sha256=" : "") +
                      (check.header == "X-Gitlab-Token" ? "the secret)" : "64 hex digits)"));
  }
  if (!site || check.proof != Proof::kValid) {
    if (site && site->secret.size() < kMinSecretBytes) {
      spdlog::info(
          "webhook for site {}/{}: its secret is shorter than {} bytes: every hook is refused", ns,
          name, kMinSecretBytes);
    }
    return answer(response, kUnauthorized, 401, kNotAccepted);
  }

  // Verified: only now is the body read.
  PushEvent event = read_event(request);
  const std::string site_id = ns + "/" + name;
  if (event.kind == EventKind::kPing) {
    return answer(response, kPing, 200, "pong: the webhook of site " + site_id + " is set up");
  }
  if (event.kind == EventKind::kOther) {
    return answer(response, kIgnored, 200, "ignored: event \"" + event.name + "\" is not a push");
  }
  if (!event.error.empty()) return answer(response, kBadRequest, 400, event.error);
  if (event.deleted) {
    return answer(response, kIgnored, 200, "ignored: ref " + event.ref + " was deleted");
  }
  if (!ref_matches(event.ref, site->ref)) {
    return answer(response, kIgnored, 200,
                  "ignored: ref " + event.ref + " is not the site's ref " + site->ref);
  }
  RefreshCoalescer::Answer a = coalescer_->request(site_id);
  if (!a.error.empty()) {
    spdlog::warn("webhook for site {}: cannot request a refresh: {}", site_id, a.error);
    return answer(response, kError, 503, "cannot request a refresh now: " + a.error);
  }
  if (a.outcome == RefreshCoalescer::Outcome::kNow) {
    spdlog::info("webhook: push to {} refreshes site {}", event.ref, site_id);
    return answer(response, kAccepted, 202,
                  "refresh of site " + site_id + " requested (" + event.ref + ")");
  }
  return answer(response, kAccepted, 202,
                "refresh of site " + site_id +
                    " queued: pushes within a second of the last refresh are fetched together");
}

std::string PushHookEndpoint::metrics() const {
  std::string out =
      "# HELP wok_webhook_requests_total Push webhook requests, by what was answered.\n"
      "# TYPE wok_webhook_requests_total counter\n";
  for (int i = 0; i < kCount; ++i) {
    out += "wok_webhook_requests_total{outcome=\"" + std::string(kOutcomeNames[i]) + "\"} " +
           std::to_string(counts_[i].load(std::memory_order_relaxed)) + "\n";
  }
  return out;
}

}  // namespace wok::hooks
