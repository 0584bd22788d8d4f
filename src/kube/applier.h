#pragma once
// Makes the cluster hold a set of rendered objects: server-side apply of
// those whose live copy differs (so a steady state writes nothing), and
// deletion of owned objects the set no longer contains (pruning).
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "kube/client.h"
#include "kube/informer.h"

namespace wok::kube {

class Applier {
 public:
  // caches: the informers of the owned kinds, keyed "apiVersion/Kind".
  Applier(KubeClient& client, std::map<std::string, Informer*> caches);

  // Applies each object (PATCH application/apply-patch+yaml, fieldManager
  // wok, force) unless its cached live copy already contains it.
  bool apply(const std::vector<nlohmann::json>& desired, std::string* error);
  // Deletes every cached object for which `mine` is true and that is not in
  // `desired`. Namespaces are never deleted: they hold people's data.
  bool prune(const std::vector<nlohmann::json>& desired,
             const std::function<bool(const nlohmann::json&)>& mine, std::string* error);
  // The cached owned objects for which `mine` is true.
  std::vector<nlohmann::json> owned(const std::function<bool(const nlohmann::json&)>& mine) const;

  uint64_t applies() const { return applies_; }
  uint64_t deletes() const { return deletes_; }

 private:
  KubeClient& client_;
  std::map<std::string, Informer*> caches_;
  std::atomic<uint64_t> applies_{0}, deletes_{0};
};

}  // namespace wok::kube
