#pragma once
// Local sources: a git URL that is a path on this machine (file://, /path)
// and an image read from it (oci:, dir:, oci-archive:, docker-archive:,
// containers-storage:, docker-daemon:, ...) read whatever the path names,
// another team's repository or any directory of the host. Members may use
// them only under directories the admin lists (`wok up
// --allow-local-source DIR`); the platform admin may use any. Checked at
// admission (the API knows the caller) and again before every fetch (the
// allow-list may have changed since). See docs/security.md, "Sources".
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/validation.h"

namespace wok::server {

// Where `path` (absolute) leads: the realpath of its longest existing
// prefix, the rest appended as written. nullopt for a relative path, or a
// rest with a "." or ".." component (it cannot be judged before it exists).
std::optional<std::string> resolve_path(const std::string& path);

// True when `path`, resolved, is `dir` (resolved) or below it, component
// by component ("/srv/git2" is not under "/srv/git"). False when either
// cannot be resolved.
bool path_under(const std::string& path, const std::string& dir);

// The errors of `spec`'s local sources that lie outside `allowed`, each
// naming its field ("spec.source.git.url", "spec.app.components[1].image").
std::vector<api::FieldError> local_source_errors(const nlohmann::json& spec,
                                                 const std::vector<std::string>& allowed);

// Status field the API sets when the platform admin writes a site whose
// local sources a member could not use: the generation it approved.
inline constexpr char kLocalSourcesApproved[] = "localSourcesApprovedGeneration";

// Before a fetch or pull: "" when `site` (with status) may read its local
// sources, else why not. A site's current generation the platform admin
// approved may read any; otherwise the allow-list decides.
std::string fetch_time_source_error(const nlohmann::json& site,
                                    const std::vector<std::string>& allowed);

}  // namespace wok::server
