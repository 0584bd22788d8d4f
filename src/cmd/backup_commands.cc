// wok backup create|list|restore|delete: a site's backups (docs/data.md),
// through the API (POST .../sites/S/backups, GET .../backups, POST
// .../restore, DELETE .../backups/ID),
// which runs restic on the platform.
#include <nlohmann/json.hpp>
#include <ostream>

#include "base/text.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/resources.h"
#include "cmd/table.h"

namespace wok::cmd {

using nlohmann::json;

namespace {

constexpr long kBackupTimeoutSeconds = 60 * 60;

HttpResponse call(Session& session, std::string_view method, const std::string& path,
                  const json& body = nullptr) {
  return session.client.request_text(method, path, body.is_null() ? "" : body.dump(),
                                     body.is_null() ? "" : "application/json",
                                     kBackupTimeoutSeconds);
}

}  // namespace

int backup_create_command(Session& session, const std::string& name) {
  if (int code = 1; !require_project(session, &code)) return code;
  HttpResponse response = call(
      session, "POST", site_subresource_path(session.project, name, "backups"), json::object());
  if (response.status / 100 != 2) return session.fail(response);
  json b;
  if (!parse_json_body(response.body, &b) || !b.is_object())
    return session.fail("the server answered with something that is not a backup");
  session.io.out << "backup " << b.value("id", "") << " of " << qualified_name(Kind::kSite, name)
                 << " created (revision " << b.value("revision", int64_t{0}) << ")\n";
  return 0;
}

int backup_delete_command(Session& session, const std::string& name, const std::string& backup) {
  if (int code = 1; !require_project(session, &code)) return code;
  HttpResponse response =
      call(session, "DELETE",
           site_subresource_path(session.project, name, "backups") + "/" + percent_encode(backup));
  if (response.status != 200) return session.fail(response);
  json b;
  if (!parse_json_body(response.body, &b) || !b.is_object())
    return session.fail("the server answered with something that is not a backup");
  session.io.out << "backup " << b.value("id", "") << " of " << qualified_name(Kind::kSite, name)
                 << " deleted\n";
  return 0;
}

int backup_list_command(Session& session, const std::string& name) {
  if (int code = 1; !require_project(session, &code)) return code;
  std::string path = site_subresource_path(session.project, name, "backups");
  if (name.empty()) {  // .../namespaces/P/backups: every site's, deleted ones too
    path = collection_path(Kind::kSite, session.project);
    path = path.substr(0, path.rfind("/sites")) + "/backups";
  }
  HttpResponse response = call(session, "GET", path);
  if (response.status != 200) return session.fail(response);
  json list;
  if (!parse_json_body(response.body, &list) || !list.value("items", json()).is_array())
    return session.fail("the server answered with something that is not a BackupList");
  if (list["items"].empty()) {
    session.io.err << "No backups found"
                   << (name.empty() ? " in project " + session.project : " of site " + name)
                   << ".\n";
    return 0;
  }
  std::string error;
  session.io.out << backup_table(list.dump(), &error);
  return 0;
}

std::string backup_table(const std::string& list_json, std::string* error) {
  json list = json::parse(list_json, nullptr, false);
  if (!list.is_object() || !list.value("items", json()).is_array()) {
    *error = "not a list of backups";
    return "";
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "SITE", "REVISION", "REASON", "AGE", "TIME"}};
  const auto now = std::chrono::system_clock::now();
  for (const json& b : list["items"]) {
    if (!b.is_object()) continue;
    std::string site = b.value("site", "");
    if (b.value("siteDeleted", false)) site += " (deleted)";
    rows.push_back({b.value("id", ""), site, std::to_string(b.value("revision", int64_t{0})),
                    b.value("reason", ""), age_since(b.value("time", ""), now),
                    b.value("time", "")});
  }
  return format_table(rows);
}

int print_cluster_backup_list(const std::string& list_json, const std::string& ns,
                              const std::string& name, std::ostream& out, std::ostream& err) {
  std::string error;
  const std::string table = backup_table(list_json, &error);
  if (!error.empty()) {
    err << "error: the list Job printed " << error << "\n";
    return 1;
  }
  // With no site left to ask through, the project's last sweep listed them.
  const json listed = json::parse(list_json, nullptr, false);
  if (listed.is_object() && listed.contains("listedAt"))
    err << "(no site of project " << ns << " is left to ask a list through: the backups as its "
        << "last sweep listed them at " << listed.value("listedAt", "") << ")\n";
  if (table.find('\n') == table.rfind('\n')) {  // the header only
    err << "No backups found " << (name.empty() ? "in project " + ns : "of site " + name) << ".\n";
    return 0;
  }
  out << table;
  return 0;
}

int backup_restore_command(Session& session, const std::string& name, const std::string& backup,
                           const std::string& to, const std::vector<std::string>& hosts) {
  if (int code = 1; !require_project(session, &code)) return code;
  // restic's short id names it as well as its whole one (and fits a path segment).
  const std::string id = backup.empty() ? "latest" : backup.substr(0, 8);
  if (to.empty()) {
    if (!hosts.empty()) return session.fail("--host is for a restore into a new site (--to NEW)");
    session.io.err << "restoring backup " << id << " into " << qualified_name(Kind::kSite, name)
                   << " (its hosts answer 503 meanwhile)...\n";
    HttpResponse response =
        call(session, "POST", site_subresource_path(session.project, name, "restore"),
             json{{"backup", id}});
    if (response.status / 100 != 2) return session.fail(response);
    json r;
    if (!parse_json_body(response.body, &r) || !r.is_object())
      return session.fail("the server answered with something that is not a restore");
    std::string what;
    for (const auto& v : r["restored"].value("storage", json::array()))
      what += (what.empty() ? "storage " : ", storage ") + v.get<std::string>();
    for (const auto& v : r["restored"].value("services", json::array()))
      what += (what.empty() ? "service " : ", service ") + v.get<std::string>();
    if (r["restored"].value("database", false)) what += what.empty() ? "database" : ", database";
    session.io.out << qualified_name(Kind::kSite, name) << " restored from backup "
                   << r.value("id", "") << " (revision " << r.value("revision", int64_t{0})
                   << (what.empty() ? "" : "; " + what) << ")"
                   << (r.value("running", false) ? "" : "; its revision is still starting") << "\n";
    if (!r.value("running", false) && !r.value("message", "").empty())
      session.io.err << "the site says: " << r.value("message", "") << "\n";
    if (r.value("preRestoreBackup", json()).is_string())
      session.io.out << "what it held before is backup " << r["preRestoreBackup"].get<std::string>()
                     << " (wok backup restore site " << name << " --backup "
                     << r["preRestoreBackup"].get<std::string>() << " puts it back)\n";
    return 0;
  }
  // Into a new site: the backup's spec, new hosts, its data by spec.cloneFrom.
  HttpResponse shown =
      call(session, "GET", site_subresource_path(session.project, name, "backups") + "/" + id);
  if (shown.status != 200) return session.fail(shown);
  json b;
  if (!parse_json_body(shown.body, &b) || !b.value("spec", json()).is_object())
    return session.fail("the server answered with something that is not a backup");
  json spec = b["spec"];
  if (!hosts.empty()) {
    spec["hosts"] = hosts;
  } else {
    HttpResponse source =
        session.client.request("GET", object_path(Kind::kSite, session.project, name));
    if (source.status == 200)
      return session.fail("site " + name + " still holds the backup's hosts: give site " + to +
                          " hosts of its own with --host HOST");
  }
  spec["cloneFrom"] = {{"site", name}, {"backup", b.value("id", id)}};
  json site = {{"apiVersion", "wok.dev/v1alpha1"},
               {"kind", "Site"},
               {"metadata", {{"name", to}, {"namespace", session.project}}},
               {"spec", spec}};
  HttpResponse created =
      session.client.request("POST", collection_path(Kind::kSite, session.project), &site);
  if (created.status / 100 != 2) return session.fail(created);
  session.io.out << qualified_name(Kind::kSite, to) << " created from backup " << b.value("id", id)
                 << " of site " << name
                 << ": its volumes and database are filled before it starts (wok rollout status "
                    "site "
                 << to << ")\n";
  return 0;
}

}  // namespace wok::cmd
