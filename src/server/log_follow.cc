#include "server/log_follow.h"

#include <map>
#include <nlohmann/json.hpp>

#include "server/response_stream.h"
#include "store/store.h"

namespace wok::server {

using nlohmann::json;

namespace {

constexpr size_t kMaxFollowsPerUser = 20;
// How often an open follow's token is looked up again (revoked: it ends).
constexpr auto kTokenRecheck = std::chrono::seconds(5);
// After the first read, an instance that appears is read from the start
// of its run, this many lines at most.
constexpr int kNewInstanceLines = 10000;

std::string status_line(int code, const std::string& reason, const std::string& message) {
  return json::parse(status_json(code, reason, message)).dump() + "\n";
}

}  // namespace

struct LogFollowers::Follower {
  ResponseStream stream;
  Caller caller;
  std::string token_hash;
  std::string ns, name, uid;
  LogsQuery query;  // `from` follows what was sent
  bool first = true;
  std::chrono::steady_clock::time_point token_checked, next;
};

LogFollowers::LogFollowers(store::Store& store, SiteLogs site_logs, std::chrono::milliseconds every)
    : store_(store), site_logs_(std::move(site_logs)), every_(every) {
  thread_ = std::thread([this] { run(); });
}

LogFollowers::~LogFollowers() { stop(); }

bool LogFollowers::stopped() {
  std::lock_guard lock(mu_);
  return stopping_;
}

size_t LogFollowers::followers() {
  std::lock_guard lock(mu_);
  std::erase_if(followers_, [](const auto& f) { return f->stream.gone(); });
  return followers_.size();
}

void LogFollowers::add(http::Exchange exchange, const Caller& caller, const std::string& token_hash,
                       const std::string& ns, const std::string& name, const LogsQuery& query) {
  auto f = std::make_shared<Follower>();
  f->caller = caller;
  f->token_hash = token_hash;
  f->ns = ns;
  f->name = name;
  f->query = query;
  auto site = store_.get("Site", ns, name);
  f->uid = site ? site->value(json::json_pointer("/metadata/uid"), "") : "";
  {
    std::lock_guard lock(mu_);
    size_t open = 0;
    for (const auto& other : followers_)
      if (!other->stream.gone() && other->caller.user == caller.user) ++open;
    if (open >= kMaxFollowsPerUser || stopping_) {
      http::Response busy;
      busy.status = stopping_ ? 503 : 429;
      busy.set_header("Content-Type", "application/json");
      if (!stopping_) busy.set_header("Retry-After", "10");
      busy.body = stopping_
                      ? status_json(503, "ServiceUnavailable", "the API server is stopping")
                      : status_json(429, "TooManyRequests",
                                    "user \"" + caller.user + "\" follows " + std::to_string(open) +
                                        " logs, the most one may; end one first");
      exchange.respond(std::move(busy));
      return;
    }
    f->stream.open(std::move(exchange), "");
    f->token_checked = f->next = std::chrono::steady_clock::now();
    followers_.push_back(f);
  }
  changed_.notify_all();
}

void LogFollowers::stop() {
  std::vector<std::shared_ptr<Follower>> left;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(followers_);
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& f : left)
    if (!f->stream.gone()) f->stream.post("", true);
}

void LogFollowers::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    std::erase_if(followers_, [](const auto& f) { return f->stream.gone(); });
    auto now = std::chrono::steady_clock::now();
    auto wake = now + std::chrono::seconds(1);
    std::vector<std::shared_ptr<Follower>> due;
    for (const auto& f : followers_) {
      if (f->next <= now) due.push_back(f);
      wake = std::min(wake, f->next);
    }
    if (due.empty()) {
      changed_.wait_until(lock, wake);
      continue;
    }
    lock.unlock();
    for (auto& f : due) {
      f->next = now + every_;
      bool open = false;
      try {
        open = poll(*f, now);
      } catch (const std::exception& e) {  // one stream ends, never the server
        f->stream.post(status_line(500, "InternalError", e.what()), true);
      }
      if (!open) f->stream.end();
    }
    lock.lock();
  }
}

bool LogFollowers::poll(Follower& f, std::chrono::steady_clock::time_point now) {
  if (f.stream.gone()) return false;
  auto end = [&](int code, const std::string& reason, const std::string& message) {
    f.stream.post(status_line(code, reason, message), true);
    return false;
  };
  // A revoked token ends its streams, as it ends its requests.
  if (now - f.token_checked >= kTokenRecheck) {
    f.token_checked = now;
    if (!store_.find_token(f.token_hash)) return end(401, "Unauthorized", "the token was revoked");
  }
  auto project = store_.get("Project", "", f.ns);
  if (project_access(f.caller, project ? &*project : nullptr) < Access::kView) {
    return end(403, "Forbidden",
               "user \"" + f.caller.user + "\" has no access to project \"" + f.ns + "\"");
  }
  auto site = store_.get("Site", f.ns, f.name);
  if (!site || site->value(json::json_pointer("/metadata/uid"), "") != f.uid) {
    return end(404, "NotFound",
               "site \"" + f.name + "\" was deleted from project \"" + f.ns + "\"");
  }
  json logs = site_logs_(f.ns, f.name, f.query);
  json items = json::array();
  std::map<std::string, int64_t> from;  // only the streams still there
  for (auto& item : logs.value("items", json::array())) {
    const std::string key = item.value("instance", "") + ":" + item.value("stream", "");
    from[key] = item.value("offset", int64_t{0});
    if (f.first || !item.value("lines", json::array()).empty()) items.push_back(std::move(item));
  }
  f.query.from = std::move(from);
  if (f.first) f.query.tail = kNewInstanceLines;
  if (!f.first && items.empty()) return true;
  f.first = false;
  logs["items"] = std::move(items);
  // Log lines are the site's bytes: not UTF-8, they are replaced, not a throw.
  f.stream.post(logs.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", false);
  return true;
}

}  // namespace wok::server
