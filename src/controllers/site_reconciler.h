#pragma once
// The Site reconciler (level-based, controller-runtime's shape): given a
// site's key it reads the current state, fetches and builds what the spec
// asks for into a new immutable revision, switches the router to it, and
// reports in status. A failed fetch or build leaves the live revision serving.
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace wok::store {
class Store;
struct Revision;
}  // namespace wok::store

namespace wok::controllers {

class RoutePublisher;

struct ReconcileResult {
  std::string error;  // non-empty: retried with backoff
  std::chrono::milliseconds requeue_after{0};  // 0: only on the next change
};

struct PlatformConfig {
  std::string data_dir;        // sites live in data_dir/sites/<project>/<site>/<uid>
  std::string public_url_port;  // ":8080", or "" for port 80, used in status URLs
};

class SiteReconciler {
 public:
  SiteReconciler(store::Store& store, RoutePublisher& routes, PlatformConfig config);
  ReconcileResult reconcile(const std::string& ns, const std::string& name);

 private:
  struct FetchState {  // in memory: a restart simply fetches again
    int64_t generation = -1;
    int64_t refresh_seen = -1;
    std::string commit;
    std::chrono::steady_clock::time_point next_fetch;
  };
  struct Desired {
    std::string commit;
    std::string error;
    std::chrono::milliseconds requeue_after{0};
  };
  Desired desired_commit(const nlohmann::json& site, const std::string& site_dir, FetchState& state);
  // Makes a new revision live; returns "" or why it failed.
  std::string deploy(const nlohmann::json& site, const std::string& site_dir, const std::string& commit,
                     const std::string& spec_text, int64_t* number);
  // Ready is True while a revision serves; last_error nullopt leaves it as is.
  void write_status(const nlohmann::json& site, const std::optional<store::Revision>& live,
                    const std::string& reason, const std::string& message,
                    const std::optional<std::string>& last_error);
  void collect_garbage(const std::string& uid, const std::string& site_dir);

  store::Store& store_;
  RoutePublisher& routes_;
  PlatformConfig config_;
  std::mutex mu_;
  std::map<std::string, FetchState> fetch_;  // by uid
};

}  // namespace wok::controllers
