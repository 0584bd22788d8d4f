#pragma once
// A small Kubernetes REST client over libcurl: bearer token or client
// certificate, the cluster CA, plain requests and streamed watches. Safe to
// use from several threads at once (each call takes its own curl handle from
// a pool, so connections are reused).
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kube/credentials.h"

namespace wok::kube {

struct Reply {
  int status = 0;     // HTTP status; 0 when the request did not complete
  std::string body;   // response body (a Status object on API errors)
  std::string error;  // transport error when status == 0

  bool ok() const { return status >= 200 && status < 300; }
  // "409 Conflict: the object has been modified" / "connection refused".
  std::string describe() const;
};

// A connection of its own to the API server (the server, CA and client
// certificate of requests), for a protocol the caller speaks after an
// upgrade (pods/exec: kube/pod_exec.h). Not thread-safe.
class KubeConnection {
 public:
  explicit KubeConnection(void* handle) : handle_(handle) {}
  ~KubeConnection();
  KubeConnection(const KubeConnection&) = delete;
  KubeConnection& operator=(const KubeConnection&) = delete;
  // What can be sent without waiting, at most data.size(); 0 when the
  // socket is full; -1 and *error when the connection failed.
  long send_some(std::string_view data, std::string* error);
  // Appends what can be read without waiting; 0 when nothing is there, -1
  // at the end of the stream (*error empty) or on failure (*error set).
  long recv_some(std::string* out, std::string* error);
  // Waits up to timeout_ms for the socket to be readable (or writable too,
  // `want_write`); false on timeout.
  bool wait(bool want_write, int timeout_ms);

 private:
  void* handle_;  // CURL*, CONNECT_ONLY
};

class KubeClient {
 public:
  explicit KubeClient(Credentials credentials, std::string user_agent = "wok-operator");
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // path is absolute ("/api/v1/namespaces/x/services/y?..."); content_type is
  // sent only with a body.
  Reply request(const std::string& method, const std::string& path, const std::string& body = "",
                const std::string& content_type = "application/json");

  // GETs a watch stream and calls on_line for every complete line. Returns
  // when the server ends the stream, the connection fails, on_line returns
  // false, or *stop becomes true (checked about once a second).
  Reply stream(const std::string& path, const std::function<bool(std::string_view)>& on_line,
               const std::atomic<bool>* stop);

  // A new connection (HTTP/1.1, no ALPN) for an upgrade; nullptr and *error
  // when it cannot be made.
  std::unique_ptr<KubeConnection> connect(std::string* error);
  // The headers every request carries: "Host: ...", "Authorization: Bearer
  // ..." (with a token), "User-Agent: ...", each ending in CRLF.
  std::string upgrade_headers();

  const std::string& server() const { return credentials_.server; }

 private:
  void* take_handle();
  void give_back(void* handle);
  void configure(void* handle, const std::string& url, std::vector<std::string>* headers);
  std::string token();

  Credentials credentials_;
  std::string user_agent_;
  std::mutex mu_;
  std::vector<void*> pool_;  // CURL* kept to reuse connections
  std::string token_;
  int64_t token_read_at_ = 0;  // steady seconds
};

}  // namespace wok::kube
