#include "kube/fake_kube_api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <sstream>

#include "api/base64.h"
#include "kube/websocket.h"

namespace wok::kube::testing {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::string url_decode(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

std::string param(const std::string& query, const std::string& name) {
  for (const auto& kv : split(query, '&')) {
    auto eq = kv.find('=');
    if (kv.substr(0, eq) == name)
      return eq == std::string::npos ? "" : url_decode(kv.substr(eq + 1));
  }
  return "";
}

// RFC 7386 merge, also standing in for server-side apply.
void merge(json& target, const json& patch) {
  if (!patch.is_object() || !target.is_object()) {
    target = patch;
    return;
  }
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null())
      target.erase(it.key());
    else
      merge(target[it.key()], *it);
  }
}

bool matches(const json& object, const std::string& selector) {
  const json& labels = object["metadata"].value("labels", json::object());
  for (const auto& term : split(selector, ',')) {
    if (term[0] == '!') {
      if (labels.contains(term.substr(1))) return false;
    } else if (auto ne = term.find("!="); ne != std::string::npos) {
      if (labels.value(term.substr(0, ne), "") == term.substr(ne + 2)) return false;
    } else if (auto eq = term.find('='); eq != std::string::npos) {
      if (labels.value(term.substr(0, eq), std::string("\x01")) != term.substr(eq + 1))
        return false;
    } else if (!labels.contains(term)) {
      return false;
    }
  }
  return true;
}

json status_object(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
          {"code", code},     {"reason", reason},   {"message", message}};
}

bool send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string http_lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string timestamp(int64_t seconds) {
  std::time_t t = 1'700'000'000 + seconds;  // strictly increasing per write: claims order well
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

struct FakeKubeApi::Target {
  std::string group_version, ns, plural, name;
  bool status = false, valid = false;
  bool log = false;   // pods/NAME/log: the pod's "fakeLog" field, as text
  bool exec = false;  // pods/NAME/exec: serve_exec
  std::string collection() const { return group_version + "/" + plural; }
  std::string key() const { return ns + "/" + name; }
};

namespace {
// /api/v1/namespaces/NS/PLURAL/NAME/status, /apis/G/V/PLURAL/NAME, ...
template <typename T>
T parse_target(const std::string& path) {
  T t;
  auto segs = split(path, '/');
  size_t i;
  if (segs.size() >= 3 && segs[0] == "api") {
    t.group_version = segs[1];
    i = 2;
  } else if (segs.size() >= 4 && segs[0] == "apis") {
    t.group_version = segs[1] + "/" + segs[2];
    i = 3;
  } else {
    return t;
  }
  std::vector<std::string> rest(segs.begin() + static_cast<long>(i), segs.end());
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    t.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return t;
  t.plural = rest[0];
  if (rest.size() >= 2) t.name = rest[1];
  if (rest.size() == 3) {
    if (rest[2] == "log" && t.plural == "pods") {
      t.log = true;
    } else if (rest[2] == "exec" && t.plural == "pods") {
      t.exec = true;
    } else {
      if (rest[2] != "status") return t;
      t.status = true;
    }
  }
  t.valid = true;
  return t;
}
}  // namespace

FakeKubeApi::FakeKubeApi() = default;
FakeKubeApi::~FakeKubeApi() { stop(); }

bool FakeKubeApi::start(std::string* error) {
  // An exec's command that exits while its stdin is still being fed (a
  // client that fails at the first statement of a large import) makes the
  // write to its pipe fail with EPIPE, as the kubelet sees it, instead of
  // killing the test process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = std::string("fake API: ") + std::strerror(errno);
    return false;
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
  return true;
}

void FakeKubeApi::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(connections_);
    changed_.notify_all();
  }
  for (auto& t : threads) t.join();
}

std::string FakeKubeApi::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeKubeApi::accept_loop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mu_);
    fds_.push_back(fd);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

bool FakeKubeApi::read_request(int fd, std::string* buffer, Request* request) {
  size_t end;
  char chunk[8192];
  while ((end = buffer->find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer->append(chunk, static_cast<size_t>(n));
  }
  std::istringstream head(buffer->substr(0, end));
  std::string line, target, version;
  std::getline(head, line);
  std::istringstream(line) >> request->method >> target >> version;
  auto q = target.find('?');
  request->path = target.substr(0, q);
  request->query = q == std::string::npos ? "" : target.substr(q + 1);
  size_t length = 0;
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && value[0] == ' ') value.erase(0, 1);
    for (auto& c : name) c = static_cast<char>(tolower(c));
    request->headers[name] = value;
    if (name == "content-length") length = std::stoul(value);
    if (name == "user-agent") request->user_agent = value;
    if (name == "content-type") request->content_type = value;
    if (name == "expect") send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
  }
  buffer->erase(0, end + 4);
  while (buffer->size() < length) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer->append(chunk, static_cast<size_t>(n));
  }
  request->body = buffer->substr(0, length);
  buffer->erase(0, length);
  return true;
}

void FakeKubeApi::serve(int fd) {
  std::string buffer;
  Request request;
  while (!stopping_ && read_request(fd, &buffer, &request)) {
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
    auto target = parse_target<Target>(request.path);
    Response response;
    bool failed = false;
    {
      std::lock_guard lock(mu_);
      log_.push_back(request);
      std::string full = request.path + "?" + request.query;
      for (auto& f : failures_) {
        if (f.times > 0 && f.method == request.method && full.find(f.path) != std::string::npos) {
          --f.times;
          failed = true;
          response = {f.status, status_object(f.status, "Injected", "injected failure").dump()};
          break;
        }
      }
    }
    if (!failed && request.method == "GET" && param(request.query, "watch") == "true" &&
        target.valid) {
      stream_watch(fd, request, target);
      break;  // a watch ends its connection
    }
    if (!failed && target.exec && target.valid) {
      bool pod_exists;
      {
        std::lock_guard lock(mu_);
        pod_exists = objects_[target.collection()].count(target.key()) > 0;
      }
      if (pod_exists) {
        serve_exec(fd, request, target, std::move(buffer));
        break;  // the upgraded connection ends with the command
      }
    }
    if (!failed) {
      try {
        response = handle(request, target);
      } catch (const std::exception& e) {
        response = {400, status_object(400, "BadRequest", e.what()).dump()};
      }
    }
    std::string head = "HTTP/1.1 " + std::to_string(response.status) +
                       " X\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(response.body.size()) + "\r\n\r\n";
    if (!send_all(fd, head + response.body)) break;
    request = Request{};
  }
  std::lock_guard lock(mu_);
  ::close(fd);
  std::erase(fds_, fd);
}

json FakeKubeApi::store_put(const std::string& collection, json object, const char* type) {
  object["metadata"]["resourceVersion"] = std::to_string(++rv_);
  const json& meta = object["metadata"];
  objects_[collection][meta.value("namespace", "") + "/" + meta.value("name", "")] = object;
  events_.push_back({rv_, collection, type, object});
  changed_.notify_all();
  return object;
}

void FakeKubeApi::store_delete(const std::string& collection, const std::string& key) {
  auto& items = objects_[collection];
  auto it = items.find(key);
  if (it == items.end()) return;
  json object = it->second;
  items.erase(it);
  object["metadata"]["resourceVersion"] = std::to_string(++rv_);
  events_.push_back({rv_, collection, "DELETED", object});
  changed_.notify_all();
}

FakeKubeApi::Response FakeKubeApi::handle(const Request& request, const Target& t) {
  if (!t.valid) return {404, status_object(404, "NotFound", "no such path " + request.path).dump()};
  std::lock_guard lock(mu_);
  auto& items = objects_[t.collection()];
  auto found = items.find(t.key());
  auto not_found = [&] {
    return Response{
        404, status_object(404, "NotFound", t.plural + " \"" + t.name + "\" not found").dump()};
  };
  json body = request.body.empty() ? json() : json::parse(request.body);

  if (request.method == "GET" && t.name.empty()) {
    std::string selector = param(request.query, "labelSelector");
    json list = {{"kind", "List"},
                 {"apiVersion", "v1"},
                 {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
                 {"items", json::array()}};
    for (const auto& [key, object] : items) {
      if (!t.ns.empty() && object["metadata"].value("namespace", "") != t.ns) continue;
      if (matches(object, selector)) list["items"].push_back(object);
    }
    return {200, list.dump()};
  }
  if (request.method == "GET" && t.log)
    return found == items.end() ? not_found()
                                : Response{200, found->second.value("fakeLog", std::string())};
  if (request.method == "GET")
    return found == items.end() ? not_found() : Response{200, found->second.dump()};
  if (request.method == "DELETE") {
    if (found == items.end()) return not_found();
    json last = found->second;
    store_delete(t.collection(), t.key());
    return {200, last.dump()};
  }
  // As the API server does, stringData is written into data (base64); the
  // fake keeps stringData too, for the tests to read.
  if ((request.method == "POST" || request.method == "PUT") && body.is_object() &&
      body.value("kind", "") == "Secret" && body.contains("stringData") &&
      body["stringData"].is_object())
    for (const auto& [k, v] : body["stringData"].items())
      if (v.is_string()) body["data"][k] = api::base64_encode(v.get<std::string>());
  if (request.method == "POST") {
    json& meta = body["metadata"];
    if (!t.ns.empty()) meta["namespace"] = t.ns;
    std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
    if (items.count(key))
      return {409, status_object(409, "AlreadyExists", "already exists").dump()};
    meta["uid"] = "uid-" + std::to_string(++uid_);
    meta["creationTimestamp"] = timestamp(rv_);
    meta["generation"] = 1;
    return {201, store_put(t.collection(), body, "ADDED").dump()};
  }
  if (request.method == "PUT") {
    if (found == items.end()) return not_found();
    json current = found->second;
    if (body["metadata"].value("resourceVersion", "") !=
        current["metadata"].value("resourceVersion", "")) {
      return {409, status_object(409, "Conflict",
                                 "the object has been modified; please apply your "
                                 "changes to the latest version and try again")
                       .dump()};
    }
    json next = current;
    if (t.status) {
      next["status"] = body.value("status", json::object());
    } else {
      json keep = current["metadata"];
      next = body;
      for (const char* k : {"uid", "creationTimestamp", "generation"}) {
        if (keep.contains(k)) next["metadata"][k] = keep[k];
      }
      if (current.contains("status")) next["status"] = current["status"];
      if (next.value("spec", json()) != current.value("spec", json())) {
        next["metadata"]["generation"] = keep.value("generation", 1) + 1;
      }
    }
    if (next == current) return {200, current.dump()};
    return {200, store_put(t.collection(), next, "MODIFIED").dump()};
  }
  if (request.method == "PATCH") {
    bool apply = request.content_type.find("apply-patch") != std::string::npos;
    if (apply && param(request.query, "fieldManager").empty()) {
      return {400, status_object(400, "BadRequest", "fieldManager is required for apply").dump()};
    }
    if (found == items.end()) {
      if (!apply || t.status) return not_found();
      json& meta = body["metadata"];
      if (!t.ns.empty()) meta["namespace"] = t.ns;
      meta["uid"] = "uid-" + std::to_string(++uid_);
      meta["creationTimestamp"] = timestamp(rv_);
      meta["generation"] = 1;
      return {201, store_put(t.collection(), body, "ADDED").dump()};
    }
    json current = found->second, next = current;
    if (t.status) {
      merge(next["status"], body.value("status", json::object()));
    } else {
      for (const char* k : {"uid", "creationTimestamp", "generation", "resourceVersion"}) {
        if (body.contains("metadata")) body["metadata"].erase(k);
      }
      body.erase("status");
      merge(next, body);
      if (next.value("spec", json()) != current.value("spec", json())) {
        next["metadata"]["generation"] = current["metadata"].value("generation", 1) + 1;
      }
    }
    if (next == current) return {200, current.dump()};
    return {200, store_put(t.collection(), next, "MODIFIED").dump()};
  }
  return {405, status_object(405, "MethodNotAllowed", request.method).dump()};
}

void FakeKubeApi::stream_watch(int fd, const Request& request, const Target& t) {
  std::string selector = param(request.query, "labelSelector");
  bool bookmarks = param(request.query, "allowWatchBookmarks") == "true";
  int64_t since = 0;
  try {
    since = std::stoll(param(request.query, "resourceVersion"));
  } catch (const std::exception&) {
    std::lock_guard lock(mu_);
    since = rv_;
  }
  auto chunk = [](const std::string& line) {
    std::ostringstream out;
    out << std::hex << line.size() + 1 << "\r\n" << line << "\n\r\n";
    return out.str();
  };
  if (!send_all(fd,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")) {
    return;
  }
  std::unique_lock lock(mu_);
  if (since < compacted_rv_) {
    json gone = {{"type", "ERROR"},
                 {"object", status_object(410, "Expired",
                                          "too old resource version: " + std::to_string(since) +
                                              " (" + std::to_string(compacted_rv_) + ")")}};
    lock.unlock();
    send_all(fd, chunk(gone.dump()) + "0\r\n\r\n");
    return;
  }
  watch_fds_.push_back(fd);
  ++open_watches_;
  while (!stopping_) {
    std::string out;
    bool found_any = false;
    for (const auto& e : events_) {
      if (e.rv <= since || e.collection != t.collection()) continue;
      since = e.rv;
      if (!t.ns.empty() && e.object["metadata"].value("namespace", "") != t.ns) continue;
      if (!matches(e.object, selector)) continue;
      out += chunk(json{{"type", e.type}, {"object", e.object}}.dump());
      found_any = true;
    }
    if (!found_any && bookmarks && since < rv_) {
      since = rv_;
      json mark = {{"type", "BOOKMARK"},
                   {"object", {{"metadata", {{"resourceVersion", std::to_string(rv_)}}}}}};
      out += chunk(mark.dump());
    }
    if (std::find(watch_fds_.begin(), watch_fds_.end(), fd) == watch_fds_.end()) break;  // dropped
    lock.unlock();
    bool sent = out.empty() || send_all(fd, out);
    lock.lock();
    if (!sent) break;
    changed_.wait_for(lock, std::chrono::milliseconds(500));
  }
  std::erase(watch_fds_, fd);
  --open_watches_;
}

json FakeKubeApi::create(const std::string& collection_path, json object) {
  auto t = parse_target<Target>(collection_path);
  std::lock_guard lock(mu_);
  json& meta = object["metadata"];
  if (!t.ns.empty()) meta["namespace"] = t.ns;
  meta["uid"] = "uid-" + std::to_string(++uid_);
  meta["creationTimestamp"] = timestamp(rv_);
  meta["generation"] = 1;
  return store_put(t.collection(), object, "ADDED");
}

json FakeKubeApi::update(const std::string& object_path, json object) {
  auto t = parse_target<Target>(object_path);
  std::lock_guard lock(mu_);
  json current = objects_[t.collection()].at(t.key());
  json next = current;
  next["spec"] = object["spec"];
  if (object["metadata"].contains("labels"))
    next["metadata"]["labels"] = object["metadata"]["labels"];
  if (next == current) return current;
  next["metadata"]["generation"] = current["metadata"].value("generation", 1) + 1;
  return store_put(t.collection(), next, "MODIFIED");
}

void FakeKubeApi::set_status(const std::string& object_path, const json& status) {
  auto t = parse_target<Target>(object_path);
  std::lock_guard lock(mu_);
  json next = objects_[t.collection()].at(t.key());
  if (next.value("status", json()) == status) return;
  next["status"] = status;
  store_put(t.collection(), next, "MODIFIED");
}

bool FakeKubeApi::remove(const std::string& object_path) {
  auto t = parse_target<Target>(object_path);
  std::lock_guard lock(mu_);
  if (!objects_[t.collection()].count(t.key())) return false;
  store_delete(t.collection(), t.key());
  return true;
}

std::optional<json> FakeKubeApi::get(const std::string& object_path) const {
  auto t = parse_target<Target>(object_path);
  std::lock_guard lock(mu_);
  auto c = objects_.find(t.collection());
  if (c == objects_.end()) return std::nullopt;
  auto it = c->second.find(t.key());
  if (it == c->second.end()) return std::nullopt;
  return it->second;
}

std::vector<json> FakeKubeApi::list(const std::string& collection_path) const {
  auto t = parse_target<Target>(collection_path);
  std::lock_guard lock(mu_);
  std::vector<json> out;
  auto c = objects_.find(t.collection());
  if (c != objects_.end()) {
    for (const auto& [key, object] : c->second) out.push_back(object);
  }
  return out;
}

void FakeKubeApi::fail_next(const std::string& method, const std::string& path_contains, int status,
                            int times) {
  std::lock_guard lock(mu_);
  failures_.push_back({method, path_contains, status, times});
}

void FakeKubeApi::drop_watches() {
  std::lock_guard lock(mu_);
  for (int fd : watch_fds_) ::shutdown(fd, SHUT_RDWR);
  watch_fds_.clear();
  changed_.notify_all();
}

void FakeKubeApi::compact() {
  std::lock_guard lock(mu_);
  compacted_rv_ = ++rv_;  // every watcher is now behind
  for (int fd : watch_fds_) ::shutdown(fd, SHUT_RDWR);
  watch_fds_.clear();
  changed_.notify_all();
}

int FakeKubeApi::writes(const std::string& user_agent_contains) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& r : log_) {
    if (r.method == "GET" || r.path.find("/leases") != std::string::npos) continue;
    if (r.user_agent.find(user_agent_contains) != std::string::npos) ++n;
  }
  return n;
}

int FakeKubeApi::count(const std::string& method, const std::string& path_contains) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& r : log_) {
    if (r.method == method && (r.path + "?" + r.query).find(path_contains) != std::string::npos)
      ++n;
  }
  return n;
}

void FakeKubeApi::set_exec(std::vector<std::string> prefix, std::vector<std::string> protocols) {
  std::lock_guard lock(mu_);
  exec_prefix_ = std::move(prefix);
  exec_protocols_ = std::move(protocols);
}

std::vector<std::vector<std::string>> FakeKubeApi::execs() const {
  std::lock_guard lock(mu_);
  return execs_;
}

// As the kubelet's streaming server answers `kubectl exec` over a
// WebSocket: the command's streams as binary messages, each starting with
// its channel; stdin closed by {255, 0} (v5 only); the exit as a Status on
// channel 3; then a close frame.
void FakeKubeApi::serve_exec(int fd, const Request& request, const Target&, std::string buffer) {
  auto refuse = [&](int code, const std::string& message) {
    std::string body = status_object(code, "BadRequest", message).dump();
    send_all(fd, "HTTP/1.1 " + std::to_string(code) +
                     " X\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  std::vector<std::string> command, prefix, protocols;
  for (const auto& kv : split(request.query, '&'))
    if (kv.rfind("command=", 0) == 0) command.push_back(url_decode(kv.substr(8)));
  {
    std::lock_guard lock(mu_);
    prefix = exec_prefix_;
    protocols = exec_protocols_;
    execs_.push_back(command);
  }
  auto header = [&](const std::string& name) {
    auto it = request.headers.find(name);
    return it == request.headers.end() ? std::string() : it->second;
  };
  if (command.empty()) return refuse(400, "you must specify at least one command");
  if (http_lower(header("upgrade")) != "websocket" || header("sec-websocket-key").empty())
    return refuse(400, "exec needs a WebSocket upgrade here");
  std::string protocol;
  for (const auto& offered : split(header("sec-websocket-protocol"), ',')) {
    std::string p = offered.substr(offered.find_first_not_of(' '));
    if (protocol.empty() && std::find(protocols.begin(), protocols.end(), p) != protocols.end())
      protocol = p;
  }
  if (protocol.empty()) return refuse(400, "no channel protocol this server speaks");
  // As Go's servers: no Nagle delay. The end (status, close) is on the wire
  // before the connection closes, even with the client's input unread (a
  // reset).
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const bool v5 = protocol == "v5.channel.k8s.io";
  send_all(fd,
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " +
               ws_accept_key(header("sec-websocket-key")) +
               "\r\nSec-WebSocket-Protocol: " + protocol + "\r\n\r\n");
  auto message = [&](uint8_t channel, std::string_view data) {
    std::string payload(1, static_cast<char>(channel));
    payload += data;
    return send_all(fd, ws_encode(WsFrame{true, WsOpcode::kBinary, payload}, std::nullopt));
  };
  // As the API server does: an empty message opening each output stream.
  message(1, "");
  message(2, "");

  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(err_pipe, O_CLOEXEC) != 0)
    return;
  std::vector<std::string> argv = prefix;
  argv.insert(argv.end(), command.begin(), command.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  int to_child = in_pipe[1];
  ::fcntl(to_child, F_SETFL, O_NONBLOCK);
  std::string pending;  // for the command's stdin
  size_t consumed = 0;  // of buffer, decoded
  bool close_stdin = false, client_gone = false;
  int outputs = 2;
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  char chunk[32768];
  while (outputs > 0 && !stopping_) {
    // The client's frames: stdin, its end, a close.
    std::string frame_error;
    size_t used = 0;
    buffer.erase(0, consumed);
    consumed = 0;
    while (std::optional<WsFrame> f = ws_decode(std::string_view(buffer).substr(consumed), true,
                                                1 << 24, &used, &frame_error)) {
      consumed += used;
      if (f->opcode == WsOpcode::kClose) {
        client_gone = true;
        break;
      }
      if (f->opcode != WsOpcode::kBinary || f->payload.empty()) continue;
      const auto channel = static_cast<uint8_t>(f->payload[0]);
      if (channel == 0) pending += f->payload.substr(1);
      if (channel == 255 && v5 && f->payload.size() == 2 && f->payload[1] == 0) close_stdin = true;
    }
    if (!frame_error.empty()) client_gone = true;
    if (to_child >= 0 && !pending.empty()) {
      ssize_t n = ::write(to_child, pending.data(), pending.size());
      if (n > 0) pending.erase(0, static_cast<size_t>(n));
      if (n < 0 && errno != EAGAIN) pending.clear();
    }
    if (to_child >= 0 && pending.empty() && (close_stdin || client_gone)) {
      ::close(to_child);
      to_child = -1;
    }
    if (client_gone) break;
    pollfd p[4] = {{fd, static_cast<short>(pending.size() < (1 << 20) ? POLLIN : 0), 0},
                   {out_fd, POLLIN, 0},
                   {err_fd, POLLIN, 0},
                   {to_child, POLLOUT, 0}};
    if (pending.empty()) p[3].fd = -1;
    if (::poll(p, 4, 200) < 0) break;
    if (p[0].revents) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0)
        client_gone = true;
      else
        buffer.append(chunk, static_cast<size_t>(n));
    }
    for (int i : {1, 2}) {
      if (!p[i].revents || p[i].fd < 0) continue;
      ssize_t n = ::read(p[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        if (!message(static_cast<uint8_t>(i), std::string_view(chunk, static_cast<size_t>(n))))
          client_gone = true;
        continue;
      }
      ::close(p[i].fd);
      (i == 1 ? out_fd : err_fd) = -1;
      --outputs;
    }
  }
  if (to_child >= 0) ::close(to_child);
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0) ::close(err_fd);
  if (client_gone) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (client_gone) return;
  json result = {{"metadata", json::object()}, {"status", "Success"}};
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0)
    result = {
        {"metadata", json::object()},
        {"status", "Failure"},
        {"message",
         "command terminated with non-zero exit code: exit status " + std::to_string(code)},
        {"reason", "NonZeroExitCode"},
        {"details", {{"causes", {{{"reason", "ExitCode"}, {"message", std::to_string(code)}}}}}}};
  message(3, result.dump());
  send_all(fd,
           ws_encode(WsFrame{true, WsOpcode::kClose, std::string("\x03\xe8", 2)}, std::nullopt));
}

}  // namespace wok::kube::testing
