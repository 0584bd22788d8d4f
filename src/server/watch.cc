#include "server/watch.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "api/validation.h"
#include "server/api_server.h"
#include "server/query.h"
#include "store/store.h"

namespace wok::server {

using nlohmann::json;

namespace {

// Open watches per user: each holds a connection and the hub's time.
constexpr size_t kMaxWatchesPerUser = 20;
// How often an open watch's token is looked up again (revoked: it ends).
constexpr auto kTokenRecheck = std::chrono::seconds(5);
constexpr int kMaxTimeoutSeconds = 3600;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "metadata.name%3Dwww" -> "metadata.name=www"; nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

std::string line(std::string_view type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump(-1, ' ', false,
                                                       json::error_handler_t::replace) +
         "\n";
}

json status_object(int code, const std::string& reason, const std::string& message) {
  return json::parse(status_json(code, reason, message));
}

}  // namespace

bool wants_watch(std::string_view query) {
  auto params = query_params(query);
  auto it = params.find("watch");
  return it != params.end() && (it->second == "1" || it->second == "true");
}

std::string parse_watch(const std::vector<std::string>& parts, std::string_view query,
                        WatchSpec* spec) {
  size_t n = parts.size();
  if (n == 1 && parts[0] == "projects") {
    spec->kind = "Project";
  } else if (n == 1 && parts[0] == "sites") {
    spec->kind = "Site";
  } else if ((n == 3 || n == 4) && parts[0] == "namespaces" && parts[2] == "sites") {
    spec->kind = "Site";
    spec->ns = parts[1];
    if (n == 4) spec->name = parts[3];
  } else if (n == 3 && parts[0] == "namespaces" && parts[2] == "events") {
    spec->kind = "Event";
    spec->ns = parts[1];
  } else if (n == 2 && parts[0] == "projects") {
    spec->kind = "Project";
    spec->name = parts[1];
  } else {
    return "only projects, sites and events can be watched";
  }
  auto params = query_params(query);
  if (auto it = params.find("resourceVersion"); it != params.end() && !it->second.empty()) {
    if (!parse_count(it->second, INT64_MAX / 2, &spec->from))
      return "resourceVersion must be a whole number, not \"" + it->second + "\"";
  }
  if (auto it = params.find("timeoutSeconds"); it != params.end()) {
    int64_t t = 0;
    if (!parse_count(it->second, kMaxTimeoutSeconds, &t) || t < 1)
      return "timeoutSeconds must be a whole number from 1 to " +
             std::to_string(kMaxTimeoutSeconds);
    spec->timeout_seconds = static_cast<int>(t);
  }
  if (auto it = params.find("allowWatchBookmarks"); it != params.end())
    spec->bookmarks = it->second == "true" || it->second == "1";
  if (params.contains("labelSelector"))
    return "labelSelector is not supported (fieldSelector=metadata.name=NAME is)";
  if (auto it = params.find("fieldSelector"); it != params.end() && !it->second.empty()) {
    auto selector = percent_decode(it->second);
    constexpr std::string_view kByName = "metadata.name=", kByObject = "involvedObject.name=";
    if (selector && spec->kind == "Event" && selector->starts_with(kByObject)) {
      spec->involved = selector->substr(kByObject.size());
      if (!api::is_dns_label(spec->involved))
        return "fieldSelector: \"" + spec->involved + "\" is not a valid name";
      return "";
    }
    if (!selector || !selector->starts_with(kByName))
      return spec->kind == "Event" ? "fieldSelector: only involvedObject.name=NAME is supported"
                                   : "fieldSelector: only metadata.name=NAME is supported";
    std::string name = selector->substr(kByName.size());
    if (!api::is_dns_label(name)) return "fieldSelector: \"" + name + "\" is not a valid name";
    if (!spec->name.empty() && spec->name != name)
      return "fieldSelector names \"" + name + "\", the path \"" + spec->name + "\"";
    spec->name = name;
  }
  return "";
}

struct WatchHub::Watcher {
  ResponseStream stream;  // a slow reader is broken off: it watches again, or lists
  Caller caller;
  std::string token_hash;  // looked up again every kTokenRecheck
  std::chrono::steady_clock::time_point token_checked;
  WatchSpec spec;
  // The hub thread's alone once added:
  int64_t cursor = 0;   // events up to this one are dealt with
  int64_t sent_rv = 0;  // the version of the last line sent
  std::chrono::steady_clock::time_point deadline, last_bookmark;
  // Objects whose ADDED was passed over (a newer version came first): their
  // next line says ADDED, as the watcher has not seen them yet; a DELETED
  // of one is not sent at all.
  std::set<std::string> unseen;
};

WatchHub::WatchHub(store::Store& store, std::chrono::milliseconds bookmark_every)
    : store_(store), bookmark_every_(bookmark_every) {
  thread_ = std::thread([this] { run(); });
}

WatchHub::~WatchHub() { stop(); }

bool WatchHub::stopped() {
  std::lock_guard lock(mu_);
  return stopping_;
}

size_t WatchHub::watchers() {
  std::lock_guard lock(mu_);
  std::erase_if(watchers_, [](const auto& w) { return w->stream.gone(); });
  return watchers_.size();
}

bool WatchHub::may_view(const Caller& caller, const json* project) {
  return project_access(caller, project) >= Access::kView;
}

void WatchHub::add(http::Exchange exchange, const Caller& caller, const std::string& token_hash,
                   const WatchSpec& spec) {
  auto w = std::make_shared<Watcher>();
  w->caller = caller;
  w->token_hash = token_hash;
  w->spec = spec;
  {
    std::lock_guard lock(mu_);
    size_t open = 0;
    for (const auto& other : watchers_)
      if (!other->stream.gone() && other->caller.user == caller.user) ++open;
    if (open >= kMaxWatchesPerUser) {
      http::Response busy;
      busy.status = 429;
      busy.set_header("Content-Type", "application/json");
      busy.set_header("Retry-After", "10");
      busy.body = status_json(429, "TooManyRequests",
                              "user \"" + caller.user + "\" has " + std::to_string(open) +
                                  " watches open, the most one may; end one first");
      exchange.respond(std::move(busy));
      return;
    }
  }
  if (spec.from > 0 && spec.from + 1 < store_.oldest_event_rv()) {
    http::Response gone;
    gone.status = 410;
    gone.set_header("Content-Type", "application/json");
    gone.body = status_json(410, "Expired",
                            "too old resource version: " + std::to_string(spec.from) +
                                " (the oldest kept is " +
                                std::to_string(store_.oldest_event_rv() - 1) + "); list again");
    exchange.respond(std::move(gone));
    return;
  }
  std::string text;
  if (spec.from > 0) {
    w->cursor = spec.from;
  } else {
    // The version first, then the objects: a change between the two is
    // sent again as MODIFIED, never lost.
    w->cursor = store_.resource_version();
    auto visible = [&](const json& o) {
      return (spec.name.empty() || o["metadata"].value("name", "") == spec.name) &&
             (spec.involved.empty() ||
              o.value(json::json_pointer("/involvedObject/name"), "") == spec.involved);
    };
    if (spec.kind == "Project") {
      for (const auto& p : store_.list("Project"))
        if (visible(p) && may_view(caller, &p)) text += line("ADDED", p);
    } else {
      std::vector<json> projects;
      if (spec.ns.empty()) {
        projects = store_.list("Project");
      } else if (auto p = store_.get("Project", "", spec.ns)) {
        projects.push_back(std::move(*p));
      }
      for (const auto& p : projects) {
        if (!may_view(caller, &p)) continue;
        for (const auto& s : store_.list(spec.kind, p["metadata"]["name"].get<std::string>()))
          if (visible(s)) text += line("ADDED", s);
      }
    }
  }
  w->stream.open(std::move(exchange), text);
  w->sent_rv = w->cursor;
  w->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(spec.timeout_seconds);
  w->last_bookmark = w->token_checked = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      w->stream.post("", true);
      return;
    }
    watchers_.push_back(w);
  }
  added_.notify_all();
  // The hub may be waiting on the feed from a later version: it starts over.
  store_.wake_watchers();
}

void WatchHub::stop() {
  std::vector<std::shared_ptr<Watcher>> left;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(watchers_);
  }
  added_.notify_all();
  store_.wake_watchers();
  if (thread_.joinable()) thread_.join();
  for (auto& w : left)
    if (!w->stream.gone()) w->stream.post("", true);
}

void WatchHub::run() {
  // The feed is read from its head for the watchers that are caught up; one
  // from an older version catches up by its own reads, 500 events a pass,
  // so that it never holds the others back (a watch from the oldest kept
  // version, asked again and again, costs its asker, not everyone).
  int64_t head = store_.resource_version();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    std::erase_if(watchers_, [](const auto& w) { return w->stream.gone(); });
    if (watchers_.empty()) {
      added_.wait_for(lock, std::chrono::seconds(1));
      head = std::max(head, store_.resource_version());
      continue;
    }
    std::vector<std::shared_ptr<Watcher>> now = watchers_;
    lock.unlock();
    std::vector<std::shared_ptr<Watcher>> current, behind;
    for (auto& w : now) (w->cursor >= head ? current : behind).push_back(w);
    // Nobody waits on the feed while someone catches up.
    auto wait = behind.empty() ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(0);
    auto events = store_.events_since(head, wait, 500);
    if (!events.empty()) head = events.back().resource_version;
    deliver(current, events);
    for (auto& w : behind) {
      // Fallen behind what the store keeps (only a watcher far slower
      // than the feed can): told so, as Kubernetes does, to list again.
      if (w->cursor + 1 < store_.oldest_event_rv()) {
        w->stream.post(
            line("ERROR", status_object(410, "Expired", "too old resource version; list again")),
            true);
        w->stream.end();
        continue;
      }
      auto replay = store_.events_since(w->cursor, std::chrono::milliseconds(0), 500);
      // Up to the head at most: what comes after is the feed's.
      std::erase_if(replay, [&](const store::Event& e) { return e.resource_version > head; });
      if (replay.empty()) w->cursor = head;
      deliver({w}, replay);
    }
    lock.lock();
  }
}

// What an event shows a watcher: the object as of that event, or nothing
// when a later event of it follows (its newer state is sent then).
struct WatchHub::Change {
  const store::Event* event;
  std::string key;  // kind/ns/name
  std::shared_ptr<json> object;
  std::string text;  // its line as the event's type, made once for every watcher
};

void WatchHub::deliver(const std::vector<std::shared_ptr<Watcher>>& watchers,
                       const std::vector<store::Event>& events) {
  std::vector<Change> changes;
  std::map<std::string, std::optional<json>> projects;  // by name, read once per pass
  auto project = [&](const std::string& name) -> const json* {
    auto it = projects.find(name);
    if (it == projects.end()) it = projects.emplace(name, store_.get("Project", "", name)).first;
    return it->second ? &*it->second : nullptr;
  };
  for (const auto& e : events) {
    if (e.kind != "Site" && e.kind != "Project" && e.kind != "Event") continue;
    Change c{&e, e.kind + "/" + e.ns + "/" + e.name, nullptr, ""};
    if (e.type == "DELETED") {
      if (e.body.empty()) continue;  // of a store older than deleted bodies
      c.object = std::make_shared<json>(json::parse(e.body, nullptr, false));
      if (c.object->is_discarded()) continue;
    } else if (auto o = store_.get(e.kind, e.ns, e.name)) {
      c.object = std::make_shared<json>(std::move(*o));
    }
    changes.push_back(std::move(c));
  }
  auto now = std::chrono::steady_clock::now();
  int64_t last = events.empty() ? 0 : events.back().resource_version;
  for (const auto& w : watchers) {
    if (w->stream.gone()) continue;
    const WatchSpec& spec = w->spec;
    // A revoked token ends its streams, as it ends its requests.
    if (now - w->token_checked >= kTokenRecheck) {
      w->token_checked = now;
      if (!store_.find_token(w->token_hash)) {
        w->stream.post(line("ERROR", status_object(401, "Unauthorized", "the token was revoked")),
                       true);
        w->stream.end();
        continue;
      }
    }
    // A member removed from the project (or the project deleted) stops
    // seeing it: the stream ends with a 403, as a new watch would answer.
    if (spec.kind != "Project" && !spec.ns.empty() && !may_view(w->caller, project(spec.ns))) {
      w->stream.post(
          line("ERROR", status_object(403, "Forbidden",
                                      "user \"" + w->caller.user +
                                          "\" has no access to project \"" + spec.ns + "\"")),
          true);
      w->stream.end();
      continue;
    }
    std::string text;
    for (auto& c : changes) {
      const store::Event& e = *c.event;
      if (e.resource_version <= w->cursor || e.kind != spec.kind) continue;
      if (!spec.ns.empty() && e.ns != spec.ns) continue;
      if (!spec.name.empty() && e.name != spec.name) continue;
      if (!spec.involved.empty() &&
          (!c.object ||
           c.object->value(json::json_pointer("/involvedObject/name"), "") != spec.involved))
        continue;
      const json* owner = spec.kind == "Project" ? c.object.get() : project(e.ns);
      if (spec.kind == "Project" && !owner) owner = project(e.name);
      if (!may_view(w->caller, owner)) continue;
      std::string type = e.type;
      if (type != "DELETED") {
        bool current = c.object && (*c.object)["metadata"].value("resourceVersion", "") ==
                                       std::to_string(e.resource_version);
        if (!current) {
          if (type == "ADDED") w->unseen.insert(c.key);
          continue;
        }
        if (w->unseen.erase(c.key)) type = "ADDED";
      } else if (w->unseen.erase(c.key)) {
        continue;  // made and deleted before this watcher saw it: nothing to say
      }
      if (type == e.type) {
        if (c.text.empty()) c.text = line(type, *c.object);
        text += c.text;
      } else {
        text += line(type, *c.object);
      }
      w->sent_rv = e.resource_version;
    }
    if (last > w->cursor) w->cursor = last;
    bool finish = now >= w->deadline;
    if (spec.bookmarks && text.empty() && w->cursor > w->sent_rv &&
        now - w->last_bookmark >= bookmark_every_) {
      text = line("BOOKMARK", {{"apiVersion", api::kApiVersion},
                               {"kind", spec.kind},
                               {"metadata", {{"resourceVersion", std::to_string(w->cursor)}}}});
      w->sent_rv = w->cursor;
      w->last_bookmark = now;
    }
    if (!text.empty() || finish) w->stream.post(std::move(text), finish);
    if (finish) w->stream.end();
  }
}

}  // namespace wok::server
