#pragma once
// POST /hooks/v1/projects/{project}/sites/{site}: a forge's push webhook,
// answered the same way on both platforms (wok up's API server; the
// operator's --webhook-listen). No bearer token (a forge cannot send one):
// the request proves itself with the site's webhook secret (signature.h).
// Whoever lacks the secret learns nothing: an unknown project, an unknown
// site, a site without a webhook secret and a wrong signature get the same
// 401. See docs/webhooks.md.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hooks/refresh_coalescer.h"
#include "http/message.h"

namespace wok::hooks {

inline constexpr std::string_view kHookPathPrefix = "/hooks/";
// Larger bodies are refused (413) before anything is looked up. A push of
// GitHub's 20 listed commits is some tens of KiB.
inline constexpr size_t kMaxHookBodyBytes = 1024 * 1024;

// What the endpoint needs of a site.
struct HookSite {
  std::string ref;     // its spec.source.git.ref ("main")
  std::string secret;  // key `token` of the secret spec.source.git.webhookSecret names
};

struct HookBackend {
  // The site, when it exists, follows git and names a webhook secret that
  // can be read; otherwise nullopt (answered as a wrong signature).
  std::function<std::optional<HookSite>(const std::string& ns, const std::string& name)> find;
  // Fetches the site's ref again now, as `wok refresh` does: "" or the error.
  std::function<std::string(const std::string& ns, const std::string& name)> refresh;
};

class PushHookEndpoint {
 public:
  explicit PushHookEndpoint(HookBackend backend,
                            std::chrono::milliseconds window = std::chrono::seconds(1));

  static bool is_hook_path(std::string_view path) { return path.starts_with(kHookPathPrefix); }
  void handle(const http::Request& request, http::Response& response);
  // wok_webhook_requests_total{outcome=...}, Prometheus text.
  std::string metrics() const;

 private:
  enum Outcome {
    kAccepted,
    kIgnored,
    kPing,
    kUnauthorized,
    kBadRequest,
    kTooLarge,
    kNotFound,
    kError,
    kCount
  };
  void answer(http::Response& response, Outcome outcome, int code, const std::string& message);

  HookBackend backend_;
  std::unique_ptr<RefreshCoalescer> coalescer_;
  const std::string decoy_secret_;  // verified against when there is no site: same work, same time
  std::atomic<uint64_t> counts_[kCount] = {};
};

}  // namespace wok::hooks
