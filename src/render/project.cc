// render_project: the namespace a project is, its quota and defaults, its
// members' RoleBindings, and the NetworkPolicy that isolates it.
#include "render/parts.h"

namespace wok::render {
namespace {

using detail::object_head;
using detail::string_at;
using nlohmann::json;

json project_labels(const std::string& name) {
  return {{"app.kubernetes.io/managed-by", "wok"}, {"wok.dev/project", name}};
}

// The host patterns ride on the Namespace so that the admission policy (CEL)
// can check a Site's hosts without reading the cluster-scoped Project.
std::string joined_hosts(const json& spec) {
  std::string out;
  if (!spec.contains("hosts") || !spec["hosts"].is_array()) return out;
  for (const json& h : spec["hosts"]) {
    if (!h.is_string()) continue;
    if (!out.empty()) out += ",";
    out += h.get<std::string>();
  }
  return out;
}

json resource_quota(const std::string& name, const json& quota) {
  json hard = json::object();
  if (quota.contains("cpu") && quota["cpu"].is_string()) hard["limits.cpu"] = quota["cpu"];
  if (quota.contains("memory") && quota["memory"].is_string())
    hard["limits.memory"] = quota["memory"];
  if (quota.contains("storage") && quota["storage"].is_string()) {
    hard["requests.storage"] = quota["storage"];
  }
  if (quota.contains("sites") && quota["sites"].is_number_integer()) {
    hard["count/sites.wok.dev"] = std::to_string(quota["sites"].get<long long>());
  }
  if (hard.empty()) return nullptr;
  json q = object_head("v1", "ResourceQuota", "wok-quota", name, project_labels(name));
  q["spec"] = {{"hard", hard}};
  return q;
}

// Defaults for containers that say nothing, so that a quota on limits
// admits them.
json limit_range(const std::string& name) {
  json l = object_head("v1", "LimitRange", "wok-defaults", name, project_labels(name));
  l["spec"] = {{"limits",
                {{{"type", "Container"},
                  {"default", {{"cpu", "500m"}, {"memory", "256Mi"}}},
                  {"defaultRequest", {{"cpu", "50m"}, {"memory", "64Mi"}}}}}}};
  return l;
}

std::vector<json> role_bindings(const std::string& name, const json& spec) {
  std::vector<json> out;
  if (!spec.contains("members") || !spec["members"].is_array()) return out;
  for (const json& m : spec["members"]) {
    std::string user = string_at(m, "user");
    std::string role = string_at(m, "role");
    if (user.empty() || role.empty()) continue;
    json b = object_head("rbac.authorization.k8s.io/v1", "RoleBinding", "wok-" + user, name,
                         project_labels(name));
    b["roleRef"] = {{"apiGroup", "rbac.authorization.k8s.io"},
                    {"kind", "ClusterRole"},
                    {"name", "wok-" + role}};
    b["subjects"] = {{{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "User"}, {"name", user}}};
    out.push_back(b);
  }
  return out;
}

// Pods of this project accept traffic from their own namespace, from the
// ingress controller, and from namespaces that are not wok projects
// (monitoring, kube-system); never from another project.
json network_policy(const std::string& name, const PlatformSettings& settings) {
  json n = object_head("networking.k8s.io/v1", "NetworkPolicy", "wok-isolate-project", name,
                       project_labels(name));
  json from_ingress = {
      {"namespaceSelector",
       {{"matchLabels", {{"kubernetes.io/metadata.name", settings.ingress_namespace}}}}}};
  json from_non_projects = {
      {"namespaceSelector",
       {{"matchExpressions", {{{"key", "wok.dev/project"}, {"operator", "DoesNotExist"}}}}}}};
  // A site's database pods have a policy of their own (render/database.cc):
  // of the project, only that site's pods reach them.
  n["spec"] = {
      {"podSelector",
       {{"matchExpressions", {{{"key", "wok.dev/database"}, {"operator", "DoesNotExist"}}}}}},
      {"policyTypes", {"Ingress"}},
      {"ingress",
       {{{"from", {{{"podSelector", json::object()}}, from_ingress, from_non_projects}}}}}};
  return n;
}

// What the project's pods may reach, as the embedded site networks allow
// it: their own namespace, the cluster's DNS, and (spec.network.egress, on
// by default) public addresses only: not the nodes, private networks,
// link-local (cloud metadata) or loopback. Site pods fetch their sources
// themselves, so with egress off the public internet stays open to them
// on the cluster (docs/kubernetes.md says so).
json egress_policy(const std::string& name, const PlatformSettings& settings) {
  json n = object_head("networking.k8s.io/v1", "NetworkPolicy", "wok-egress", name,
                       project_labels(name));
  json dns_ports = {{{"protocol", "UDP"}, {"port", 53}}, {{"protocol", "TCP"}, {"port", 53}}};
  json public_block = {{"cidr", "0.0.0.0/0"}};
  if (!settings.allow_private_sources) {
    public_block["except"] = {"10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8",
                              "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"};
  }
  n["spec"] = {{"podSelector", json::object()},
               {"policyTypes", {"Egress"}},
               {"egress",
                {{{"to", {{{"podSelector", json::object()}}}}},
                 {{"to", {{{"namespaceSelector", json::object()}}}}, {"ports", dns_ports}},
                 {{"to", {{{"ipBlock", public_block}}}}}}}};
  return n;
}

}  // namespace

std::vector<json> render_project(const json& project, const PlatformSettings& settings) {
  std::vector<json> out;
  if (!project.is_object()) return out;
  std::string name = string_at(project.value("metadata", json::object()), "name");
  json spec = project.value("spec", json::object());
  if (!spec.is_object()) spec = json::object();
  json ns = object_head("v1", "Namespace", name, "", project_labels(name));
  ns["metadata"]["annotations"] = {{"wok.dev/hosts", joined_hosts(spec)}};
  out.push_back(ns);
  if (json q = resource_quota(name, spec.value("quota", json::object())); !q.is_null()) {
    out.push_back(q);
  }
  out.push_back(limit_range(name));
  for (json& b : role_bindings(name, spec)) out.push_back(std::move(b));
  out.push_back(network_policy(name, settings));
  out.push_back(egress_policy(name, settings));
  return out;
}

}  // namespace wok::render
