// wok get projects|sites [NAME] [-o yaml|json|wide|name|jsonpath=TEMPLATE]
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/codec.h"
#include "cmd/commands.h"
#include "cmd/fields.h"
#include "cmd/jsonpath.h"
#include "cmd/printing.h"

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

}  // namespace

int get_command(Session& session, Kind kind, const std::string& name, const std::string& output) {
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
