#pragma once
// The operator's validating admission webhook: AdmissionReview v1 in,
// AdmissionReview v1 out. A Site is judged as `wok up`'s API server judges
// it before storing it (the same functions, the same words): the validator,
// the admin's bounds, its project's host patterns and the hosts other sites
// hold. A Project gets the validator. Served over TLS by kube/https_server.h.
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "api/bounds.h"
#include "http/message.h"
#include "kube/clone_grant.h"

namespace wok::kube {

// What the webhook reads: the operator's informer caches in `wok operator`,
// fixed objects in tests. Never the loop: the webhook answers on standby
// replicas too.
struct AdmissionView {
  std::function<bool()> synced;  // every cache has listed once
  std::function<std::shared_ptr<const nlohmann::json>(const std::string& name)> project;
  // The Sites that list any of these hosts (the others cannot hold them).
  std::function<std::vector<nlohmann::json>(const std::vector<std::string>& hosts)> sites_claiming;
  api::SiteBounds bounds{.command = "wok operator"};
  // A clone from another project: the writer's right asked of the API
  // server, the grant recorded in grant_ns (kube/clone_grant.h). Unset:
  // such a clone is refused.
  ApiCall api;
  std::string grant_ns;
  // The operator's --postgresql-operator: CloudNativePG upgrades a
  // database's major version, a StatefulSet cannot (database_version_errors).
  std::string postgresql_operator;
};

// The decision on one AdmissionReview request (request.kind Site or
// Project): the AdmissionReview to answer. An UPDATE that leaves the spec as
// it was is allowed, so that metadata (labels, finalizers) of a site stored
// before a bound was lowered can still change.
nlohmann::json review_site(const nlohmann::json& request, const AdmissionView& view);
nlohmann::json review_project(const nlohmann::json& request);

// The HTTP side: POST /validate/sites and /validate/projects with an
// application/json AdmissionReview; 405 for another method, 415 for another
// content type, 400 (plain text saying what is wrong) for a body that is not
// an AdmissionReview v1 with a request.uid, 404 for another path.
http::Handler admission_handler(AdmissionView view);

// Nesting deeper than this is refused before parsing (the AdmissionReview
// of a Site is about 10 deep; nothing legitimate comes near it).
inline constexpr int kMaxJsonDepth = 64;

}  // namespace wok::kube
