// wok apply --wait, wok rollout status|restart: a site's rollout as kubectl
// shows a Deployment's, read from the site's status and its revisions.
#include "cmd/rollout.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "api/validation.h"
#include "cmd/fields.h"
#include "cmd/resources.h"

namespace wok::cmd {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

enum class State { kWaiting, kDone, kFailed };

struct Check {
  State state = State::kWaiting;
  std::string text;  // progress, the success line, or the failure
  std::string log;   // a failed revision's build output
};

int64_t number_at(const json& value, std::initializer_list<std::string_view> path) {
  const json* v = find_at(value, path);
  return v && v->is_number_integer() ? v->get<int64_t>() : 0;
}

std::string short_commit(const std::string& commit) { return commit.substr(0, 7); }

std::string instances_progress(const json& site) {
  const json* instances = find_at(site, {"status", "instances"});
  if (!instances || !instances->is_array() || instances->empty()) return "";
  size_t running = 0;
  for (const auto& i : *instances)
    if (i.is_object() && i.value("phase", "") == "Running") ++running;
  return std::to_string(running) + " of " + std::to_string(instances->size()) +
         " instances running";
}

// One look at a site: GET the site and its revisions (newest first).
Check check(Session& session, const RolloutTarget& target) {
  HttpResponse got =
      session.client.request("GET", object_path(Kind::kSite, target.project, target.name));
  json site;
  if (got.status != 200 || !parse_json_body(got.body, &site) || !site.is_object()) {
    return {State::kFailed,
            failure_message(got, session.client.server(),
                            not_found_message(Kind::kSite, target.project, target.name)),
            ""};
  }
  HttpResponse listed = session.client.request(
      "GET", site_subresource_path(target.project, target.name, "revisions"));
  json list;
  if (listed.status != 200 || !parse_json_body(listed.body, &list) || !list.is_object()) {
    return {State::kFailed, failure_message(listed, session.client.server()), ""};
  }
  const json* found = find_at(list, {"items"});
  json items = found && found->is_array() ? *found : json::array();

  const json* ready = find_condition(site, "Ready");
  std::string reason = ready ? text_at(*ready, {"reason"}) : "";
  std::string message = ready ? text_at(*ready, {"message"}) : "";
  const json& spec = site.contains("spec") ? site["spec"] : json();
  int64_t observed = number_at(site, {"status", "observedGeneration"});
  if (observed < target.generation) return {State::kWaiting, "waiting for the controller", ""};
  std::string restart = text_at(site, {"metadata", "annotations", kRestartedAtAnnotation});
  if (!restart.empty() && restart != text_at(site, {"status", "restartedAt"})) {
    return {State::kWaiting, "restart requested", ""};
  }

  const json* newest = items.empty() ? nullptr : &items[0];
  const json* live = nullptr;
  for (const auto& item : items)
    if (item.value("live", false)) live = &item;
  auto current = [&](const json* rev) {
    return rev && number_at(*rev, {"revision"}) > target.after_revision && rev->contains("spec") &&
           (*rev)["spec"] == spec;
  };

  if (current(newest) && text_at(*newest, {"outcome"}) == "Failed") {
    return {
        State::kFailed,
        "revision " + text_at(*newest, {"revision"}) + " failed: " + text_at(*newest, {"message"}),
        text_at(*newest, {"log"})};
  }
  bool newer_pending = newest && newest != live && text_at(*newest, {"outcome"}) == "Pending";
  // A source or image the admin's flags refuse (even that of the live
  // revision, then no longer served): waiting changes nothing.
  if (reason == "SourceNotAllowed" && !newer_pending) return {State::kFailed, message, ""};
  if (current(live) && !newer_pending) {
    std::string rev = text_at(*live, {"revision"});
    if (ready_status(site) == "True") {
      return {State::kDone,
              "successfully rolled out (revision " + rev + ", commit " +
                  short_commit(text_at(*live, {"commit"})) + ")",
              ""};
    }
    std::string instances = instances_progress(site);
    return {State::kWaiting,
            "revision " + rev + " is live" + (instances.empty() ? "" : ", " + instances), ""};
  }
  if (reason == "FetchFailed" && !newer_pending) return {State::kFailed, message, ""};
  for (const char* step :
       {"building", "waiting for a build slot", "deploying", "starting revision"}) {
    if (message.rfind(step, 0) == 0) return {State::kWaiting, message, ""};
  }
  if (newer_pending)
    return {State::kWaiting, "revision " + text_at(*newest, {"revision"}) + " pending", ""};
  return {State::kWaiting, "fetching the source", ""};
}

// The last `count` lines of a build's output, each indented.
std::string tail_lines(const std::string& text, size_t count) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  size_t from = lines.size() > count ? lines.size() - count : 0;
  std::string out;
  for (size_t i = from; i < lines.size(); ++i) out += "  " + lines[i] + "\n";
  return out;
}

std::string rfc3339_millis_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(millis));
  return out;
}

}  // namespace

bool parse_timeout(const std::string& text, std::chrono::milliseconds* out) {
  long long ms = api::parse_duration_ms(text);
  if (ms <= 0) return false;
  *out = std::chrono::milliseconds(ms);
  return true;
}

int wait_for_rollout(Session& session, const std::vector<RolloutTarget>& targets,
                     std::chrono::milliseconds timeout, std::chrono::milliseconds poll) {
  auto deadline = Clock::now() + timeout;
  std::vector<std::string> shown(targets.size());
  std::vector<bool> done(targets.size(), false);
  size_t left = targets.size();
  while (left > 0) {
    for (size_t i = 0; i < targets.size(); ++i) {
      if (done[i]) continue;
      const RolloutTarget& t = targets[i];
      std::string what = "site \"" + t.name + "\"";
      Check c = check(session, t);
      if (c.state == State::kFailed) {
        session.fail(describe_object(Kind::kSite, t.project, t.name) + ": " + c.text);
        if (!c.log.empty())
          session.io.err << "Build output (last lines):\n" << tail_lines(c.log, 20);
        return 1;
      }
      if (c.state == State::kDone) {
        session.io.out << what << " " << c.text << "\n";
        done[i] = true;
        --left;
      } else if (c.text != shown[i]) {
        session.io.out << "Waiting for " << what << " rollout to finish: " << c.text << "...\n";
        session.io.out.flush();
        shown[i] = c.text;
      }
    }
    if (left == 0) break;
    if (Clock::now() >= deadline) {
      for (size_t i = 0; i < targets.size(); ++i) {
        if (done[i]) continue;
        return session.fail("timed out waiting for the rollout of " +
                            describe_object(Kind::kSite, targets[i].project, targets[i].name) +
                            (shown[i].empty() ? "" : " (" + shown[i] + ")"));
      }
    }
    std::this_thread::sleep_for(poll);
  }
  return 0;
}

int rollout_status_command(Session& session, const std::string& name,
                           std::chrono::milliseconds timeout) {
  if (int code = 1; !require_project(session, &code)) return code;
  HttpResponse got = session.client.request("GET", object_path(Kind::kSite, session.project, name));
  json site;
  if (got.status != 200 || !parse_json_body(got.body, &site) || !site.is_object()) {
    return session.fail(got, not_found_message(Kind::kSite, session.project, name));
  }
  RolloutTarget target{session.project, name, number_at(site, {"metadata", "generation"}), 0};
  return wait_for_rollout(session, {target}, timeout);
}

int rollout_restart_command(Session& session, const std::string& name) {
  if (int code = 1; !require_project(session, &code)) return code;
  std::string path = object_path(Kind::kSite, session.project, name);
  HttpResponse got = session.client.request("GET", path);
  json site;
  if (got.status != 200 || !parse_json_body(got.body, &site) || !site.is_object()) {
    return session.fail(got, not_found_message(Kind::kSite, session.project, name));
  }
  json& metadata = site["metadata"];
  if (!metadata.contains("annotations") || !metadata["annotations"].is_object())
    metadata["annotations"] = json::object();
  metadata["annotations"][kRestartedAtAnnotation] = rfc3339_millis_now();
  site.erase("status");
  HttpResponse put = session.client.request("PUT", path, &site);  // resourceVersion: no lost update
  if (put.status / 100 != 2) {
    return session.fail(put, not_found_message(Kind::kSite, session.project, name));
  }
  session.io.out << qualified_name(Kind::kSite, name) << " restarted\n";
  return 0;
}

}  // namespace wok::cmd
