// A site's backup CronJob (render/backup.cc): which sites get one, what its
// pod holds, and that it runs the dump wok up's backups run. The whole
// object is pinned by golden/backup.yaml; these are the rules behind it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "render/database_client.h"
#include "render/plan.h"
#include "render/render.h"

namespace {

using nlohmann::json;
using wok::render::PlatformSettings;

json site_with(const json& spec) {
  json site = {{"apiVersion", "wok.dev/v1alpha1"},
               {"kind", "Site"},
               {"metadata", {{"name", "blog"}, {"namespace", "team-b"}, {"uid", "u-1"}}},
               {"spec", spec}};
  site["spec"]["hosts"] = {"blog.example.org"};
  site["spec"]["source"] = {{"git", {{"url", "https://example.org/blog.git"}}}};
  return site;
}

const json* backup_cron_job(const std::vector<json>& objects) {
  for (const json& o : objects)
    if (o["kind"] == "CronJob" && o["metadata"]["name"] == "blog-backup") return &o;
  return nullptr;
}

json php_with_data() {
  return {{"mode", "php"},
          {"storage", {{{"name", "uploads"}, {"path", "up"}, {"size", "1Gi"}}}},
          {"database", {{"engine", "postgresql"}, {"size", "1Gi"}}}};
}

bool backed_up(const json& site) {
  return backup_cron_job(wok::render::render_site(site, json(), PlatformSettings{})) != nullptr;
}

TEST(RenderBackup, OnlySitesThatKeepDataOrAskForBackups) {
  EXPECT_FALSE(backed_up(site_with({{"mode", "static"}})));
  json app = {{"mode", "app"}, {"app", {{"components", {{{"name", "web"}, {"image", "x:1"}}}}}}};
  EXPECT_FALSE(backed_up(site_with(app)));
  EXPECT_TRUE(backed_up(site_with({{"mode", "static"}, {"backup", {{"schedule", "0 3 * * *"}}}})));
  EXPECT_TRUE(backed_up(site_with(php_with_data())));
  // No uid (a file given to `wok render`): the snapshot could not name the
  // site; the operator's render, which has it, makes the CronJob.
  json no_uid = site_with(php_with_data());
  no_uid["metadata"].erase("uid");
  EXPECT_FALSE(backed_up(no_uid));
}

TEST(RenderBackup, SuspendedWithoutASchedule) {
  auto objects = wok::render::render_site(site_with(php_with_data()), json(), PlatformSettings{});
  const json* j = backup_cron_job(objects);
  ASSERT_NE(j, nullptr);
  EXPECT_TRUE((*j)["spec"]["suspend"].get<bool>());
  json spec = php_with_data();
  spec["backup"] = {{"schedule", "15 2 * * *"}};
  auto scheduled = wok::render::render_site(site_with(spec), json(), PlatformSettings{});
  j = backup_cron_job(scheduled);
  ASSERT_NE(j, nullptr);
  EXPECT_FALSE((*j)["spec"]["suspend"].get<bool>());
  EXPECT_EQ((*j)["spec"]["schedule"], "15 2 * * *");
  EXPECT_EQ((*j)["spec"]["timeZone"], "Etc/UTC");
  EXPECT_EQ((*j)["spec"]["concurrencyPolicy"], "Forbid");
}

TEST(RenderBackup, ThePodDumpsTheDatabaseAndReadsTheVolumesReadOnly) {
  json site = site_with(php_with_data());
  site["status"] = {{"revision", 4}, {"commit", std::string(40, 'a')}};
  auto objects = wok::render::render_site(site, json(), PlatformSettings{});
  const json* j = backup_cron_job(objects);
  ASSERT_NE(j, nullptr);
  const json& pod = (*j)["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  // The dump is the one wok up's backups and `wok db dump` run.
  ASSERT_EQ(pod["initContainers"].size(), 1u);
  const json& dump = pod["initContainers"][0];
  std::vector<std::string> command =
      wok::render::database_client_command("postgresql", wok::render::DatabaseAction::kDump);
  command.back() += " > /backup/database.sql";
  EXPECT_EQ(dump["command"], json(command));
  EXPECT_EQ(dump["image"], PlatformSettings{}.postgresql_image);
  bool password_from_secret = false;
  for (const json& e : dump["env"])
    if (e["name"] == "PGPASSWORD")
      password_from_secret = e["valueFrom"]["secretKeyRef"]["name"] == "blog-db";
  EXPECT_TRUE(password_from_secret) << dump["env"].dump();
  const json& backup = pod["containers"][0];
  EXPECT_EQ(backup["args"][0], "backup-job");
  // The site's claim, read-only in the pod and in its mount.
  bool claim = false, mount = false;
  for (const json& v : pod["volumes"])
    if (v.contains("persistentVolumeClaim") &&
        v["persistentVolumeClaim"]["claimName"] == "blog-uploads")
      claim = v["persistentVolumeClaim"]["readOnly"].get<bool>();
  for (const json& m : backup["volumeMounts"])
    if (m["mountPath"] == "/backup/storage/uploads") mount = m["readOnly"].get<bool>();
  EXPECT_TRUE(claim && mount) << pod.dump();
  // The revision the snapshot records: number, commit, spec.
  std::string revision;
  for (const json& e : backup["env"])
    if (e["name"] == "WOK_BACKUP_REVISION") revision = e["value"];
  json r = json::parse(revision);
  EXPECT_EQ(r["revision"], 4);
  EXPECT_EQ(r["commit"], std::string(40, 'a'));
  EXPECT_EQ(r["spec"]["database"]["engine"], "postgresql");
  // Where the site's pods (which mount the ReadWriteOnce volume) run, and
  // never selected by the site's Services.
  EXPECT_TRUE(
      pod["affinity"]["podAffinity"].contains("requiredDuringSchedulingIgnoredDuringExecution"));
  EXPECT_FALSE((*j)["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"].contains(
      "wok.dev/component"));
}

TEST(RenderBackup, ARestoreImportsWithTheClientWokUpRestoresWith) {
  json site = site_with(php_with_data());
  json job = wok::render::render_restore_job(site, json(), PlatformSettings{}, "blog-restore-1",
                                             "3f2a9c1d");
  const json& pod = job["spec"]["template"]["spec"];
  const json& import = pod["containers"][0];
  EXPECT_EQ(import["name"], "import");
  std::vector<std::string> command =
      wok::render::database_client_command("postgresql", wok::render::DatabaseAction::kRestore);
  const std::string script = import["command"].back();
  EXPECT_TRUE(script.starts_with("[ -s /restore/database.sql ] || exit 0\n")) << script;
  EXPECT_TRUE(script.ends_with("exec < /restore/database.sql\n" + command.back())) << script;
  // The restore step writes the volume; the pre-restore backup reads it.
  bool read_only = false, writable = false;
  for (const json& c : pod["initContainers"])
    for (const json& m : c.value("volumeMounts", json::array()))
      if (m["name"] == "storage-uploads")
        (m.value("readOnly", false) ? read_only : writable) = true;
  EXPECT_TRUE(read_only && writable) << pod.dump();
  EXPECT_NE(pod["initContainers"].dump().find(R"("--backup","3f2a9c1d")"), std::string::npos);
}

TEST(RenderBackup, AJobNamedBackupIsRefused) {
  json site = site_with({{"mode", "app"},
                         {"app",
                          {{"components", {{{"name", "web"}, {"image", "x:1"}, {"port", 80}}}},
                           {"jobs",
                            {{{"name", "backup"},
                              {"component", "web"},
                              {"schedule", "0 1 * * *"},
                              {"command", {"true"}}}}}}}});
  std::string errors = wok::api::join_errors(wok::api::validate_site(site));
  EXPECT_NE(errors.find("spec.app.jobs[0].name: \"backup\" is taken"), std::string::npos) << errors;
}

TEST(RenderBackup, TheProjectsSweepKeepsItsSitesAndReadsTheRepositoryOnly) {
  json sweep = wok::render::render_backup_sweep("team-b", {{"blog", "u-1"}, {"shop", "u-2"}},
                                                PlatformSettings{});
  EXPECT_EQ(sweep["kind"], "CronJob");
  EXPECT_EQ(sweep["metadata"]["name"], "wok.backup-sweep");
  EXPECT_EQ(sweep["metadata"]["namespace"], "team-b");
  // Not a site's: no site's pass prunes it (its project's does).
  EXPECT_FALSE(sweep["metadata"]["labels"].contains("wok.dev/site"));
  EXPECT_FALSE(sweep["spec"].value("suspend", false));
  EXPECT_EQ(sweep["spec"]["concurrencyPolicy"], "Forbid");
  const json& pod = sweep["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  ASSERT_EQ(pod["containers"].size(), 1u);
  const json& c = pod["containers"][0];
  EXPECT_EQ(c["args"], json({"backup-job", "sweep", "--project", "team-b", "--live", "blog=u-1",
                             "--live", "shop=u-2"}));
  EXPECT_EQ(pod["automountServiceAccountToken"], false);
  // The repository and its key; no site's volume.
  std::vector<std::string> claims;
  for (const json& v : pod["volumes"])
    if (v.contains("persistentVolumeClaim"))
      claims.push_back(v["persistentVolumeClaim"]["claimName"]);
  EXPECT_EQ(claims, std::vector<std::string>{"wok.backups"});
}

}  // namespace
