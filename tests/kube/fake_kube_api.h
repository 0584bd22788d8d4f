#pragma once
// A scripted Kubernetes API server on 127.0.0.1 for the operator's tests:
// list, watch (chunked, with bookmarks), get, create, update (409 on a stale
// resourceVersion), server-side apply (approximated by a JSON merge),
// status merge-patch and delete, for any kind. Faults on demand: an error
// status for the next matching requests, slow responses, dropped watches,
// and compaction (watches from older resourceVersions get 410 Gone).
// Thread per connection: watches block, which the project's synchronous
// http::Server handlers could not do.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace wok::kube::testing {

using nlohmann::json;

class FakeKubeApi {
 public:
  FakeKubeApi();
  ~FakeKubeApi();
  bool start(std::string* error);
  void stop();
  std::string url() const;

  // The test's own writes (as a user or a kube controller would make them).
  // Paths are REST object paths ("/apis/wok.dev/v1alpha1/namespaces/a/sites/www").
  json create(const std::string& collection_path, json object);
  json update(const std::string& object_path, json object);  // replaces spec/labels, keeps status
  void set_status(const std::string& object_path, const json& status);
  bool remove(const std::string& object_path);
  std::optional<json> get(const std::string& object_path) const;
  // Every object of a collection ("/apis/apps/v1/deployments"), all namespaces.
  std::vector<json> list(const std::string& collection_path) const;

  // Faults.
  void fail_next(const std::string& method, const std::string& path_contains, int status,
                 int times = 1);
  void set_delay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  void drop_watches();
  // Forgets history and drops every watch: they resume from a
  // resourceVersion that is now too old and get 410 Gone.
  void compact();

  // Requests seen. Writes are POST/PUT/PATCH/DELETE except on Leases.
  int writes(const std::string& user_agent_contains = "") const;
  int count(const std::string& method, const std::string& path_contains) const;
  int open_watches() const { return open_watches_; }

  // pods/NAME/exec: a WebSocket upgrade (channel protocols v5 and v4, the
  // first the client offers of `protocols`) that runs the command on this
  // host as the pod's container would, after `prefix` (e.g. {"ip", "netns",
  // "exec", "NS"}: the pod's network), streaming stdin, stdout and stderr,
  // then its exit as a Status. The pod must exist. Each command's argv is
  // kept (execs()).
  void set_exec(std::vector<std::string> prefix,
                std::vector<std::string> protocols = {"v5.channel.k8s.io", "v4.channel.k8s.io"});
  std::vector<std::vector<std::string>> execs() const;

 private:
  struct Request {
    std::string method, path, query, body, user_agent, content_type;
    std::map<std::string, std::string> headers;  // names lowercased
  };
  struct Response {
    int status = 200;
    std::string body;
  };
  struct Target;  // a parsed REST path
  struct Event {
    int64_t rv;
    std::string collection;  // "apps/v1/deployments"
    std::string type;
    json object;
  };

  void accept_loop();
  void serve(int fd);
  bool read_request(int fd, std::string* buffer, Request* request);
  Response handle(const Request& request, const Target& target);
  void stream_watch(int fd, const Request& request, const Target& target);
  void serve_exec(int fd, const Request& request, const Target& target, std::string buffer);
  // Store operations, with mu_ held.
  json store_put(const std::string& collection, json object, const char* type);
  void store_delete(const std::string& collection, const std::string& key);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<int> open_watches_{0};

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::thread> connections_;
  std::vector<int> fds_;        // open connections, shut down by stop()
  std::vector<int> watch_fds_;  // open watch connections, for drop_watches()
  int64_t rv_ = 100;
  int64_t compacted_rv_ = 0;
  int64_t uid_ = 0;
  std::map<std::string, std::map<std::string, json>> objects_;  // collection -> ns/name -> object
  std::vector<Event> events_;
  struct Failure {
    std::string method, path;
    int status, times;
  };
  std::vector<Failure> failures_;
  std::vector<Request> log_;
  std::vector<std::string> exec_prefix_, exec_protocols_;
  std::vector<std::vector<std::string>> execs_;
};

}  // namespace wok::kube::testing
