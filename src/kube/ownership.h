#pragma once
// What marks an object as wok's: the labels every applied object carries,
// the ownerReference to the Site or Project it was rendered from, and the
// test of whether a live object already matches what was rendered.
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace wok::kube {

inline constexpr char kManagedByLabel[] = "app.kubernetes.io/managed-by";
inline constexpr char kSiteLabel[] = "wok.dev/site";
inline constexpr char kProjectLabel[] = "wok.dev/project";
inline constexpr char kFieldManager[] = "wok";

// The object an applied object belongs to: a Site (namespaced) or a Project
// (cluster-scoped).
struct Owner {
  std::string api_version, kind, name, uid;
  std::string ns;  // empty for a cluster-scoped owner
};

// Adds app.kubernetes.io/managed-by: wok and `label: value` (wok.dev/site or
// wok.dev/project), and an ownerReference where Kubernetes allows one: a
// namespaced owner only for objects in its namespace, never on a Namespace
// (deleting a Project must not delete its namespace and the data in it).
void stamp(nlohmann::json& object, const Owner& owner, const std::string& label,
           const std::string& value);

// True when every field of `desired` is present and equal in `live`
// (objects compared key by key, arrays element by element, same length).
// Fields the server adds (defaults, status, metadata) are ignored, so an
// unchanged object is not applied again.
bool contains(const nlohmann::json& live, const nlohmann::json& desired);

}  // namespace wok::kube
