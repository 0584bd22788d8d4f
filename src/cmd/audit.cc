// wok audit [--user U] [-n PROJECT] [--limit N] [-o json|yaml]: the API's
// audit log, for the platform admin.
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/codec.h"
#include "cmd/commands.h"
#include "cmd/fields.h"
#include "cmd/printing.h"
#include "cmd/table.h"

namespace wok::cmd {

using nlohmann::json;

namespace {

std::string object_of(const json& e) {
  std::string kind = text_at(e, {"kind"});
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string ns = text_at(e, {"namespace"}), name = text_at(e, {"name"});
  std::string out = kind.empty() ? "<none>" : kind;
  if (!ns.empty()) out += "/" + ns;
  if (!name.empty()) out += "/" + name;
  return out;
}

// "replace /spec/hosts/0, add /spec/build" (the JSON Patch's operations);
// a secret's keys before and after.
std::string change_of(const json& e) {
  const json* change = find_at(e, {"change"});
  if (!change) return "";
  std::string out;
  if (change->is_array()) {
    for (const auto& op : *change)
      out += (out.empty() ? "" : ", ") + text_at(op, {"op"}) + " " + text_at(op, {"path"});
    return out.empty() ? "no change" : out;
  }
  if (change->is_object() && change->contains("keysAfter"))
    return "keys " + (*change)["keysBefore"].dump() + " -> " + (*change)["keysAfter"].dump();
  return change->dump();
}

}  // namespace

int audit_command(Session& session, const std::string& user, int limit, const std::string& output) {
  std::string path = std::string(kApiBase) + "/audit?limit=" + std::to_string(limit);
  if (!user.empty()) path += "&user=" + user;
  if (!session.project.empty()) path += "&namespace=" + session.project;
  HttpResponse r = session.client.request("GET", path);
  json list;
  if (r.status != 200 || !parse_json_body(r.body, &list) || !list.is_object())
    return session.fail(r);
  if (output == "json") {
    session.io.out << to_json_text(list);
    return 0;
  }
  if (output == "yaml") {
    session.io.out << api::to_yaml(list);
    return 0;
  }
  json items = list.value("items", json::array());
  if (items.empty()) {
    session.io.err << "No audit entries found.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "USER", "FROM", "VERB", "OBJECT", "CODE", "CHANGE"}};
  for (const auto& e : items) {
    std::string who = text_at(e, {"user"});
    rows.push_back({text_at(e, {"time"}), who.empty() ? "<none>" : who, text_at(e, {"sourceIP"}),
                    text_at(e, {"verb"}), object_of(e),
                    std::to_string(e.value("code", 0)) +
                        (e.value("decision", "") == "refused" ? " refused" : ""),
                    change_of(e)});
  }
  session.io.out << format_table(rows);
  return 0;
}

}  // namespace wok::cmd
