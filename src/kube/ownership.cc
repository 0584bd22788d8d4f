#include "kube/ownership.h"

#include <nlohmann/json.hpp>

namespace wok::kube {

using nlohmann::json;

void stamp(json& object, const Owner& owner, const std::string& label, const std::string& value) {
  json& meta = object["metadata"];
  json& labels = meta["labels"];
  if (!labels.is_object()) labels = json::object();
  labels[kManagedByLabel] = "wok";
  labels[label] = value;
  if (object.value("kind", "") == "Namespace") return;
  std::string ns = meta.value("namespace", "");
  if (!owner.ns.empty() && owner.ns != ns) return;
  if (owner.uid.empty()) return;  // an ownerReference without uid is refused by the server
  json ref = {{"apiVersion", owner.api_version},
              {"kind", owner.kind},
              {"name", owner.name},
              {"uid", owner.uid},
              {"controller", true},
              {"blockOwnerDeletion", true}};
  json& refs = meta["ownerReferences"];
  if (!refs.is_array()) refs = json::array();
  for (auto& r : refs) {
    if (r.value("uid", "") == owner.uid) {
      r = ref;
      return;
    }
  }
  refs.push_back(ref);
}

bool contains(const json& live, const json& desired) {
  if (desired.is_object()) {
    if (!live.is_object()) return false;
    for (auto it = desired.begin(); it != desired.end(); ++it) {
      auto found = live.find(it.key());
      if (found == live.end()) {
        // An empty value the server drops is still "the same".
        if (it->is_null() || (it->is_object() && it->empty()) || (it->is_array() && it->empty())) {
          continue;
        }
        return false;
      }
      if (!contains(*found, *it)) return false;
    }
    return true;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return false;
    for (size_t i = 0; i < desired.size(); ++i) {
      if (!contains(live[i], desired[i])) return false;
    }
    return true;
  }
  return live == desired;
}

}  // namespace wok::kube
