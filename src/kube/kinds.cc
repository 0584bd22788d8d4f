#include "kube/kinds.h"

#include <nlohmann/json.hpp>

namespace wok::kube {
namespace {

const std::vector<KindInfo>& table() {
  static const std::vector<KindInfo> kinds = {
      {"v1", "Namespace", "namespaces", false},
      {"v1", "ResourceQuota", "resourcequotas", true},
      {"v1", "LimitRange", "limitranges", true},
      {"v1", "Service", "services", true},
      {"v1", "PersistentVolumeClaim", "persistentvolumeclaims", true},
      {"v1", "ConfigMap", "configmaps", true},
      {"apps/v1", "Deployment", "deployments", true},
      {"apps/v1", "StatefulSet", "statefulsets", true},                // spec.database
      {"apps/v1", "ControllerRevision", "controllerrevisions", true},  // a site's revisions
      {"networking.k8s.io/v1", "Ingress", "ingresses", true},
      {"networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true},
      {"rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true},
      {"autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true},
      {"batch/v1", "CronJob", "cronjobs", true},
      {"route.openshift.io/v1", "Route", "routes", true},
      {"coordination.k8s.io/v1", "Lease", "leases", true},
      // spec.database through the operator the platform names.
      {"postgresql.cnpg.io/v1", "Cluster", "clusters", true},
      {"k8s.mariadb.com/v1alpha1", "MariaDB", "mariadbs", true},
      {"wok.dev/v1alpha1", "Project", "projects", false},
      {"wok.dev/v1alpha1", "Site", "sites", true},
  };
  return kinds;
}

}  // namespace

std::string KindInfo::group_path() const {
  return api_version.find('/') == std::string::npos ? "/api/" + api_version
                                                    : "/apis/" + api_version;
}

std::string KindInfo::collection_path(const std::string& ns) const {
  if (namespaced && !ns.empty()) return group_path() + "/namespaces/" + ns + "/" + plural;
  return group_path() + "/" + plural;
}

std::string KindInfo::object_path(const std::string& ns, const std::string& name) const {
  return collection_path(namespaced ? ns : "") + "/" + name;
}

const KindInfo* find_kind(const std::string& api_version, const std::string& kind) {
  for (const auto& k : table()) {
    if (k.api_version == api_version && k.kind == kind) return &k;
  }
  return nullptr;
}

std::vector<KindInfo> owned_kinds(bool openshift, bool cloudnative_pg, bool mariadb_operator) {
  std::vector<KindInfo> out;
  for (const auto& k : table()) {
    if (k.kind == "Lease" || k.api_version == "wok.dev/v1alpha1") continue;
    if (k.kind == (openshift ? "Ingress" : "Route")) continue;
    // A cluster without the operator has no such kind to watch.
    if ((k.kind == "Cluster" && !cloudnative_pg) || (k.kind == "MariaDB" && !mariadb_operator))
      continue;
    out.push_back(k);
  }
  return out;
}

const KindInfo& project_kind() { return *find_kind("wok.dev/v1alpha1", "Project"); }
const KindInfo& site_kind() { return *find_kind("wok.dev/v1alpha1", "Site"); }
const KindInfo& lease_kind() { return *find_kind("coordination.k8s.io/v1", "Lease"); }

std::string object_key(const nlohmann::json& object) {
  const auto& meta = object.at("metadata");
  return object.value("apiVersion", "") + "/" + object.value("kind", "") + "/" +
         meta.value("namespace", "") + "/" + meta.value("name", "");
}

}  // namespace wok::kube
