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
