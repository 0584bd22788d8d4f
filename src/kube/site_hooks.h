#pragma once
// The operator's side of push webhooks (hooks/push_hook.h), served on
// --webhook-listen: a site from the operator's informer cache, its webhook
// secret from the project's Kubernetes Secret, and a refresh requested by
// the wok.dev/refresh annotation. The annotation, not a call into this
// process: any replica may take the hook, and the leader resolves the ref.
#include <functional>
#include <string>

#include "hooks/push_hook.h"
#include "kube/informer.h"

namespace wok::kube {

class KubeClient;

// The key of the Secret (spec.source.git.webhookSecret) holding the
// webhook's secret: the same as on `wok up`.
inline constexpr const char* kWebhookTokenKey = "token";
// A new value resolves the site's ref now (kube/site_revisions.h reads it).
inline constexpr const char* kRefreshRequestAnnotation = "wok.dev/refresh";

// `site_of(ns, name)` is the cached Site or null.
hooks::HookBackend operator_hook_backend(
    KubeClient& client, std::function<ObjectPtr(const std::string&, const std::string&)> site_of);

}  // namespace wok::kube
