#pragma once
// The registries a site's docker:// images are pulled from (by skopeo, as
// root, on the host's network): like a git fetch, a pull must not reach
// loopback, link-local or private addresses (wok's own API, the cloud
// metadata address, services of the host's networks) unless the admin
// allows them (`wok up --allow-private-sources`). Checked before a revision
// is deployed and before a live revision's instances are (re)started.
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "git/fetch_limits.h"

namespace wok::controllers {

// The registry of a docker:// reference, as skopeo reads it: "host[:port]"
// when the first component names one (it has a '.' or a ':', is
// "localhost", or has an upper-case letter: the rule of the reference
// parser skopeo uses), "" for Docker Hub's short names ("docker://nginx",
// "docker://library/nginx:1") and for references of other transports.
std::string registry_of(const std::string& ref);

// The host of a registry ("host:port" -> "host", "[::1]:5000" -> "::1").
std::string registry_host(const std::string& registry);

// "" when every docker:// image of `spec` (spec.app.components[].image)
// may be pulled under `limits`; else the first refusal, naming the field,
// the image and the registry.
std::string image_registry_error(const nlohmann::json& spec, const git::FetchLimits& limits);

}  // namespace wok::controllers
