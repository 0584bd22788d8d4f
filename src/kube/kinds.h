#pragma once
// The REST paths of the kinds the operator reads and writes. A fixed table
// rather than API discovery: the render layer produces a known set of kinds,
// and an unknown one is a bug worth a clear error.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace wok::kube {

struct KindInfo {
  std::string api_version;  // "apps/v1", "v1"
  std::string kind;         // "Deployment"
  std::string plural;       // "deployments"
  bool namespaced = true;

  // "/apis/apps/v1" or "/api/v1".
  std::string group_path() const;
  // The collection, in one namespace or (ns empty) across all.
  std::string collection_path(const std::string& ns = "") const;
  std::string object_path(const std::string& ns, const std::string& name) const;
};

// nullptr when the operator does not know the kind.
const KindInfo* find_kind(const std::string& api_version, const std::string& kind);
// The kinds rendered for projects and sites, which the operator watches and
// prunes. Route only with openshift, Ingress only without; CloudNativePG's
// Cluster and mariadb-operator's MariaDB only when the platform uses them.
std::vector<KindInfo> owned_kinds(bool openshift, bool cloudnative_pg = false,
                                  bool mariadb_operator = false);

const KindInfo& project_kind();
const KindInfo& site_kind();
const KindInfo& lease_kind();

// "apps/v1/Deployment/ns/name": identifies an object across kinds.
std::string object_key(const nlohmann::json& object);

}  // namespace wok::kube
