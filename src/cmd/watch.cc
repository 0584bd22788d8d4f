// Watches from the client: one stream at a time (watch_once), `wok wait`.
#include "cmd/watch.h"

#include <algorithm>
#include <cctype>
#include <ostream>

#include "api/codec.h"
#include "cmd/fields.h"
#include "cmd/jsonpath.h"
#include "cmd/printing.h"
#include "cmd/table.h"

namespace wok::cmd {

using nlohmann::json;

int64_t version_of(const json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object())
    return 0;
  const json& md = object["metadata"];
  auto it = md.find("resourceVersion");
  if (it == md.end() || !it->is_string()) return 0;
  const std::string& text = it->get_ref<const std::string&>();
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  return std::stoll(text);
}

std::string events_path(const std::string& project) {
  return std::string(kApiBase) + "/namespaces/" + project + "/events";
}

WatchOutcome watch_once(Session& session, const std::string& collection,
                        const std::string& selector, int64_t from, int seconds,
                        const std::function<bool(const json&)>& on_event,
                        const std::string& not_found) {
  std::string path = collection + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                     std::to_string(std::clamp(seconds, 1, 3600));
  if (from > 0) path += "&resourceVersion=" + std::to_string(from);
  if (size_t eq = selector.find('='); eq != std::string::npos)
    path += "&fieldSelector=" + selector.substr(0, eq) + "%3D" + selector.substr(eq + 1);
  WatchOutcome outcome;
  std::string pending;
  bool stopped = false;
  auto sink = [&](std::string_view piece) {
    pending.append(piece);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      json event = json::parse(pending.substr(start, nl - start), nullptr, false);
      if (!event.is_object() || !event.contains("object")) {
        outcome.end = WatchOutcome::kFailed;
        outcome.error = "the server sent a watch line that is not an event";
        return false;
      }
      const std::string type = event.value("type", "");
      const json& object = event["object"];
      if (type == "ERROR") {
        int code = object.value("code", 0);
        outcome.end = code == 410 ? WatchOutcome::kGone : WatchOutcome::kFailed;
        outcome.error = object.value("message", "the watch failed");
        return false;
      }
      if (int64_t v = version_of(object); v > 0) outcome.last_version = v;
      if (type == "BOOKMARK") continue;
      if (!on_event(event)) {
        stopped = true;
        return false;
      }
    }
    pending.erase(0, start);
    return true;
  };
  // The server ends the stream at `seconds`; the client's own limit is a
  // little later, for a server that does not.
  HttpResponse r = session.client.request_text("GET", path, "", "", seconds + 10, sink);
  if (stopped) {
    outcome.end = WatchOutcome::kStopped;
    return outcome;
  }
  if (outcome.end != WatchOutcome::kEnded) return outcome;
  if (r.status == 410) {
    outcome.end = WatchOutcome::kGone;
    return outcome;
  }
  if (r.status / 100 != 2) {
    outcome.end = WatchOutcome::kFailed;
    outcome.error = failure_message(r, session.client.server(), not_found);
    return outcome;
  }
  return outcome;
}

namespace {

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct Condition {
  enum { kDelete, kCondition, kJsonPath } what = kDelete;
  std::string type, status = "True";  // kCondition
  std::string expression, value;      // kJsonPath
};

std::string parse_for(const std::string& text, Condition* c) {
  if (text == "delete") {
    c->what = Condition::kDelete;
    return "";
  }
  if (text.starts_with("condition=")) {
    c->what = Condition::kCondition;
    std::string rest = text.substr(10);
    size_t eq = rest.find('=');
    c->type = rest.substr(0, eq);
    if (eq != std::string::npos) c->status = rest.substr(eq + 1);
    if (c->type.empty() || c->status.empty())
      return "--for=condition=TYPE[=STATUS] needs a condition type (e.g. Ready)";
    return "";
  }
  if (text.starts_with("jsonpath=")) {
    c->what = Condition::kJsonPath;
    std::string rest = text.substr(9);
    size_t close = rest.rfind('}');
    if (rest.empty() || rest[0] != '{' || close == std::string::npos || close + 1 >= rest.size() ||
        rest[close + 1] != '=')
      return "--for=jsonpath={.PATH}=VALUE, e.g. jsonpath={.status.phase}=Ready";
    c->expression = rest.substr(0, close + 1);
    c->value = rest.substr(close + 2);
    std::string out, error;
    if (!render_jsonpath(c->expression, json::object(), &out, &error))
      return "--for=jsonpath: " + error;
    return "";
  }
  return "--for must be delete, condition=TYPE[=STATUS] or jsonpath={.PATH}=VALUE, not \"" + text +
         "\"";
}

bool holds(const Condition& c, const json& object) {
  if (c.what == Condition::kCondition) {
    const json* conditions = nullptr;
    if (object.contains("status") && object["status"].is_object() &&
        object["status"].contains("conditions") && object["status"]["conditions"].is_array())
      conditions = &object["status"]["conditions"];
    if (!conditions) return false;
    for (const auto& cond : *conditions) {
      if (cond.is_object() && same_text(cond.value("type", ""), c.type))
        return same_text(cond.value("status", ""), c.status);
    }
    return false;
  }
  if (c.what == Condition::kJsonPath) {
    std::string out, error;
    return render_jsonpath(c.expression, object, &out, &error) && out == c.value;
  }
  return false;
}

}  // namespace

std::string check_wait_for(const std::string& for_text) {
  Condition c;
  return parse_for(for_text, &c);
}

int wait_command(Session& session, Kind kind, const std::string& name, const std::string& for_text,
                 std::chrono::milliseconds timeout) {
  if (kind == Kind::kSite) {
    if (int code = 1; !require_project(session, &code)) return code;
  }
  Condition c;
  if (std::string error = parse_for(for_text, &c); !error.empty()) return session.fail(error);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string shown = qualified_name(kind, name);
  auto met = [&] {
    session.io.out << shown << " condition met\n";
    return 0;
  };
  std::string path = object_path(kind, session.project, name);
  HttpResponse got = session.client.request("GET", path);
  json object;
  if (got.status == 404 && c.what == Condition::kDelete) return met();
  if (got.status != 200 || !parse_json_body(got.body, &object) || !object.is_object())
    return session.fail(got, not_found_message(kind, session.project, name));
  if (holds(c, object)) return met();
  int64_t from = version_of(object);
  bool done = false, deleted = false;
  while (!done && !deleted) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline -
                                                                 std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    WatchOutcome o = watch_once(
        session, collection_path(kind, session.project), "metadata.name=" + name, from,
        static_cast<int>(left.count()),
        [&](const json& event) {
          if (event.value("type", "") == "DELETED") {
            deleted = true;
            return false;
          }
          done = holds(c, event["object"]);
          return !done;
        },
        not_found_message(kind, session.project, name));
    if (done) break;
    if (deleted) {
      if (c.what == Condition::kDelete) return met();
      return session.fail(describe_object(kind, session.project, name) +
                          " was deleted while waiting for its condition");
    }
    if (o.end == WatchOutcome::kFailed) return session.fail(o.error);
    // Too old: from nothing (the current state first); else from the last seen.
    from = o.end == WatchOutcome::kGone ? 0 : std::max(from, o.last_version);
  }
  if (done) return met();
  return session.fail("timed out waiting for the condition on " +
                      std::string(kind == Kind::kSite ? "sites/" : "projects/") + name);
}

namespace {

std::string involved(const json& e) {
  const json* o = find_at(e, {"involvedObject"});
  if (!o) return "";
  return "site/" + text_at(*o, {"name"});
}

std::string event_row_message(const json& e) {
  std::string message = text_at(e, {"message"});
  int64_t count = e.value("count", int64_t{1});
  if (count > 1) message += " (x" + std::to_string(count) + ")";
  return message;
}

std::string format_events(const json& items, Clock::time_point now) {
  std::vector<std::vector<std::string>> rows = {
      {"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}};
  for (const auto& e : items)
    rows.push_back({age_since(text_at(e, {"lastTimestamp"}), now), text_at(e, {"type"}),
                    text_at(e, {"reason"}), involved(e), event_row_message(e)});
  return format_table(rows);
}

}  // namespace

std::string format_site_events(const json& items, const std::string& indent) {
  if (!items.is_array() || items.empty()) return "";
  std::vector<std::vector<std::string>> rows = {{"TYPE", "REASON", "AGE", "FROM", "MESSAGE"}};
  auto now = Clock::now();
  for (const auto& e : items)
    rows.push_back({text_at(e, {"type"}), text_at(e, {"reason"}),
                    age_since(text_at(e, {"lastTimestamp"}), now),
                    text_at(e, {"source", "component"}), event_row_message(e)});
  return format_table(rows, indent);
}

int events_command(Session& session, const std::string& for_object, const std::string& output,
                   bool watch, bool watch_only) {
  if (int code = 1; !require_project(session, &code)) return code;
  std::string selector;
  if (!for_object.empty()) {
    size_t slash = for_object.find('/');
    auto kind = parse_kind(for_object.substr(0, slash));
    if (slash == std::string::npos || kind != Kind::kSite || slash + 1 == for_object.size())
      return session.fail("--for takes site/NAME, not \"" + for_object + "\"");
    selector = "involvedObject.name=" + for_object.substr(slash + 1);
  }
  const std::string path = events_path(session.project);
  std::string query;
  if (!selector.empty()) {
    size_t eq = selector.find('=');
    query = "?fieldSelector=" + selector.substr(0, eq) + "%3D" + selector.substr(eq + 1);
  }
  HttpResponse r = session.client.request("GET", path + query);
  json list;
  if (r.status != 200 || !parse_json_body(r.body, &list) || !list.is_object())
    return session.fail(r);
  json items = list.value("items", json::array());
  std::ostream& out = session.io.out;
  auto print_one = [&](const json& e) {
    if (output == "json")
      out << to_json_text(e);
    else if (output == "yaml")
      out << "---\n" << api::to_yaml(e);
    else {
      std::string table = format_events(json::array({e}), Clock::now());
      out << table.substr(table.find('\n') + 1);
    }
    out << std::flush;
  };
  if (!watch_only) {
    if (output == "json") {
      out << to_json_text(list);
    } else if (output == "yaml") {
      out << api::to_yaml(list);
    } else if (items.empty()) {
      session.io.err << "No events found in project " << session.project << ".\n";
    } else {
      out << format_events(items, Clock::now());
    }
    out << std::flush;
  }
  if (!watch && !watch_only) return 0;
  int64_t from = version_of(list);
  while (true) {
    WatchOutcome o = watch_once(session, path, selector, from, 1800, [&](const json& event) {
      if (event.value("type", "") != "DELETED") print_one(event["object"]);  // pruned: not news
      return true;
    });
    if (o.end == WatchOutcome::kFailed) return session.fail(o.error);
    if (o.end == WatchOutcome::kGone) {
      HttpResponse again = session.client.request("GET", path + query);
      json relisted;
      if (again.status != 200 || !parse_json_body(again.body, &relisted))
        return session.fail(again);
      from = version_of(relisted);
      continue;
    }
    from = std::max(from, o.last_version);
  }
}

}  // namespace wok::cmd
