#include "cmd/client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "http/message.h"

namespace wok::cmd {
namespace {

constexpr long kConnectTimeoutSeconds = 10;
constexpr long kRequestTimeoutSeconds = 120;

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

ApiClient::ApiClient(std::string server, std::string token)
    : server_(std::move(server)), token_(std::move(token)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpResponse ApiClient::request(std::string_view method, std::string_view path,
                                const nlohmann::json* body) const {
  if (!body) return perform(method, path, nullptr, "", kRequestTimeoutSeconds, {});
  std::string payload = body->dump();
  return perform(method, path, &payload, "application/json", kRequestTimeoutSeconds, {});
}

HttpResponse ApiClient::request_text(std::string_view method, std::string_view path,
                                     const std::string& body, std::string_view content_type,
                                     long timeout_seconds, const BodySink& sink) const {
  return perform(method, path, method == "GET" ? nullptr : &body, content_type, timeout_seconds,
                 sink);
}

namespace {

// A 2xx body goes to the sink as it arrives; anything else is kept (the
// error's Status object).
struct Receiver {
  CURL* curl;
  HttpResponse* response;
  const ApiClient::BodySink* sink;
  bool sink_failed = false;
};

size_t receive(char* data, size_t size, size_t count, void* user) {
  auto* r = static_cast<Receiver*>(user);
  long status = 0;
  curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
  if (r->sink && *r->sink && status / 100 == 2) {
    if (!(*r->sink)(std::string_view(data, size * count))) {
      r->sink_failed = true;
      return 0;
    }
    return size * count;
  }
  r->response->body.append(data, size * count);
  return size * count;
}

}  // namespace

HttpResponse ApiClient::perform(std::string_view method, std::string_view path,
                                const std::string* payload, std::string_view content_type,
                                long timeout_seconds, const BodySink& sink) const {
  HttpResponse response;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    response.error = "cannot initialise libcurl";
    return response;
  }
  std::string url = server_ + std::string(path);
  std::string method_text(method);
  char error_buffer[CURL_ERROR_SIZE] = {};

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  std::string type = "Content-Type: " + std::string(content_type);
  if (payload) headers = curl_slist_append(headers, type.c_str());
  std::string authorization = "Authorization: Bearer " + token_;
  if (!token_.empty()) headers = curl_slist_append(headers, authorization.c_str());
  std::unique_ptr<curl_slist, SlistDeleter> header_list(headers);

  CURL* h = curl.get();
  Receiver receiver{h, &response, &sink};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_seconds);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "wok-cli");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, receive);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &receiver);
  if (method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (payload) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload->c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload->size()));
  }

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    response.error = receiver.sink_failed ? "cannot write the output"
                     : error_buffer[0]    ? error_buffer
                                          : curl_easy_strerror(rc);
    response.bad_url = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL;
    response.body.clear();
    return response;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

bool parse_json_body(const std::string& body, nlohmann::json* out) {
  *out = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  return !out->is_discarded();
}

std::string status_message(const std::string& body) {
  nlohmann::json status;
  if (!parse_json_body(body, &status) || !status.is_object()) return "";
  auto it = status.find("message");
  if (it == status.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string failure_message(const HttpResponse& response, const std::string& server,
                            std::string_view not_found) {
  if (response.bad_url) {
    return "invalid server URL \"" + server + "\" (" + response.error +
           "): check --server / WOK_SERVER";
  }
  if (!response.error.empty()) {
    return "cannot reach the wok API at " + server + " (" + response.error +
           "): is `wok up` running?";
  }
  if (response.status == 401) {
    return "the server refused the token (401 Unauthorized): check --token / WOK_TOKEN";
  }
  if (response.status == 404 && !not_found.empty()) return std::string(not_found);
  std::string message = status_message(response.body);
  if (!message.empty()) return message;
  std::string text = "the server answered " + std::to_string(response.status);
  std::string reason(http::reason_phrase(response.status));
  if (!reason.empty()) text += " " + reason;
  std::string body = response.body.substr(0, 200);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  if (!body.empty()) text += ": " + body;
  return text;
}

}  // namespace wok::cmd
