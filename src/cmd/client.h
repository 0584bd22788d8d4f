#pragma once
// A small blocking HTTP client for the wok API (libcurl easy interface).
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace wok::cmd {

struct HttpResponse {
  int status = 0;  // 0 when no HTTP answer came back
  std::string body;
  std::string error;  // transport failure (connection refused, timeout, bad URL)
  bool bad_url = false;
};

class ApiClient {
 public:
  // `server` is a base URL such as "http://127.0.0.1:7070"; an empty token
  // sends no Authorization header.
  ApiClient(std::string server, std::string token);

  // `path` starts with '/'. A body is sent as application/json.
  HttpResponse request(std::string_view method, std::string_view path,
                       const nlohmann::json* body = nullptr) const;

  // A body of `content_type` (nothing for GET); a 2xx answer's body goes to
  // `sink` as it arrives when one is given (false from it stops the
  // transfer), else into the response like any other.
  using BodySink = std::function<bool(std::string_view)>;
  HttpResponse request_text(std::string_view method, std::string_view path, const std::string& body,
                            std::string_view content_type, long timeout_seconds,
                            const BodySink& sink = {}) const;

  const std::string& server() const { return server_; }

 private:
  HttpResponse perform(std::string_view method, std::string_view path, const std::string* payload,
                       std::string_view content_type, long timeout_seconds,
                       const BodySink& sink) const;
  std::string server_;
  std::string token_;
};

// Parses a response body as JSON; false if it is not JSON.
bool parse_json_body(const std::string& body, nlohmann::json* out);

// The text shown after "error: " for a failed request, saying what to do.
// `not_found` replaces the server's message on 404 when not empty.
std::string failure_message(const HttpResponse& response, const std::string& server,
                            std::string_view not_found = {});

// The `message` of a Kubernetes-style Status body, or "" if there is none.
std::string status_message(const std::string& body);

}  // namespace wok::cmd
