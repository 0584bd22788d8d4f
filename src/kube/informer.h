#pragma once
// Keeps a local copy of one collection (a kind, optionally filtered by a
// label selector) in step with the cluster: list, then watch from the list's
// resourceVersion with bookmarks; list again on 410 Gone; on a lost
// connection back off and resume the watch where it stopped. Calls the
// handler for every change, from its own thread.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/kinds.h"

namespace wok::kube {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

class Informer {
 public:
  // old is null for an addition, now is null for a deletion.
  using Handler = std::function<void(const ObjectPtr& old, const ObjectPtr& now)>;

  Informer(KubeClient& client, KindInfo kind, std::string label_selector, Handler handler);
  ~Informer();
  void start();
  // Asks the thread to stop without waiting (stopping many informers at once).
  void request_stop();
  void stop();

  bool synced() const { return synced_; }
  const KindInfo& kind() const { return kind_; }
  std::vector<ObjectPtr> list() const;
  ObjectPtr get(const std::string& ns, const std::string& name) const;
  // Records an object the operator just wrote, so that it does not act on
  // the older copy before the watch delivers the new one.
  void remember(const nlohmann::json& object);
  // The same for an object the operator just deleted.
  void forget(const nlohmann::json& object);

  uint64_t relists() const { return relists_; }
  uint64_t watch_restarts() const { return watch_restarts_; }

 private:
  void run();
  bool relist(std::string* error);
  // Returns false to end the watch (410, malformed event).
  bool on_event(std::string_view line, bool* gone);
  void store(const nlohmann::json& object, bool deleted);
  void sleep_for(std::chrono::milliseconds delay);
  std::string query(bool watch) const;

  KubeClient& client_;
  KindInfo kind_;
  std::string selector_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> synced_{false};
  std::atomic<uint64_t> relists_{0}, watch_restarts_{0};
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, ObjectPtr> objects_;  // "ns/name"
  std::string resource_version_;
};

}  // namespace wok::kube
