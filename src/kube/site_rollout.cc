#include "kube/site_rollout.h"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "api/validation.h"
#include "base/text.h"
#include "kube/credentials.h"
#include "kube/kinds.h"
#include "kube/site_backups.h"
#include "kube/site_revisions.h"
#include "render/plan.h"

namespace wok::kube {
namespace {

using nlohmann::json;

std::string not_found(const std::string& ns, const std::string& name) {
  return "site \"" + name + "\" not found in namespace \"" + ns + "\"";
}

}  // namespace

bool get_site(KubeClient& client, const std::string& ns, const std::string& name, json* site,
              std::string* error) {
  Reply r = client.request("GET", site_kind().object_path(ns, name));
  if (r.status == 404) {
    *error = not_found(ns, name);
    return false;
  }
  if (!r.ok()) {
    *error = "get site " + ns + "/" + name + ": " + r.describe();
    return false;
  }
  *site = json::parse(r.body, nullptr, false);
  if (!site->is_object()) {
    *error = "the API server answered with something that is not a Site";
    return false;
  }
  return true;
}

bool list_revisions(KubeClient& client, const json& site, std::vector<SiteRevision>* out,
                    size_t* refused, std::string* error) {
  const std::string ns = site["metadata"].value("namespace", ""),
                    name = site["metadata"].value("name", "");
  const KindInfo& kind = *find_kind("apps/v1", "ControllerRevision");
  Reply r =
      client.request("GET", kind.collection_path(ns) + "?labelSelector=wok.dev%2Fsite%3D" + name);
  if (!r.ok()) {
    *error = "list controllerrevisions in " + ns + ": " + r.describe();
    return false;
  }
  json list = json::parse(r.body, nullptr, false);
  std::vector<json> items;
  if (list.is_object() && list.contains("items") && list["items"].is_array())
    for (auto& item : list["items"]) {
      item["apiVersion"] = "apps/v1";  // lists leave it out of their items
      item["kind"] = "ControllerRevision";
      items.push_back(item);
    }
  std::vector<std::string> why;
  *out = site_revisions(site, items, &why);
  *refused = why.size();
  return true;
}

RolloutResult patch_annotations(KubeClient& client, const std::string& ns, const std::string& name,
                                const json& annotations, const std::string& done) {
  json patch = {{"metadata", {{"annotations", annotations}}}};
  Reply r = client.request("PATCH", site_kind().object_path(ns, name), patch.dump(),
                           "application/merge-patch+json");
  if (r.status == 404) return {false, not_found(ns, name)};
  if (!r.ok()) return {false, "patch site " + ns + "/" + name + ": " + r.describe()};
  return {true, done};
}

std::string pad(const std::string& text, size_t width) {
  return text.size() >= width ? text + "   " : text + std::string(width + 3 - text.size(), ' ');
}

RolloutResult kube_rollout_history(KubeClient& client, const std::string& ns,
                                   const std::string& name) {
  json site;
  std::string error;
  std::vector<SiteRevision> revisions;
  size_t refused = 0;
  if (!get_site(client, ns, name, &site, &error) ||
      !list_revisions(client, site, &revisions, &refused, &error))
    return {false, error};
  if (revisions.empty()) return {true, "No revisions yet for site \"" + name + "\".\n"};
  const json status = site.value("status", json::object());
  const int64_t live = status.value("revision", int64_t{0}),
                pinned = status.value("pinnedRevision", int64_t{0});
  std::string out = pad("REVISION", 8) + pad("COMMIT", 7) + pad("CREATED", 20) + "CAUSE\n";
  for (auto it = revisions.rbegin(); it != revisions.rend(); ++it) {
    std::string number = std::to_string(it->number);
    if (it->number == live)
      number += " (live)";
    else if (it->number == pinned)
      number += " (pinned)";
    out += pad(number, 8) + pad(it->commit.empty() ? "-" : it->commit.substr(0, 7), 7) +
           pad(it->created, 20) + it->cause + "\n";
  }
  if (refused > 0)
    out += std::to_string(refused) +
           " controllerrevision(s) labelled for this site were not made by the operator "
           "and are not listed\n";
  return {true, out};
}

RolloutResult kube_rollout_undo(KubeClient& client, const std::string& ns, const std::string& name,
                                int64_t to_revision) {
  json site;
  std::string error;
  std::vector<SiteRevision> revisions;
  size_t refused = 0;
  if (!get_site(client, ns, name, &site, &error) ||
      !list_revisions(client, site, &revisions, &refused, &error))
    return {false, error};
  const int64_t live = site.value("status", json::object()).value("revision", int64_t{0});
  int64_t target = 0;
  for (const auto& r : revisions) {  // newest first
    if (to_revision > 0 ? r.number == to_revision : r.number < live) {
      target = r.number;
      break;
    }
  }
  if (target == 0) {
    return {false, to_revision > 0
                       ? "site \"" + name + "\" has no revision " + std::to_string(to_revision) +
                             ": see `wok rollout history site " + name + "`"
                       : "site \"" + name + "\" has no earlier revision to roll back to"};
  }
  const std::string generation = std::to_string(site["metadata"].value("generation", int64_t{1}));
  return patch_annotations(
      client, ns, name,
      {{kRollbackToAnnotation, std::to_string(target)},
       {kRollbackGenerationAnnotation, generation}},
      "site.wok.dev/" + name + " rolled back to revision " + std::to_string(target) + "\n");
}

RolloutResult kube_db_upgrade(KubeClient& client, const std::string& ns, const std::string& name,
                              const std::string& to) {
  json site;
  std::string error;
  if (!get_site(client, ns, name, &site, &error)) return {false, error};
  const json spec = site.value("spec", json::object());
  const json db = spec.is_object() ? spec.value("database", json()) : json();
  if (!db.is_object()) return {false, "site \"" + name + "\" has no database (spec.database)"};
  const std::string engine = db.value("engine", "");
  const api::DatabaseEngine* e = api::database_engine(engine);
  if (!e) return {false, "site \"" + name + "\" has no database engine wok knows"};
  const std::string now = db.contains("version") && db["version"].is_string()
                              ? db["version"].get<std::string>()
                              : std::string(e->version);
  if (to.empty() || to.find_first_not_of("0123456789.") != std::string::npos)
    return {false, "--to \"" + to + "\" is not a version"};
  if (api::compare_versions(to, now) == 0)
    return {false, "site \"" + name + "\"'s database runs " + engine + " " + now + " already"};
  if (api::compare_versions(to, now) < 0)
    return {false, "site \"" + name + "\"'s database runs " + engine + " " + now +
                       "; it is never downgraded to " + to +
                       " (a dump imported into a new site is the way back)"};
  // One merge patch: the webhook sees the version and the request together.
  json patch = {{"metadata", {{"annotations", {{kDatabaseUpgradeAnnotation, to}}}}},
                {"spec", {{"database", {{"version", to}}}}}};
  Reply r = client.request("PATCH", site_kind().object_path(ns, name), patch.dump(),
                           "application/merge-patch+json");
  if (r.status == 404) return {false, not_found(ns, name)};
  if (!r.ok()) return {false, "patch site " + ns + "/" + name + ": " + r.describe()};
  return {true, "site.wok.dev/" + name + ": database upgrade from " + engine + " " + now + " to " +
                    to + " requested: CloudNativePG upgrades the data before " + to +
                    " starts (kubectl get clusters.postgresql.cnpg.io " + name + "-db" + " -n " +
                    ns + ")\n"};
}

RolloutResult kube_refresh(KubeClient& client, const std::string& ns, const std::string& name,
                           const std::string& now) {
  return patch_annotations(client, ns, name,
                           {{kRefreshAnnotation, now},
                            {kRollbackToAnnotation, nullptr},
                            {kRollbackGenerationAnnotation, nullptr}},
                           "site.wok.dev/" + name + " refresh requested\n");
}

namespace {

// The Site, when the cluster backs it up (spec.storage, spec.database or
// spec.backup); "" or the error to show.
std::string backed_up(const json& site, const std::string& name) {
  if (!render::plan_site(site).backup.on_cluster)
    return "site \"" + name +
           "\" has nothing a cluster backs up (no spec.storage, spec.database nor spec.backup): "
           "its files come from its source";
  return "";
}

std::string backed_up_site(KubeClient& client, const std::string& ns, const std::string& name,
                           json* site) {
  std::string error;
  if (!get_site(client, ns, name, site, &error)) return error;
  return backed_up(*site, name);
}

}  // namespace

RolloutResult kube_backup_request(KubeClient& client, const std::string& ns,
                                  const std::string& name, const std::string& now) {
  json site;
  if (std::string error = backed_up_site(client, ns, name, &site); !error.empty())
    return {false, error};
  const std::string job = backup_job_name(name, now);
  return patch_annotations(client, ns, name, {{kBackupRequestAnnotation, now}},
                           "site.wok.dev/" + name + " backup requested: the operator runs it as " +
                               "job " + job + " (kubectl logs -n " + ns + " job/" + job + ")\n");
}

RolloutResult kube_restore_request(KubeClient& client, const std::string& ns,
                                   const std::string& name, const std::string& backup,
                                   const std::string& now) {
  const std::string id = backup.empty() ? "latest" : backup;
  if (!api::is_backup_ref(id))
    return {false, "--backup \"" + id + "\" is not a backup id (8 to 64 hex digits) nor latest"};
  json site;
  if (std::string error = backed_up_site(client, ns, name, &site); !error.empty())
    return {false, error};
  const std::string job = restore_job_name(name, now);
  return patch_annotations(
      client, ns, name, {{kRestoreRequestAnnotation, now}, {kRestoreBackupAnnotation, id}},
      "site.wok.dev/" + name + " restore from backup " + id +
          " requested: the operator stops its pods, then runs job " + job +
          " (a backup of what it replaces first); its progress is the site's status.restore "
          "(kubectl get site " +
          name + " -n " + ns + " -o jsonpath='{.status.restore}')\n");
}

namespace {
std::string now_rfc3339() {
  char now[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return now;
}
}  // namespace

namespace {

// Job `job`'s end within `until`: the JSON line of its container's log
// starting with `line_start`, or why there is none (its log's last line
// when it failed: a repository it cannot read is an error, never an empty
// list).
RolloutResult wait_for_job_line(KubeClient& client, const std::string& ns, const std::string& job,
                                const std::string& container, const std::string& line_start,
                                std::chrono::steady_clock::time_point until) {
  const std::string jobs = "/apis/batch/v1/namespaces/" + ns + "/jobs/" + job;
  bool made = false;
  // The log of the job's pod (what the list printed, or why it failed).
  auto pod_log = [&](std::string* text) -> std::string {
    Reply pods =
        client.request("GET", "/api/v1/namespaces/" + ns + "/pods?labelSelector=job-name%3D" + job);
    json list = pods.ok() ? json::parse(pods.body, nullptr, false) : json();
    if (!list.is_object() || !list.value("items", json()).is_array() || list["items"].empty())
      return "job " + job + " has no pod left to read";
    const std::string pod = list["items"][0]["metadata"].value("name", "");
    Reply log = client.request(
        "GET", "/api/v1/namespaces/" + ns + "/pods/" + pod + "/log?container=" + container);
    if (!log.ok()) return "log of pod " + pod + ": " + log.describe();
    *text = log.body;
    return "";
  };
  while (std::chrono::steady_clock::now() < until) {
    Reply r = client.request("GET", jobs);
    json j = r.ok() ? json::parse(r.body, nullptr, false) : json();
    made = made || r.ok();
    const json st = j.is_object() ? j.value("status", json::object()) : json::object();
    if (st.value("failed", 0) > 0) {
      std::string text, why;
      if (pod_log(&text).empty()) why = last_line(text, 1000);
      if (why.starts_with("error: ")) why.erase(0, 7);
      return {false, "job " + job + " failed" + (why.empty() ? "" : ": " + why) +
                         " (kubectl logs -n " + ns + " job/" + job + ")"};
    }
    if (st.value("succeeded", 0) > 0) {
      std::string text;
      if (std::string error = pod_log(&text); !error.empty()) return {false, error};
      size_t at = text.find(line_start);
      if (at == std::string::npos)
        return {false, "the log of job " + job + " holds no line " + line_start + "...}"};
      return {true, text.substr(at, text.find('\n', at) - at)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return {false, made ? "job " + job + " did not finish in time (kubectl get job " + job + " -n " +
                            ns + ")"
                      : "the operator made no job " + job + " for the request: is it running?"};
}

// The project's Sites now, by name (a list's items are marked siteDeleted
// against them, as wok up's API marks them).
std::string project_sites(KubeClient& client, const std::string& ns, std::vector<json>* sites) {
  Reply r = client.request("GET", site_kind().collection_path(ns));
  json list = r.ok() ? json::parse(r.body, nullptr, false) : json();
  if (!r.ok()) return "list the sites of project " + ns + ": " + r.describe();
  if (!list.is_object() || !list.value("items", json()).is_array())
    return "list the sites of project " + ns + ": not a list";
  for (const json& s : list["items"])
    if (s.is_object() && s.contains("metadata")) sites->push_back(s);
  std::sort(sites->begin(), sites->end(), [](const json& a, const json& b) {
    return a["metadata"].value("name", "") < b["metadata"].value("name", "");
  });
  return "";
}

// The list line with each item's siteDeleted: its site is not there now,
// or is a namesake made since (another uid).
RolloutResult mark_deleted(RolloutResult listed, const std::vector<json>& sites,
                           const std::string& listed_at = "") {
  if (!listed.ok) return listed;
  json line = json::parse(listed.text, nullptr, false);
  if (!line.is_object() || !line.value("items", json()).is_array())
    return {false, "the list's job printed something that is not a list of backups"};
  json out = {{"items", json::array()}};
  for (json item : line["items"]) {
    if (!item.is_object()) continue;
    bool live = false;
    for (const json& s : sites)
      live = live || (s["metadata"].value("name", "") == item.value("site", "") &&
                      s["metadata"].value("uid", "") == item.value("siteUid", ""));
    item["siteDeleted"] = !live;
    out["items"].push_back(item);
  }
  if (!listed_at.empty()) out["listedAt"] = listed_at;
  return {true, out.dump()};
}

// A project with no site to ask through: the list its last sweep printed
// (a sweep runs when a site is deleted, and daily; with no site left no
// backup is made, so only a sweep changes the repository).
RolloutResult list_of_last_sweep(KubeClient& client, const std::string& ns,
                                 std::chrono::steady_clock::time_point until) {
  Reply r =
      client.request("GET", "/apis/batch/v1/namespaces/" + ns +
                                "/jobs?labelSelector=app.kubernetes.io%2Fname%3Dbackup-sweep");
  json list = r.ok() ? json::parse(r.body, nullptr, false) : json();
  if (!r.ok() || !list.is_object() || !list.value("items", json()).is_array())
    return {false, "list the sweep jobs of project " + ns + ": " + r.describe()};
  const json* newest = nullptr;
  auto started = [](const json& j) {
    const json st = j.value("status", json::object());
    return st.value("startTime", j["metadata"].value("creationTimestamp", ""));
  };
  for (const json& j : list["items"])
    if (j.is_object() && j.contains("metadata") && (!newest || started(j) > started(*newest)))
      newest = &j;
  if (!newest) {
    // The key is made with the repository (a claim, or a store's).
    Reply key =
        client.request("GET", "/api/v1/namespaces/" + ns + "/secrets/" + render::kBackupKeySecret);
    if (key.status == 404) return {true, R"({"items":[]})"};  // no repository: no backup
    return {false, "project " + ns +
                       " has no site to ask a list through and no sweep of its backups has run "
                       "yet (the operator runs one when a site is deleted, and daily)"};
  }
  const std::string job = (*newest)["metadata"].value("name", "");
  RolloutResult line = wait_for_job_line(client, ns, job, "sweep", "{\"forgotten\"", until);
  if (!line.ok) return line;
  json swept = json::parse(line.text, nullptr, false);
  if (!swept.is_object() || !swept.value("items", json()).is_array())
    return {false, "the sweep's job " + job + " printed no list of backups (kubectl logs -n " + ns +
                       " job/" + job + ")"};
  return {true, json{{"items", swept["items"]}, {"time", swept.value("time", "")}}.dump()};
}

// The sites a request about the project's backups may ride on: those
// that keep data (the operator keeps the repository for those), the ones
// whose passes reach their backups first (status.backup there, no restore
// under way), by name.
std::vector<json> carrier_sites(const std::vector<json>& sites) {
  std::vector<json> carriers;
  for (const json& site : sites)
    if (render::plan_site(site).backup.on_cluster) carriers.push_back(site);
  std::stable_partition(carriers.begin(), carriers.end(), [](const json& site) {
    const json status = site.value("status", json::object());
    const std::string phase = status.value("restore", json::object()).value("phase", "");
    return status.contains("backup") && phase != "Stopping" && phase != "Restoring";
  });
  return carriers;
}

}  // namespace

RolloutResult kube_backup_list(KubeClient& client, const std::string& ns, const std::string& name,
                               const std::string& token, std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  std::vector<json> sites;
  if (std::string error = project_sites(client, ns, &sites); !error.empty()) return {false, error};
  if (!name.empty()) {
    // The site among those just listed (no second request for it).
    auto site = std::find_if(sites.begin(), sites.end(), [&name](const json& s) {
      return s["metadata"].value("name", "") == name;
    });
    if (site == sites.end()) return {false, not_found(ns, name)};
    if (std::string error = backed_up(*site, name); !error.empty()) return {false, error};
    RolloutResult asked = patch_annotations(client, ns, name, {{kBackupListAnnotation, token}}, "");
    if (!asked.ok) return asked;
    return mark_deleted(
        wait_for_job_line(client, ns, list_job_name(name, token), "list", "{\"items\"", until),
        sites);
  }
  // The project's: asked through one of its sites (carrier_sites); the
  // Job lists every site's.
  const std::vector<json> carriers = carrier_sites(sites);
  if (!carriers.empty()) {
    const std::string carrier = carriers.front()["metadata"].value("name", "");
    RolloutResult asked =
        patch_annotations(client, ns, carrier, {{kProjectBackupListAnnotation, token}}, "");
    if (!asked.ok) return asked;
    return mark_deleted(
        wait_for_job_line(client, ns, project_list_job_name(token), "list", "{\"items\"", until),
        sites);
  }
  RolloutResult swept = list_of_last_sweep(client, ns, until);
  if (!swept.ok) return swept;
  return mark_deleted(swept, sites, json::parse(swept.text).value("time", ""));
}

RolloutResult kube_backup_delete(KubeClient& client, const std::string& ns, const std::string& name,
                                 const std::string& backup, const std::string& token,
                                 std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  if (backup.empty() || backup == "latest")
    return {false, "name the backup to delete by its id (wok backup list site " + name +
                       "), not \"latest\""};
  if (!api::is_backup_ref(backup))
    return {false, "--backup \"" + backup + "\" is not a backup id (8 to 64 hex digits)"};
  if (!api::is_dns_label(name)) return {false, "\"" + name + "\" is not a site's name"};
  std::vector<json> sites;
  if (std::string error = project_sites(client, ns, &sites); !error.empty()) return {false, error};
  // The site itself when it is there and backed up; a deleted one's
  // backups through another site of the project that keeps data.
  std::string carrier;
  for (const json& s : carrier_sites(sites))
    if (carrier.empty() || s["metadata"].value("name", "") == name)
      carrier = s["metadata"].value("name", "");
  if (carrier.empty())
    return {false,
            "project " + ns + " has no site that keeps data left to delete a backup through"};
  RolloutResult asked = patch_annotations(
      client, ns, carrier,
      {{kBackupDeleteRequestAnnotation, token}, {kBackupDeleteAnnotation, name + "/" + backup}},
      "");
  if (!asked.ok) return asked;
  const std::string job = delete_job_name(token);
  for (;;) {
    // Refused by the operator (no grant: the webhook was off), said in status.
    Reply got = client.request("GET", site_kind().object_path(ns, carrier));
    json site = got.ok() ? json::parse(got.body, nullptr, false) : json();
    const json b = site.is_object()
                       ? site.value("status", json::object()).value("backup", json::object())
                       : json::object();
    if (b.value("deleteRequest", json()) == token && b.value("deleteError", json()).is_string())
      return {false, b["deleteError"].get<std::string>()};
    const auto step = std::min(until, std::chrono::steady_clock::now() + std::chrono::seconds(2));
    RolloutResult done = wait_for_job_line(client, ns, job, "forget", "{\"deleted\"", step);
    if (done.ok) {
      const json line = json::parse(done.text, nullptr, false);
      const std::string id = line.is_object() && line.value("deleted", json()).is_object()
                                 ? line["deleted"].value("id", backup)
                                 : backup;
      return {true, "backup " + id + " of site.wok.dev/" + name + " deleted"};
    }
    const bool waiting = done.text.starts_with("the operator made no job") ||
                         done.text.starts_with("job " + job + " did not finish");
    if (!waiting || std::chrono::steady_clock::now() >= until) return done;
  }
}

RolloutResult kube_restore_to(KubeClient& client, const std::string& ns, const std::string& name,
                              const std::string& backup, const std::string& to,
                              const std::vector<std::string>& hosts, const std::string& token,
                              std::chrono::milliseconds wait) {
  const std::string id = backup.empty() ? "latest" : backup;
  if (!api::is_backup_ref(id))
    return {false, "--backup \"" + id + "\" is not a backup id (8 to 64 hex digits) nor latest"};
  if (hosts.empty())
    return {false,
            "--host: the new site's hosts (site \"" + name + "\" keeps its own on a cluster)"};
  if (!api::is_dns_label(name)) return {false, "\"" + name + "\" is not a site's name"};
  json site, spec;
  std::string from = "site " + name + "'s spec";
  Reply there = client.request("GET", site_kind().object_path(ns, name));
  if (there.status == 404) {
    // A deleted site: the backup's own spec, read by a Job asked through
    // another site of the project (as the project's list is).
    std::vector<json> sites;
    if (std::string error = project_sites(client, ns, &sites); !error.empty())
      return {false, error};
    const std::vector<json> carriers = carrier_sites(sites);
    if (carriers.empty())
      return {false, "site \"" + name + "\" is not in project " + ns +
                         " and no site that keeps data is left to read its backup through: "
                         "write site " +
                         to + " with spec.cloneFrom {site: " + name + ", backup: " + id +
                         "} and the spec it should run"};
    const std::string carrier = carriers.front()["metadata"].value("name", "");
    RolloutResult asked = patch_annotations(
        client, ns, carrier,
        {{kBackupShowRequestAnnotation, token}, {kBackupShowAnnotation, name + "/" + id}}, "");
    if (!asked.ok) return asked;
    RolloutResult shown = wait_for_job_line(client, ns, show_job_name(token), "show", "{\"backup\"",
                                            std::chrono::steady_clock::now() + wait);
    if (!shown.ok) return shown;
    const json line = json::parse(shown.text, nullptr, false);
    if (!line.is_object() || !line.value("backup", json()).is_object() ||
        !line["backup"].value("spec", json()).is_object())
      return {false, "the show job " + show_job_name(token) + " printed no backup's spec"};
    spec = line["backup"]["spec"];
    from = "backup " + line["backup"].value("id", id) + "'s spec";
    site = {{"apiVersion", "wok.dev/v1alpha1"}};
  } else {
    if (!there.ok()) return {false, "get site " + ns + "/" + name + ": " + there.describe()};
    site = json::parse(there.body, nullptr, false);
    if (!site.is_object())
      return {false, "the API server answered with something that is not a Site"};
    if (std::string error = backed_up(site, name); !error.empty()) return {false, error};
    spec = site.value("spec", json::object());
  }
  spec["hosts"] = hosts;
  spec["cloneFrom"] = {{"site", name}, {"backup", id}};
  json copy = {{"apiVersion", site.value("apiVersion", "wok.dev/v1alpha1")},
               {"kind", "Site"},
               {"metadata", {{"name", to}, {"namespace", ns}}},
               {"spec", spec}};
  Reply made =
      client.request("POST", site_kind().collection_path(ns), copy.dump(), "application/json");
  if (made.status == 409) return {false, "site \"" + to + "\" exists already"};
  if (!made.ok()) return {false, "create site " + ns + "/" + to + ": " + made.describe()};
  return {true, "site.wok.dev/" + to + " created with " + from + " and spec.cloneFrom (backup " +
                    id +
                    "): the operator fills it from the backup before it first runs (its "
                    "status.restore, then status.clonedFrom)\n"};
}

int with_cluster(const std::string& kubeconfig, const std::string& context, const std::string& ns,
                 const std::function<int(KubeClient& client)>& call, std::ostream& err) {
  if (ns.empty()) {
    err << "error: which project? -n PROJECT (the site's namespace on the cluster)\n";
    return 1;
  }
  Credentials creds;
  std::string error;
  if (!load_kubeconfig(kubeconfig, context, &creds, &error)) {
    err << "error: " << error << "\n";
    return 1;
  }
  KubeClient client(creds, "wok-cli");
  return call(client);
}

int run_on_cluster(const std::string& kubeconfig, const std::string& context, const std::string& ns,
                   const ClusterCall& call, std::ostream& out, std::ostream& err) {
  return with_cluster(
      kubeconfig, context, ns,
      [&](KubeClient& client) {
        RolloutResult result = call(client, now_rfc3339());
        if (!result.ok) {
          err << "error: " << result.text << "\n";
          return 1;
        }
        out << result.text;
        return 0;
      },
      err);
}

int run_site_verb(SiteVerb verb, const std::string& kubeconfig, const std::string& context,
                  const std::string& ns, const std::string& name, int64_t to_revision,
                  std::ostream& out, std::ostream& err) {
  return run_on_cluster(
      kubeconfig, context, ns,
      [&](KubeClient& client, const std::string& now) {
        RolloutResult result;
        switch (verb) {
          case SiteVerb::kHistory:
            result = kube_rollout_history(client, ns, name);
            break;
          case SiteVerb::kUndo:
            result = kube_rollout_undo(client, ns, name, to_revision);
            break;
          case SiteVerb::kRefresh:
            result = kube_refresh(client, ns, name, now);
            break;
          case SiteVerb::kBackup:
            result = kube_backup_request(client, ns, name, now);
            break;
        }
        return result;
      },
      out, err);
}

}  // namespace wok::kube
