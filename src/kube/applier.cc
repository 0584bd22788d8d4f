#include "kube/applier.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>

#include "kube/kinds.h"
#include "kube/ownership.h"

namespace wok::kube {

using nlohmann::json;

Applier::Applier(KubeClient& client, std::map<std::string, Informer*> caches)
    : client_(client), caches_(std::move(caches)) {}

bool Applier::apply(const std::vector<json>& desired, std::string* error) {
  for (const auto& object : desired) {
    std::string api_version = object.value("apiVersion", ""), kind = object.value("kind", "");
    const KindInfo* info = find_kind(api_version, kind);
    if (!info) {
      *error = "the render layer produced a " + api_version + " " + kind +
               ", which the operator does not know how to apply";
      return false;
    }
    const json& meta = object["metadata"];
    std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
    auto cache = caches_.find(api_version + "/" + kind);
    if (cache != caches_.end()) {
      ObjectPtr live = cache->second->get(ns, name);
      if (live && contains(*live, object)) continue;
    }
    // JSON is YAML, so the apply body needs no conversion.
    std::string path =
        info->object_path(ns, name) + "?fieldManager=" + kFieldManager + "&force=true";
    Reply reply = client_.request("PATCH", path, object.dump(), "application/apply-patch+yaml");
    if (!reply.ok()) {
      *error =
          "apply " + kind + " " + (ns.empty() ? "" : ns + "/") + name + ": " + reply.describe();
      return false;
    }
    ++applies_;
    spdlog::info("applied {} {}{}", kind, ns.empty() ? "" : ns + "/", name);
    auto written = json::parse(reply.body, nullptr, false);
    if (cache != caches_.end() && written.is_object() && written.contains("metadata")) {
      cache->second->remember(written);
    }
  }
  return true;
}

bool Applier::prune(const std::vector<json>& desired, const std::function<bool(const json&)>& mine,
                    std::string* error) {
  std::set<std::string> keep;
  for (const auto& object : desired) keep.insert(object_key(object));
  for (const auto& [key, cache] : caches_) {
    if (cache->kind().kind == "Namespace") continue;
    for (const auto& live : cache->list()) {
      if (!mine(*live) || keep.count(object_key(*live))) continue;
      const json& meta = (*live)["metadata"];
      if (meta.contains("deletionTimestamp")) continue;  // already going
      std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
      json options = {
          {"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"propagationPolicy", "Background"}};
      Reply reply = client_.request("DELETE", cache->kind().object_path(ns, name), options.dump());
      if (!reply.ok() && reply.status != 404) {
        *error = "delete " + cache->kind().kind + " " + ns + "/" + name + ": " + reply.describe();
        return false;
      }
      ++deletes_;
      cache->forget(*live);
      spdlog::info("pruned {} {}/{}", cache->kind().kind, ns, name);
    }
  }
  return true;
}

std::vector<json> Applier::owned(const std::function<bool(const json&)>& mine) const {
  std::vector<json> out;
  for (const auto& [key, cache] : caches_) {
    for (const auto& live : cache->list()) {
      if (mine(*live)) out.push_back(*live);
    }
  }
  return out;
}

}  // namespace wok::kube
