#include "cmd/printing.h"

#include <nlohmann/json.hpp>

#include "cmd/fields.h"
#include "cmd/table.h"

namespace wok::cmd {

using nlohmann::json;

namespace {

std::string count_of(const json* array) {
  return std::to_string(array && array->is_array() ? array->size() : 0);
}

std::string short_commit(std::string commit) { return commit.substr(0, 7); }

const json& items_or_empty(const json& items) {
  static const json kEmpty = json::array();
  return items.is_array() ? items : kEmpty;
}

}  // namespace

std::string format_projects(const json& items, Clock::time_point now) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "HOSTS", "MEMBERS", "AGE"}};
  for (const auto& project : items_or_empty(items)) {
    rows.push_back({text_at(project, {"metadata", "name"}),
                    or_none(join_strings(find_at(project, {"spec", "hosts"}))),
                    count_of(find_at(project, {"spec", "members"})),
                    age_since(text_at(project, {"metadata", "creationTimestamp"}), now)});
  }
  return format_table(rows);
}

std::string format_sites(const json& items, bool with_project, bool wide, Clock::time_point now) {
  std::vector<std::string> header = {"NAME", "MODE", "HOSTS", "READY", "REVISION", "AGE"};
  if (with_project) header.insert(header.begin(), "PROJECT");
  if (wide) header.insert(header.end(), {"COMMIT", "URL", "MESSAGE"});
  std::vector<std::vector<std::string>> rows = {header};
  for (const auto& site : items_or_empty(items)) {
    std::vector<std::string> row;
    if (with_project) row.push_back(text_at(site, {"metadata", "namespace"}));
    row.push_back(text_at(site, {"metadata", "name"}));
    row.push_back(or_none(text_at(site, {"spec", "mode"})));
    row.push_back(or_none(join_strings(find_at(site, {"spec", "hosts"}))));
    row.push_back(ready_status(site));
    row.push_back(or_none(text_at(site, {"status", "revision"})));
    row.push_back(age_since(text_at(site, {"metadata", "creationTimestamp"}), now));
    if (wide) {
      const json* urls = find_at(site, {"status", "urls"});
      const json* ready = find_condition(site, "Ready");
      row.push_back(or_none(short_commit(text_at(site, {"status", "commit"}))));
      row.push_back(or_none(urls && urls->is_array() && !urls->empty() && urls->front().is_string()
                                ? urls->front().get<std::string>()
                                : ""));
      row.push_back(ready ? text_at(*ready, {"message"}) : "");
    }
    rows.push_back(std::move(row));
  }
  return format_table(rows);
}

std::string format_revisions(const json& items, const std::string& indent) {
  std::vector<std::vector<std::string>> rows = {
      {"REVISION", "COMMIT", "OUTCOME", "CREATED", "BY", "CAUSE", "MESSAGE"}};
  for (const auto& revision : items_or_empty(items)) {
    std::string outcome = or_none(text_at(revision, {"outcome"}));
    const json* live = find_at(revision, {"live"});
    if (live && live->is_boolean() && live->get<bool>()) outcome += " (live)";
    rows.push_back(
        {text_at(revision, {"revision"}), or_none(short_commit(text_at(revision, {"commit"}))),
         outcome, or_none(text_at(revision, {"createdAt"})), or_none(text_at(revision, {"author"})),
         or_none(text_at(revision, {"cause"})), text_at(revision, {"message"})});
  }
  return format_table(rows, indent);
}

std::string to_json_text(const json& value) { return value.dump(4) + "\n"; }

}  // namespace wok::cmd
