// wok delete, wok rollout history|undo, wok refresh.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cmd/commands.h"
#include "cmd/fields.h"
#include "cmd/manifest.h"
#include "cmd/printing.h"

namespace wok::cmd {
namespace {

using nlohmann::json;

}  // namespace

int delete_command(Session& session, Kind kind, const std::string& name) {
  std::string project = kind == Kind::kSite ? session.project : std::string();
  int code = 1;
  if (kind == Kind::kSite && !require_project(session, &code)) return code;
  HttpResponse response = session.client.request("DELETE", object_path(kind, project, name));
  if (response.status / 100 != 2) {
    return session.fail(response, not_found_message(kind, project, name));
  }
  session.io.out << qualified_name(kind, name) << " deleted\n";
  return 0;
}

int delete_command(Session& session, const std::string& kind_word,
                   const std::vector<std::string>& names, const std::vector<std::string>& files) {
  std::vector<std::pair<Kind, std::string>> targets;  // kind, name
  std::vector<std::string> projects;                  // of each target
  if (!files.empty()) {
    if (!kind_word.empty() || !names.empty()) {
      session.io.err << "error: give either -f FILE or KIND NAME..., not both\n";
      return 2;
    }
    Manifest manifest;
    std::string error;
    if (!load_manifest(files, session.io.in, &manifest, &error) ||
        !check_manifest(&manifest, session.project, &error, /*validate=*/false)) {
      return session.fail(error);
    }
    // Secrets, then Sites, then Projects: a project's sites and secrets go with it anyway.
    for (const auto& object : manifest.objects) {
      if (object["kind"] != "Secret") continue;
      const std::string name = object["metadata"]["name"], ns = object["metadata"]["namespace"];
      HttpResponse r = session.client.request(
          "DELETE", std::string(kApiBase) + "/namespaces/" + ns + "/secrets/" + name);
      if (r.status / 100 != 2)
        return session.fail(r, "secret \"" + name + "\" not found in project \"" + ns + "\"");
      session.io.out << "secret/" << name << " deleted\n";
    }
    for (const auto& object : manifest.objects) {
      if (object["kind"] != "Site") continue;
      targets.push_back({Kind::kSite, object["metadata"]["name"]});
      projects.push_back(object["metadata"]["namespace"]);
    }
    for (const auto& object : manifest.objects) {
      if (object["kind"] != "Project") continue;
      targets.push_back({Kind::kProject, object["metadata"]["name"]});
      projects.push_back("");
    }
  } else {
    if (kind_word.empty() || names.empty()) {
      session.io.err << "error: name what to delete: KIND NAME... or -f FILE\n"
                        "Run 'wok delete --help' for usage.\n";
      return 2;
    }
    Kind kind = *parse_kind(kind_word);
    int code = 1;
    if (kind == Kind::kSite && !require_project(session, &code)) return code;
    for (const auto& name : names) {
      targets.push_back({kind, name});
      projects.push_back(kind == Kind::kSite ? session.project : "");
    }
  }
  bool any_failed = false;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto [kind, name] = targets[i];
    HttpResponse response = session.client.request("DELETE", object_path(kind, projects[i], name));
    if (response.status / 100 == 2) {
      session.io.out << qualified_name(kind, name) << " deleted\n";
      continue;
    }
    session.fail(response, not_found_message(kind, projects[i], name));
    if (response.status == 0 || response.status == 401) return 1;  // so would every other
    any_failed = true;
  }
  return any_failed ? 1 : 0;
}

int rollout_history_command(Session& session, const std::string& name) {
  int code = 1;
  if (!require_project(session, &code)) return code;
  HttpResponse response =
      session.client.request("GET", site_subresource_path(session.project, name, "revisions"));
  if (response.status != 200) {
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  }
  json list;
  if (!parse_json_body(response.body, &list) || !list.is_object()) {
    return session.fail("the server answered with something that is not a RevisionList");
  }
  const json* items = find_at(list, {"items"});
  if (!items || !items->is_array() || items->empty()) {
    session.io.err << "No revisions yet for site \"" << name << "\".\n";
    return 0;
  }
  // The server lists newest first; history reads oldest first, like helm's.
  json oldest_first = json::array();
  for (auto it = items->rbegin(); it != items->rend(); ++it) oldest_first.push_back(*it);
  session.io.out << format_revisions(oldest_first);
  return 0;
}

int rollout_undo_command(Session& session, const std::string& name, int to_revision) {
  int code = 1;
  if (!require_project(session, &code)) return code;
  json body = json::object();
  if (to_revision > 0) body["toRevision"] = to_revision;
  HttpResponse response = session.client.request(
      "POST", site_subresource_path(session.project, name, "rollback"), &body);
  if (response.status / 100 != 2) {
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  }
  session.io.out << qualified_name(Kind::kSite, name) << " rolled back";
  if (to_revision > 0) session.io.out << " to revision " << to_revision;
  session.io.out << '\n';
  return 0;
}

int refresh_command(Session& session, const std::string& name) {
  int code = 1;
  if (!require_project(session, &code)) return code;
  json body = json::object();
  HttpResponse response = session.client.request(
      "POST", site_subresource_path(session.project, name, "refresh"), &body);
  if (response.status / 100 != 2) {
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  }
  session.io.out << qualified_name(Kind::kSite, name) << " refresh requested\n";
  return 0;
}

}  // namespace wok::cmd
