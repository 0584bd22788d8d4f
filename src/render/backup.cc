// A site's backups on a cluster (docs/data.md, "On Kubernetes"): the CronJob
// "SITE-backup", whose Job makes the snapshot wok up makes
// (controllers/snapshot.h). Its pod:
//   - an init container "dump" of the database's image runs the engine's
//     dump (render/database_client.h, as `wok db dump` and wok up's
//     backups) into an emptyDir at /backup/database.sql;
//   - the container "backup" of the wok image, `wok backup-job create`
//     (platform/backup_job.h), reads the site's volumes mounted read-only
//     at /backup/storage/NAME and backs /backup up into the project's
//     repository (the claim kBackupClaim, its key the Secret
//     kBackupKeySecret, both made by the operator).
// Without spec.backup.schedule the CronJob is suspended: `wok backup create
// --kubeconfig` makes a Job of its template by hand.
#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "render/database_client.h"
#include "render/parts.h"

namespace wok::render::detail {
namespace {

constexpr char kBackupDir[] = "/backup";
constexpr char kRepositoryDir[] = "/repository";
constexpr char kKeyDir[] = "/key";
// A dump and a restic run of a big site take long; a stuck one is ended.
constexpr int kDeadlineSeconds = 6 * 3600;
constexpr int kFinishedTtlSeconds = 7 * 24 * 3600;

json env_value(const std::string& name, const std::string& value) {
  return {{"name", name}, {"value", value}};
}

json secret_env(const std::string& name, const std::string& secret, const std::string& key) {
  return {{"name", name}, {"valueFrom", {{"secretKeyRef", {{"name", secret}, {"key", key}}}}}};
}

// A job's CPU: the site's limit, at most one core (as wok up's jobs).
json job_resources(const SitePlan& plan, const std::string& memory) {
  std::string cpu = "1";
  if (!plan.database.cpu.empty() && api::parse_cpu_millis(plan.database.cpu) > 0 &&
      api::parse_cpu_millis(plan.database.cpu) < 1000)
    cpu = plan.database.cpu;
  json limits = {{"cpu", cpu}, {"memory", memory}};
  return {{"limits", limits}, {"requests", limits}};
}

// The database's image, which holds its dump client.
std::string dump_image(const DatabasePlan& db, const PlatformSettings& settings) {
  if (db.engine == "mariadb") return settings.mariadb_image;
  return settings.postgresql_operator == "cloudnative-pg" ? settings.cnpg_postgresql_image
                                                          : settings.postgresql_image;
}

json dump_container(const SitePlan& plan, const PlatformSettings& settings) {
  const DatabasePlan& db = plan.database;
  std::vector<std::string> command = database_client_command(db.engine, DatabaseAction::kDump);
  // Into a file of the shared directory; a failed dump fails the pod, and
  // the Job with it (no backup without its database).
  command.back() += " > " + std::string(kBackupDir) + "/database.sql";
  const char* password = db.engine == "mariadb" ? "MYSQL_PWD" : "PGPASSWORD";
  return {{"name", "dump"},
          {"image", dump_image(db, settings)},
          {"command", command},
          {"env",
           {env_value("DB_HOST", db.host), env_value("DB_PORT", std::to_string(db.port)),
            env_value("DB_USER", db.user), env_value("DB_NAME", db.database),
            env_value("HOME", "/tmp"), secret_env(password, db.secret_name, "password")}},
          {"resources", job_resources(plan, "256Mi")},
          {"securityContext", container_security()},
          {"volumeMounts",
           {{{"name", "backup"}, {"mountPath", kBackupDir}},
            {{"name", "tmp"}, {"mountPath", "/tmp"}}}}};
}

}  // namespace

std::vector<json> render_backup(const SiteNames& names, const json& site, const SitePlan& plan,
                                const PlatformSettings& settings) {
  if (!plan.backup.on_cluster) return {};
  // The snapshot's tags name the site by its uid (a site deleted and made
  // again is another site): a Site object without one (a file given to
  // `wok render`) gets its backups from the operator's render only.
  const std::string uid =
      site.contains("metadata") ? string_at(site["metadata"], "uid") : std::string();
  if (uid.empty()) return {};
  const json revision = {
      {"revision", plan.revision}, {"commit", resolved_commit(site)}, {"spec", spec_of(site)}};
  json mounts = {{{"name", "backup"}, {"mountPath", kBackupDir}},
                 {{"name", "tmp"}, {"mountPath", "/tmp"}},
                 {{"name", "repository"}, {"mountPath", kRepositoryDir}},
                 {{"name", "key"}, {"mountPath", kKeyDir}, {"readOnly", true}}};
  json volumes = {
      {{"name", "backup"}, {"emptyDir", json::object()}},
      {{"name", "tmp"}, {"emptyDir", json::object()}},
      {{"name", "repository"}, {"persistentVolumeClaim", {{"claimName", kBackupClaim}}}},
      {{"name", "key"}, {"secret", {{"secretName", kBackupKeySecret}}}}};
  for (const VolumePlan& v : plan.volumes) {
    mounts.push_back({{"name", "storage-" + v.name},
                      {"mountPath", std::string(kBackupDir) + "/storage/" + v.name},
                      {"readOnly", true}});
    volumes.push_back({{"name", "storage-" + v.name},
                       {"persistentVolumeClaim",
                        {{"claimName", names.name + "-" + v.name}, {"readOnly", true}}}});
  }
  json backup = {{"name", "backup"},
                 {"image", settings.image},
                 {"args",
                  {"backup-job", "create", "--project", names.ns, "--site", names.name, "--uid",
                   uid, "--reason", "scheduled", "--dir", kBackupDir}},
                 {"env",
                  {env_value("WOK_BACKUP_REVISION", revision.dump()),
                   env_value("RESTIC_REPOSITORY", std::string(kRepositoryDir) + "/restic"),
                   env_value("RESTIC_PASSWORD_FILE", std::string(kKeyDir) + "/password"),
                   env_value("RESTIC_CACHE_DIR", "/tmp/restic-cache"), env_value("HOME", "/tmp")}},
                 {"resources", job_resources(plan, "512Mi")},
                 {"securityContext", container_security()},
                 {"volumeMounts", mounts}};
  json pod = {{"securityContext", pod_security(settings)},
              {"automountServiceAccountToken", false},
              {"restartPolicy", "Never"},
              {"containers", {backup}},
              {"volumes", volumes}};
  if (plan.database.enabled()) pod["initContainers"] = {dump_container(plan, settings)};
  // A ReadWriteOnce volume is attached to one node: the Job runs where the
  // site's pods (which mount it) run.
  if (!plan.volumes.empty())
    pod["affinity"] = {
        {"podAffinity",
         {{"requiredDuringSchedulingIgnoredDuringExecution",
           {{{"labelSelector",
              {{"matchLabels", {{"wok.dev/site", names.name}}},
               {"matchExpressions", {{{"key", "wok.dev/backup"}, {"operator", "DoesNotExist"}}}}}},
             {"topologyKey", "kubernetes.io/hostname"}}}}}}};
  // No wok.dev/component: no Service of the site selects a backup's pod.
  json labels = site_labels(names, "");
  labels["wok.dev/backup"] = names.name;
  json j = object_head("batch/v1", "CronJob", names.name + "-backup", names.ns, labels);
  j["spec"] = {{"schedule", plan.backup.schedule.empty() ? "0 3 * * *" : plan.backup.schedule},
               {"timeZone", "Etc/UTC"},
               {"suspend", plan.backup.schedule.empty()},
               {"concurrencyPolicy", "Forbid"},
               {"successfulJobsHistoryLimit", 3},
               {"failedJobsHistoryLimit", 3},
               {"jobTemplate",
                {{"metadata", {{"labels", labels}}},
                 {"spec",
                  {{"backoffLimit", 0},
                   {"activeDeadlineSeconds", kDeadlineSeconds},
                   {"ttlSecondsAfterFinished", kFinishedTtlSeconds},
                   {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod}}}}}}}};
  return {j};
}

}  // namespace wok::render::detail
