#pragma once
// What the API server of `wok up` refuses before it stores a Site, judged on
// a cluster: by the operator's admission webhook before the object is stored
// (kube/admission.h), and again at reconcile for an object stored while the
// webhook was down. The checks and their words are the API server's own.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/bounds.h"
#include "api/validation.h"

namespace wok::kube {

// The validator's field errors, then the admin's bounds (--max-site-*). The
// object is rebuilt from its kind, name and spec: the API server's own
// metadata (managedFields, uid...) is not the member's to be judged on.
std::vector<api::FieldError> site_spec_errors(const nlohmann::json& site,
                                              const api::SiteBounds& bounds);

// The site among `sites` that holds `host` against `site`: the older claim
// wins (creationTimestamp, then namespace/name), so that every replica and
// both sides agree without talking. nullptr when none does.
const nlohmann::json* host_holder(const nlohmann::json& site, const std::string& host,
                                  const std::vector<nlohmann::json>& sites);

// Each of the site's hosts another site holds, in the API server's words:
// {"spec.hosts[0]", "host \"www.b.example\" is already served by another
// project"}; the holder is named when it is in the site's own project.
std::vector<api::FieldError> host_held_errors(const nlohmann::json& site,
                                              const std::vector<nlohmann::json>& sites);

// An UPDATE of `site` from `old` that changes its database's version (as
// it runs: spec.database.version, else the engine's default): refused when
// older (never downgraded), when not asked by `wok db upgrade` (the
// annotation kDatabaseUpgradeAnnotation naming the new version: never
// implicit, as on wok up), and for PostgreSQL unless CloudNativePG runs it
// (`postgresql_operator`), which upgrades the data in place; the official
// image's StatefulSet cannot. Empty when allowed.
std::vector<api::FieldError> database_version_errors(const nlohmann::json& site,
                                                     const nlohmann::json& old,
                                                     const std::string& postgresql_operator);

}  // namespace wok::kube
