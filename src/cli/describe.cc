// wok describe site|project NAME: one object for a human, kubectl-style.
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/fields.h"
#include "cli/printing.h"
#include "cli/table.h"

namespace wok::cli {
namespace {

using nlohmann::json;

constexpr size_t kRecentRevisions = 5;

class Description {
 public:
  void field(const std::string& label, const std::string& value, int depth = 0) {
    std::string key(2 * depth, ' ');
    key += label + ":";
    out_ << key;
    if (!value.empty()) out_ << std::string(key.size() < 14 ? 14 - key.size() : 1, ' ') << value;
    out_ << '\n';
  }
  void text(const std::string& text) { out_ << text; }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string compact(const json* value) {
  if (!value || value->is_null()) return "<none>";
  if (value->is_string()) return value->get<std::string>();
  return value->dump();
}

void describe_source(Description& d, const json& site) {
  const json* source = find_at(site, {"spec", "source"});
  if (!source || !source->is_object() || source->empty()) {
    d.field("Source", "<none>");
    return;
  }
  d.field("Source", "");
  if (const json* git = find_at(*source, {"git"})) {
    d.field("URL", or_none(text_at(*git, {"url"})), 1);
    d.field("Ref", or_none(text_at(*git, {"ref"})), 1);
    d.field("Path", or_none(text_at(*git, {"path"})), 1);
    d.field("Interval", or_none(text_at(*git, {"interval"})), 1);
  }
  for (const char* other : {"archive", "image"}) {
    const json* value = find_at(*source, {other});
    if (!value) continue;
    std::string label(other);
    label[0] = static_cast<char>(std::toupper(label[0]));
    d.field(
        label,
        value->is_object() && value->contains("url") ? text_at(*value, {"url"}) : compact(value),
        1);
  }
}

std::string conditions_table(const json& object) {
  const json* conditions = find_at(object, {"status", "conditions"});
  if (!conditions || !conditions->is_array() || conditions->empty()) return "  <none>\n";
  std::vector<std::vector<std::string>> rows = {{"TYPE", "STATUS", "REASON", "MESSAGE"}};
  for (const auto& c : *conditions) {
    rows.push_back({text_at(c, {"type"}), text_at(c, {"status"}), text_at(c, {"reason"}),
                    text_at(c, {"message"})});
  }
  return format_table(rows, "  ");
}

int describe_site(Session& session, const json& site) {
  Description d;
  std::string name = text_at(site, {"metadata", "name"});
  std::string project = text_at(site, {"metadata", "namespace"});
  d.field("Name", name);
  d.field("Project", project);
  d.field("Created", or_none(text_at(site, {"metadata", "creationTimestamp"})));
  d.field("Mode", or_none(text_at(site, {"spec", "mode"})));
  d.field("Hosts", or_none(join_strings(find_at(site, {"spec", "hosts"}), ", ")));
  describe_source(d, site);
  const json* build = find_at(site, {"spec", "build"});
  d.field("Build", build && build->is_object() && build->contains("command")
                       ? join_strings(find_at(*build, {"command"}), " ")
                       : compact(build));
  d.field("URLs", or_none(join_strings(find_at(site, {"status", "urls"}), ", ")));
  d.field("Revision", or_none(text_at(site, {"status", "revision"})));
  d.field("Commit", or_none(text_at(site, {"status", "commit"})));
  d.field("Conditions", "");
  d.text(conditions_table(site));
  d.field("Last error", or_none(text_at(site, {"status", "lastError"})));

  // Revisions are a second request; the site itself is already worth showing.
  HttpResponse response =
      session.client.request("GET", site_subresource_path(project, name, "revisions"));
  json list;
  if (response.status == 200 && parse_json_body(response.body, &list)) {
    json items = list.is_object() && list.contains("items") && list["items"].is_array()
                     ? list["items"]
                     : json::array();
    json recent = json::array();  // newest first from the server; oldest first here
    for (size_t i = std::min(items.size(), kRecentRevisions); i > 0; --i) {
      recent.push_back(items[i - 1]);
    }
    d.field("Revisions", recent.empty() ? "<none>" : "");
    if (!recent.empty()) d.text(format_revisions(recent, "  "));
  } else {
    d.field("Revisions",
            "<unavailable: " + failure_message(response, session.client.server()) + ">");
  }
  session.io.out << d.str();
  return 0;
}

int describe_project(Session& session, const json& project) {
  Description d;
  d.field("Name", text_at(project, {"metadata", "name"}));
  d.field("Created", or_none(text_at(project, {"metadata", "creationTimestamp"})));
  d.field("Hosts", or_none(join_strings(find_at(project, {"spec", "hosts"}), ", ")));
  const json* members = find_at(project, {"spec", "members"});
  if (members && members->is_array() && !members->empty()) {
    d.field("Members", "");
    std::vector<std::vector<std::string>> rows = {{"USER", "ROLE"}};
    for (const auto& m : *members) rows.push_back({text_at(m, {"user"}), text_at(m, {"role"})});
    d.text(format_table(rows, "  "));
  } else {
    d.field("Members", "<none>");
  }
  const json* quota = find_at(project, {"spec", "quota"});
  if (quota && quota->is_object() && !quota->empty()) {
    d.field("Quota", "");
    for (auto it = quota->begin(); it != quota->end(); ++it) d.field(it.key(), compact(&*it), 1);
  } else {
    d.field("Quota", "<none>");
  }
  d.field("Conditions", "");
  d.text(conditions_table(project));
  session.io.out << d.str();
  return 0;
}

}  // namespace

int describe_command(Session& session, Kind kind, const std::string& name) {
  std::string project = kind == Kind::kSite ? session.project : std::string();
  if (kind == Kind::kSite && project.empty()) {
    return session.fail("a site is named within its project: pass -n PROJECT");
  }
  HttpResponse response = session.client.request("GET", object_path(kind, project, name));
  if (response.status != 200) return session.fail(response, not_found_message(kind, project, name));
  json object;
  if (!parse_json_body(response.body, &object) || !object.is_object()) {
    return session.fail("the server answered with something that is not a JSON object");
  }
  return kind == Kind::kSite ? describe_site(session, object) : describe_project(session, object);
}

}  // namespace wok::cli
