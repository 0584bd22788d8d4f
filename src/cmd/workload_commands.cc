// wok logs, wok scale: the processes of php and app sites.
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "cmd/commands.h"

namespace wok::cmd {
namespace {

using nlohmann::json;

// Prints the lines of a SiteLogs answer and remembers where each stream
// ended; lines are prefixed with their instance once more than one was seen.
void print_logs(const json& logs, std::ostream& out, std::map<std::string, int64_t>* offsets,
                std::set<std::string>* seen) {
  const json& items = logs.value("items", json::array());
  for (const auto& item : items) seen->insert(item.value("instance", ""));
  for (const auto& item : items) {
    std::string instance = item.value("instance", "");
    std::string prefix = seen->size() > 1 ? instance + " | " : "";
    for (const auto& line : item.value("lines", json::array())) {
      if (line.is_string()) out << prefix << line.get<std::string>() << "\n";
    }
    (*offsets)[instance + ":" + item.value("stream", "")] = item.value("offset", int64_t{0});
  }
  out.flush();
}

// On stderr (stdout stays the output itself): which instances are not
// running, and so show their last run, and which have no previous run.
void print_notes(const json& logs, bool previous, std::ostream& err) {
  std::map<std::string, std::pair<std::string, bool>> instances;  // id -> phase, any line
  for (const auto& item : logs.value("items", json::array())) {
    auto& [phase, any] = instances[item.value("instance", "")];
    phase = item.value("phase", "");
    any = any || !item.value("lines", json::array()).empty();
  }
  for (const auto& [id, state] : instances) {
    const auto& [phase, any] = state;
    if (previous && !any) {
      err << "instance " << id << " has no previous run (it has not restarted)\n";
    } else if (!previous &&
               (phase == "Stopped" || phase == "CrashLoopBackOff" || phase == "Stopping")) {
      err << "instance " << id << " is not running (" << phase << "): the output of its last run\n";
    }
  }
}

}  // namespace

int logs_command(Session& session, const std::string& name, const std::string& component, int tail,
                 bool follow, bool previous) {
  if (int code = 1; !require_project(session, &code)) return code;
  std::string base =
      site_subresource_path(session.project, name, "logs") + "?tail=" + std::to_string(tail);
  if (!component.empty()) base += "&component=" + component;
  if (previous) base += "&previous=true";
  if (follow) base += "&follow=true";
  std::map<std::string, int64_t> offsets;
  std::set<std::string> seen;
  bool first = true;
  // One SiteLogs answer (or, following, one line of the stream).
  auto show = [&](const json& logs) {
    if (first && logs.value("items", json::array()).empty()) {
      session.io.err << "No instances for site \"" << name << "\""
                     << (component.empty() ? "" : " (component " + component + ")")
                     << ": only php and app sites have processes (a failed build: wok logs site "
                     << name << " --build).\n";
    }
    if (first) print_notes(logs, previous, session.io.err);
    first = false;
    print_logs(logs, session.io.out, &offsets, &seen);
  };
  if (!follow) {
    HttpResponse response = session.client.request("GET", base);
    if (response.status != 200)
      return session.fail(response, not_found_message(Kind::kSite, session.project, name));
    json logs;
    if (!parse_json_body(response.body, &logs) || !logs.is_object())
      return session.fail("the server answered with something that is not a SiteLogs object");
    show(logs);
    return 0;
  }
  // Followed: the server streams what is written (a SiteLogs per line). A
  // stream that ends without a word (the server restarted) is asked for
  // again from where it was; a server gone for 30 s ends it.
  int failures = 0;
  for (;;) {
    std::string path = base;
    if (!offsets.empty()) {
      path += "&from=";
      bool comma = false;
      for (const auto& [key, offset] : offsets) {
        path += (comma ? "," : "") + key + ":" + std::to_string(offset);
        comma = true;
      }
    }
    std::string pending, error;
    json status;
    auto sink = [&](std::string_view piece) {
      pending.append(piece);
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        json object = json::parse(pending.substr(start, nl - start), nullptr, false);
        if (!object.is_object()) {
          error = "the server sent a line of logs that is not a SiteLogs object";
          return false;
        }
        if (object.value("kind", "") == "Status") {
          status = std::move(object);
          return false;
        }
        show(object);
      }
      pending.erase(0, start);
      return true;
    };
    HttpResponse response = session.client.request_text("GET", path, "", "", 0, sink);
    if (!error.empty()) return session.fail(error);
    if (status.is_object()) {  // the stream's last word
      std::string message = status.value("message", "the stream of logs ended");
      if (status.value("code", 0) == 404) {
        session.io.err << message << "\n";
        return 0;
      }
      return session.fail(message);
    }
    // Cut off after it had begun (the server restarted, a slow terminal
    // fell 1 MiB behind): asked again from the offsets printed.
    failures = response.status == 0 ? failures + 1 : 0;
    if (response.status == 200 || (response.status == 0 && !first && failures <= 30)) {
      sleep(1);
      continue;
    }
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  }
}

int build_logs_command(Session& session, const std::string& name, int64_t revision) {
  if (int code = 1; !require_project(session, &code)) return code;
  HttpResponse response =
      session.client.request("GET", site_subresource_path(session.project, name, "revisions"));
  if (response.status != 200)
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  json list;
  if (!parse_json_body(response.body, &list) || !list.is_object() ||
      !list.value("items", json()).is_array()) {
    return session.fail("the server answered with something that is not a RevisionList");
  }
  const json* chosen = nullptr;  // the server lists newest first
  for (const auto& r : list["items"]) {
    if (!r.is_object()) continue;
    if (revision > 0 ? r.value("revision", int64_t{0}) == revision
                     : !r.value("log", std::string()).empty()) {
      chosen = &r;
      break;
    }
  }
  if (!chosen && revision > 0) {
    return session.fail("site \"" + name + "\" has no revision " + std::to_string(revision) +
                        ": see `wok rollout history site " + name + "`");
  }
  if (!chosen) {
    return session.fail("no revision of site \"" + name +
                        "\" ran a build (a build runs when spec.build is set)");
  }
  std::string log = chosen->value("log", std::string());
  std::string outcome = chosen->value("outcome", std::string());
  session.io.err << "revision " << chosen->value("revision", int64_t{0}) << " (" << outcome
                 << (chosen->value("message", std::string()).empty()
                         ? ""
                         : ": " + chosen->value("message", std::string()))
                 << ")" << (log.empty() ? ": no build output" : "") << "\n";
  session.io.out << log;
  if (!log.empty() && log.back() != '\n') session.io.out << '\n';
  return 0;
}

int scale_command(Session& session, const std::string& name, const std::string& component,
                  int replicas) {
  if (int code = 1; !require_project(session, &code)) return code;
  std::string path = object_path(Kind::kSite, session.project, name);
  for (int attempt = 0; attempt < 3; ++attempt) {
    HttpResponse got = session.client.request("GET", path);
    if (got.status != 200)
      return session.fail(got, not_found_message(Kind::kSite, session.project, name));
    json site;
    if (!parse_json_body(got.body, &site) || !site.is_object())
      return session.fail("the server answered with something that is not a Site");
    json* components = nullptr;
    if (site.contains("spec") && site["spec"].value("mode", "") == "app" &&
        site["spec"].contains("app")) {
      components = &site["spec"]["app"]["components"];
    }
    if (!components || !components->is_array()) {
      return session.fail("site \"" + name +
                          "\" is not an app site: only app components have replicas");
    }
    json* target = nullptr;
    std::string names;
    for (auto& c : *components) {
      names += (names.empty() ? "" : ", ") + c.value("name", "");
      if (c.value("name", "") == component) target = &c;
    }
    if (!target) {
      return session.fail("site \"" + name + "\" has no component \"" + component +
                          "\" (it has: " + names + ")");
    }
    (*target)["replicas"] = replicas;
    site.erase("status");  // resourceVersion stays: a concurrent change is retried, not overwritten
    HttpResponse put = session.client.request("PUT", path, &site);
    if (put.status == 409 && put.body.find("resourceVersion") != std::string::npos) continue;
    if (put.status / 100 != 2) return session.fail(put);
    session.io.out << qualified_name(Kind::kSite, name) << " scaled (component " << component
                   << ": " << replicas << " replica" << (replicas == 1 ? "" : "s") << ")\n";
    return 0;
  }
  return session.fail("site \"" + name + "\" kept changing while scaling it; try again");
}

}  // namespace wok::cmd
