#pragma once
// wok up's side of push webhooks (hooks/push_hook.h): a site and its webhook
// secret from the store, and the refresh `wok refresh` requests.
#include <string>

#include "hooks/push_hook.h"

namespace wok::store {
class Store;
class SecretStore;
struct Result;
}  // namespace wok::store

namespace wok::server {

// The key of the project secret (spec.source.git.webhookSecret) that holds
// the webhook's secret, as Flux's Receiver reads `token`.
inline constexpr const char* kWebhookSecretKey = "token";

// One more refresh request in the site's status: its controller fetches the
// source again. It also ends a rollback's pin (the source is followed again).
store::Result request_site_refresh(store::Store& store, const std::string& ns,
                                   const std::string& name);

// `secrets` may be null: then no site has a webhook.
hooks::HookBackend store_hook_backend(store::Store& store, store::SecretStore* secrets);

}  // namespace wok::server
