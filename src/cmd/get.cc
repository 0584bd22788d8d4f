// wok get projects|sites [NAME] [-o yaml|json|wide|name|jsonpath=TEMPLATE] [-w|--watch-only]
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/codec.h"
#include "cmd/commands.h"
#include "cmd/fields.h"
#include "cmd/jsonpath.h"
#include "cmd/printing.h"
#include "cmd/watch.h"

namespace wok::cmd {
namespace {

using nlohmann::json;

bool fetch(Session& session, const std::string& path, std::string_view not_found, json* out,
           int* exit_code) {
  HttpResponse response = session.client.request("GET", path);
  if (response.status != 200) {
    *exit_code = session.fail(response, not_found);
    return false;
  }
  if (!parse_json_body(response.body, out) || !out->is_object()) {
    *exit_code = session.fail("the server answered GET " + path +
                              " with something that is not a JSON object");
    return false;
  }
  return true;
}

json as_list(Kind kind, json items) {
  return {
      {"apiVersion", kApiVersion}, {"kind", kind_name(kind) + "List"}, {"items", std::move(items)}};
}

int print(Session& session, Kind kind, const json& document, const json& items,
          const std::string& output, bool with_project) {
  std::ostream& out = session.io.out;
  if (output == "json") {
    out << to_json_text(document);
    return 0;
  }
  if (output == "yaml") {
    out << api::to_yaml(document);
    return 0;
  }
  if (output.rfind("jsonpath=", 0) == 0) {  // no newline added, as kubectl
    std::string text, error;
    if (!render_jsonpath(output.substr(9), document, &text, &error)) return session.fail(error);
    out << text;
    return 0;
  }
  if (items.empty()) {
    session.io.err << "No resources found"
                   << (kind == Kind::kSite && !session.project.empty()
                           ? " in project " + session.project
                           : std::string())
                   << ".\n";
    return 0;
  }
  if (output == "name") {
    for (const auto& item : items)
      out << qualified_name(kind, text_at(item, {"metadata", "name"})) << '\n';
    return 0;
  }
  bool wide = output == "wide";
  out << (kind == Kind::kProject ? format_projects(items, Clock::now())
                                 : format_sites(items, with_project, wide, Clock::now()));
  return 0;
}

// One object as a watch prints it: a table row without the header, or the
// object in the format asked for.
void print_change(Session& session, Kind kind, const json& object, const std::string& output,
                  bool with_project) {
  std::ostream& out = session.io.out;
  if (output == "json") {
    out << to_json_text(object);
  } else if (output == "yaml") {
    out << "---\n" << api::to_yaml(object);
  } else if (output.rfind("jsonpath=", 0) == 0) {
    std::string text, error;
    if (render_jsonpath(output.substr(9), object, &text, &error)) out << text << '\n';
  } else if (output == "name") {
    out << qualified_name(kind, text_at(object, {"metadata", "name"})) << '\n';
  } else {
    json one = json::array({object});
    std::string table = kind == Kind::kProject
                            ? format_projects(one, Clock::now())
                            : format_sites(one, with_project, output == "wide", Clock::now());
    size_t header_end = table.find('\n');
    out << (header_end == std::string::npos ? table : table.substr(header_end + 1));
  }
  out << std::flush;
}

// -w: after the list (or the object), every change, until interrupted. A
// stream the server ends is watched again from the last version seen; a
// version too old (410) is listed again.
int follow(Session& session, Kind kind, const std::string& name, int64_t from,
           const std::string& output, bool with_project) {
  while (true) {
    WatchOutcome o =
        watch_once(session, collection_path(kind, kind == Kind::kSite ? session.project : ""),
                   name.empty() ? "" : "metadata.name=" + name, from, 1800, [&](const json& event) {
                     print_change(session, kind, event["object"], output, with_project);
                     return true;
                   });
    if (o.end == WatchOutcome::kFailed) return session.fail(o.error);
    if (o.end == WatchOutcome::kGone) {
      HttpResponse list = session.client.request(
          "GET", collection_path(kind, kind == Kind::kSite ? session.project : ""));
      json document;
      if (list.status != 200 || !parse_json_body(list.body, &document)) return session.fail(list);
      from = version_of(document);
      continue;
    }
    from = std::max(from, o.last_version);
  }
}

}  // namespace

int get_command(Session& session, Kind kind, const std::string& name, const std::string& output,
                bool watch, bool watch_only) {
  if (watch || watch_only) {
    // The list's version first, then (unless --watch-only) the list, then
    // the changes from that version.
    bool with_project = kind == Kind::kSite && session.project.empty();
    HttpResponse before = session.client.request(
        "GET", collection_path(kind, kind == Kind::kSite ? session.project : ""));
    json list;
    if (before.status != 200 || !parse_json_body(before.body, &list)) return session.fail(before);
    if (!watch_only) {
      if (int code = get_command(session, kind, name, output); code != 0) return code;
      session.io.out << std::flush;
    }
    return follow(session, kind, name, version_of(list), output, with_project);
  }
  std::string project = kind == Kind::kSite ? session.project : std::string();
  int code = 1;
  json document;
  if (!name.empty() && (kind == Kind::kProject || !project.empty())) {
    if (!fetch(session, object_path(kind, project, name), not_found_message(kind, project, name),
               &document, &code)) {
      return code;
    }
    return print(session, kind, document, json::array({document}), output, false);
  }
  if (!fetch(session, collection_path(kind, project), {}, &document, &code)) return code;
  json items = document.contains("items") && document["items"].is_array() ? document["items"]
                                                                          : json::array();
  bool with_project = kind == Kind::kSite && project.empty();
  if (name.empty()) return print(session, kind, document, items, output, with_project);

  // A site named without -n: look for it in every visible project.
  json matches = json::array();
  for (const auto& item : items) {
    if (text_at(item, {"metadata", "name"}) == name) matches.push_back(item);
  }
  if (matches.empty())
    return session.fail("site \"" + name + "\" not found in any project you can see");
  json shown = matches.size() == 1 ? matches.front() : as_list(kind, matches);
  return print(session, kind, shown, matches, output, true);
}

}  // namespace wok::cmd
