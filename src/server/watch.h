#pragma once
// Watches of the API (docs/api.md, "Watch"): `GET .../sites?watch=1`
// streams the changes of the objects a caller may see as newline-delimited
// JSON, with Kubernetes' semantics: {"type": "ADDED" | "MODIFIED" |
// "DELETED" | "BOOKMARK" | "ERROR", "object": {...}}. Without a
// resourceVersion the current objects come first, as ADDED; from one, every
// change after it; from one older than the store keeps, 410 Gone (list
// again). One thread reads the store's event feed for every watcher and
// posts each its lines to the loop of its connection.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/exchange.h"
#include "server/auth.h"
#include "server/response_stream.h"

namespace wok::store {
class Store;
struct Event;
}  // namespace wok::store

namespace wok::server {

struct WatchSpec {
  std::string kind;      // "Site", "Project" or "Event"
  std::string ns;        // Site: "" for every project the caller may see
  std::string name;      // only this object (fieldSelector=metadata.name=NAME); "" every one
  std::string involved;  // Event: only those about this site (involvedObject.name=NAME)
  // Changes after this version; 0: the current objects first, as ADDED.
  int64_t from = 0;
  bool bookmarks = false;  // allowWatchBookmarks: BOOKMARK every 10 s when the version moved
  int timeout_seconds = 1800;
};

// The watch that a request asks for, or why it is refused: "" and *spec
// set, or a message for a 400. `path_parts` are the path's segments after
// /apis/wok.dev/v1alpha1; `query` the request's query string.
std::string parse_watch(const std::vector<std::string>& path_parts, std::string_view query,
                        WatchSpec* spec);
// Whether a GET asks for a watch (watch=1 or watch=true in its query).
bool wants_watch(std::string_view query);

class WatchHub {
 public:
  explicit WatchHub(store::Store& store,
                    std::chrono::milliseconds bookmark_every = std::chrono::seconds(10));
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // On the exchange's loop, with the caller already allowed to read what
  // `spec` names: answers 410 when `spec.from` is older than the events
  // kept, else starts the stream.
  // `token_hash`: the caller's token, looked up again while the stream is
  // open (revoked, the stream ends with a 401). 429 past the per-user bound.
  void add(http::Exchange exchange, const Caller& caller, const std::string& token_hash,
           const WatchSpec& spec);
  // Ends every stream (finished cleanly: clients watch again elsewhere).
  void stop();
  bool stopped();
  size_t watchers();

 private:
  struct Watcher;
  struct Change;
  void run();
  void deliver(const std::vector<std::shared_ptr<Watcher>>& watchers,
               const std::vector<store::Event>& events);
  // Whether `caller` may see project `ns` now (`project` cached per pass).
  bool may_view(const Caller& caller, const nlohmann::json* project);

  store::Store& store_;
  const std::chrono::milliseconds bookmark_every_;
  std::mutex mu_;
  std::condition_variable added_;
  std::vector<std::shared_ptr<Watcher>> watchers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wok::server
