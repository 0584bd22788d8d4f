#include "kube/client.h"

#include <curl/curl.h>
#include <poll.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

namespace wok::kube {
namespace {

constexpr long kRequestTimeoutMs = 30'000;
constexpr long kConnectTimeoutMs = 10'000;
constexpr int64_t kTokenRereadSeconds = 60;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

int64_t steady_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t append_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct StreamState {
  CURL* handle;
  const std::function<bool(std::string_view)>* on_line;
  const std::atomic<bool>* stop;
  std::string pending;  // an incomplete line, or the body of an error reply
  bool stopped_by_reader = false;
};

size_t stream_body(char* data, size_t size, size_t n, void* user) {
  auto* state = static_cast<StreamState*>(user);
  long status = 0;
  curl_easy_getinfo(state->handle, CURLINFO_RESPONSE_CODE, &status);
  state->pending.append(data, size * n);
  if (status < 200 || status >= 300) return size * n;  // keep the error body whole
  size_t start = 0, end;
  while ((end = state->pending.find('\n', start)) != std::string::npos) {
    std::string_view line(state->pending.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    if (!(*state->on_line)(line)) {
      state->stopped_by_reader = true;
      return 0;  // aborts the transfer
    }
  }
  state->pending.erase(0, start);
  return size * n;
}

int stream_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* state = static_cast<StreamState*>(user);
  return state->stop && state->stop->load() ? 1 : 0;
}

}  // namespace

std::string Reply::describe() const {
  if (status == 0) return error.empty() ? "no response" : error;
  std::string text = std::to_string(status);
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    text += " " + parsed.value("reason", "") + ": " + parsed["message"].get<std::string>();
  } else if (!body.empty()) {
    text += ": " + body.substr(0, 200);
  }
  return text;
}

KubeClient::KubeClient(Credentials credentials, std::string user_agent)
    : credentials_(std::move(credentials)), user_agent_(std::move(user_agent)) {
  global_init();
  while (!credentials_.server.empty() && credentials_.server.back() == '/') {
    credentials_.server.pop_back();
  }
  token_ = credentials_.token;
  token_read_at_ = steady_seconds();
}

KubeClient::~KubeClient() {
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* KubeClient::take_handle() {
  {
    std::lock_guard lock(mu_);
    if (!pool_.empty()) {
      void* h = pool_.back();
      pool_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));  // keeps the connection cache
      return h;
    }
  }
  return curl_easy_init();
}

void KubeClient::give_back(void* handle) {
  std::lock_guard lock(mu_);
  pool_.push_back(handle);
}

std::string KubeClient::token() {
  std::lock_guard lock(mu_);
  if (!credentials_.token_file.empty() && steady_seconds() - token_read_at_ > kTokenRereadSeconds) {
    std::ifstream in(credentials_.token_file);
    std::stringstream text;
    text << in.rdbuf();
    std::string fresh = text.str();
    while (!fresh.empty() && isspace(static_cast<unsigned char>(fresh.back()))) fresh.pop_back();
    if (!fresh.empty()) token_ = fresh;
    token_read_at_ = steady_seconds();
  }
  return token_;
}

void KubeClient::configure(void* handle, const std::string& url,
                           std::vector<std::string>* headers) {
  CURL* h = static_cast<CURL*>(handle);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  const auto& c = credentials_;
  auto blob = [h](CURLoption option, const std::string& pem) {
    curl_blob b{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, option, &b);
  };
  if (!c.ca_pem.empty())
    blob(CURLOPT_CAINFO_BLOB, c.ca_pem);
  else if (!c.ca_file.empty())
    curl_easy_setopt(h, CURLOPT_CAINFO, c.ca_file.c_str());
  if (!c.client_cert_pem.empty())
    blob(CURLOPT_SSLCERT_BLOB, c.client_cert_pem);
  else if (!c.client_cert_file.empty())
    curl_easy_setopt(h, CURLOPT_SSLCERT, c.client_cert_file.c_str());
  if (!c.client_key_pem.empty())
    blob(CURLOPT_SSLKEY_BLOB, c.client_key_pem);
  else if (!c.client_key_file.empty())
    curl_easy_setopt(h, CURLOPT_SSLKEY, c.client_key_file.c_str());
  if (c.insecure_skip_tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  headers->push_back("Accept: application/json");
  headers->push_back("Expect:");  // no 100-continue round trip before a body
  if (std::string t = token(); !t.empty()) headers->push_back("Authorization: Bearer " + t);
}

namespace {
curl_slist* to_slist(const std::vector<std::string>& headers) {
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  return list;
}
}  // namespace

Reply KubeClient::request(const std::string& method, const std::string& path,
                          const std::string& body, const std::string& content_type) {
  CURL* h = static_cast<CURL*>(take_handle());
  Reply reply;
  if (!h) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  std::vector<std::string> headers;
  configure(h, credentials_.server + path, &headers);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
  if (!body.empty()) {
    headers.push_back("Content-Type: " + content_type);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (method == "GET") curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_slist* list = to_slist(headers);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    reply.status = static_cast<int>(status);
  } else {
    reply.error = method + " " + credentials_.server + path + ": " + curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  give_back(h);
  return reply;
}

Reply KubeClient::stream(const std::string& path,
                         const std::function<bool(std::string_view)>& on_line,
                         const std::atomic<bool>* stop) {
  CURL* h = static_cast<CURL*>(take_handle());
  Reply reply;
  if (!h) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  std::vector<std::string> headers;
  configure(h, credentials_.server + path, &headers);
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_slist* list = to_slist(headers);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  StreamState state{h, &on_line, stop, {}, false};
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stream_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &state);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK || (state.stopped_by_reader && rc == CURLE_WRITE_ERROR) ||
      (rc == CURLE_ABORTED_BY_CALLBACK && stop && stop->load())) {
    reply.status = static_cast<int>(status);
    if (!reply.ok()) reply.body = state.pending;
  } else {
    reply.error = "watch " + path + ": " + curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  // A stream cut short leaves its connection in an unknown state: do not reuse it.
  if (rc == CURLE_OK)
    give_back(h);
  else
    curl_easy_cleanup(h);
  return reply;
}

KubeConnection::~KubeConnection() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

long KubeConnection::send_some(std::string_view data, std::string* error) {
  size_t sent = 0;
  CURLcode rc = curl_easy_send(static_cast<CURL*>(handle_), data.data(), data.size(), &sent);
  if (rc == CURLE_AGAIN) return 0;
  if (rc != CURLE_OK) {
    *error = std::string("sending to the API server: ") + curl_easy_strerror(rc);
    return -1;
  }
  return static_cast<long>(sent);
}

long KubeConnection::recv_some(std::string* out, std::string* error) {
  char buf[16384];
  long total = 0;
  while (true) {
    size_t n = 0;
    CURLcode rc = curl_easy_recv(static_cast<CURL*>(handle_), buf, sizeof buf, &n);
    if (rc == CURLE_AGAIN) return total;
    // The end or a failure (a reset after the server's last words) is
    // said on the next call: what came before it is the caller's first.
    if (rc != CURLE_OK) {
      if (total > 0) return total;
      *error = std::string("reading from the API server: ") + curl_easy_strerror(rc);
      return -1;
    }
    if (n == 0) return total > 0 ? total : -1;
    out->append(buf, n);
    total += static_cast<long>(n);
  }
}

bool KubeConnection::wait(bool want_write, int timeout_ms) {
  curl_socket_t fd = CURL_SOCKET_BAD;
  curl_easy_getinfo(static_cast<CURL*>(handle_), CURLINFO_ACTIVESOCKET, &fd);
  if (fd == CURL_SOCKET_BAD) return true;  // the next call says what broke
  pollfd p{static_cast<int>(fd), static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
  return ::poll(&p, 1, timeout_ms) != 0;
}

std::unique_ptr<KubeConnection> KubeClient::connect(std::string* error) {
  CURL* h = curl_easy_init();
  if (!h) {
    *error = "curl_easy_init failed";
    return nullptr;
  }
  std::vector<std::string> headers;  // sent by the caller: upgrade_headers()
  configure(h, credentials_.server + "/", &headers);
  curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_SSL_ENABLE_ALPN, 0L);  // h2 would not upgrade
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    *error = "connecting to " + credentials_.server + ": " + curl_easy_strerror(rc);
    curl_easy_cleanup(h);
    return nullptr;
  }
  return std::make_unique<KubeConnection>(h);
}

std::string KubeClient::upgrade_headers() {
  std::string host = credentials_.server;
  if (auto scheme = host.find("://"); scheme != std::string::npos) host.erase(0, scheme + 3);
  if (auto slash = host.find('/'); slash != std::string::npos) host.erase(slash);
  std::string out = "Host: " + host + "\r\nUser-Agent: " + user_agent_ + "\r\n";
  if (std::string t = token(); !t.empty()) out += "Authorization: Bearer " + t + "\r\n";
  return out;
}

}  // namespace wok::kube
