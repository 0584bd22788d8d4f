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
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "render/database_client.h"
#include "render/parts.h"
#include "render/transfer.h"

namespace wok::render::detail {
namespace {

constexpr char kBackupDir[] = "/backup";
constexpr char kRepositoryDir[] = "/repository";
constexpr char kKeyDir[] = "/key";
constexpr char kStoreCaDir[] = "/store-ca";
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
  return postgresql_image_for(settings, db.version);
}

// An engine's client in its own image (a dump, an import), writing into
// or reading the Job's shared directory kBackupDir.
json client_container(const std::string& name, const std::string& image, json command, json env,
                      const SitePlan& plan) {
  env.push_back(env_value("HOME", "/tmp"));
  return {{"name", name},
          {"image", image},
          {"command", std::move(command)},
          {"env", std::move(env)},
          {"resources", job_resources(plan, "256Mi")},
          {"securityContext", container_security()},
          {"volumeMounts",
           {{{"name", "backup"}, {"mountPath", kBackupDir}},
            {{"name", "tmp"}, {"mountPath", "/tmp"}}}}};
}

json dump_container(const SitePlan& plan, const PlatformSettings& settings) {
  const DatabasePlan& db = plan.database;
  std::vector<std::string> command = database_client_command(db.engine, DatabaseAction::kDump);
  // Into a file of the shared directory; a failed dump fails the pod, and
  // the Job with it (no backup without its database).
  command.back() += " > " + std::string(kBackupDir) + "/database.sql";
  const char* password = db.engine == "mariadb" ? "MYSQL_PWD" : "PGPASSWORD";
  json c = client_container(
      "dump", dump_image(db, settings), command,
      {env_value("DB_HOST", db.host), env_value("DB_PORT", std::to_string(db.port)),
       env_value("DB_USER", db.user), env_value("DB_NAME", db.database)},
      plan);
  c["env"].push_back(secret_env(password, db.secret_name, "password"));
  return c;
}

// A Redis service's data, over the network: `redis-cli --rdb` has the
// server write a snapshot of every database (BGSAVE, as a replica's first
// sync gets it) into DIR/services/NAME/dump.rdb. No volume of the server is
// mounted: the pod runs on any node.
json redis_dump_container(const ServicePlan& svc, const PlatformSettings& settings,
                          const SitePlan& plan) {
  const std::string dir = std::string(kBackupDir) + "/services/" + svc.name;
  std::vector<std::string> command =
      service_snapshot_command(svc.engine, dir + "/" + kRedisSnapshot);
  command.back() = "mkdir -p " + dir + " && " + command.back();
  json c = client_container(
      "dump-" + svc.name, settings.redis_image, command,
      {env_value("SVC_HOST", svc.host), env_value("SVC_PORT", std::to_string(svc.port))}, plan);
  c["env"].push_back(secret_env("REDISCLI_AUTH", svc.secret_name, "password"));
  return c;
}

// A Redis service's backup put back into the running server, over the
// network (its volume stays attached to it): the snapshot loaded by a
// redis-server of the pod's own, the service's databases emptied, and
// every key moved across by MIGRATE (COPY REPLACE: values, types and
// TTLs as they were), 100 keys a call, whatever bytes their names hold.
// Nothing to do without a snapshot.
json redis_import_container(const ServicePlan& svc, const PlatformSettings& settings,
                            const SitePlan& plan, const std::string& restore_dir) {
  const std::string dir = restore_dir + "/services/" + svc.name;
  const std::string script =
      "set -eu\n"
      "d=" +
      dir +
      "\n"
      "[ -s \"$d/dump.rdb\" ] || exit 0\n"
      // A new site's server (a clone's) may still be starting: up to 5
      // minutes while it cannot be reached or is loading.
      "i=0\n"
      "until o=$(redis-cli -h \"$SVC_HOST\" -p \"$SVC_PORT\" --no-auth-warning ping 2>&1); "
      "[ -n \"$o\" ] && ! printf '%s' \"$o\" | grep -q -e 'Could not connect' -e LOADING; do\n"
      "  i=$((i + 1)); [ \"$i\" -ge 60 ] && break; sleep 5\n"
      "done\n"
      "redis-server --port 6390 --bind 127.0.0.1 --requirepass \"$REDISCLI_AUTH\" --dir \"$d\" "
      "--dbfilename dump.rdb --appendonly no --save '' --daemonize yes "
      "--pidfile /tmp/import-redis.pid --logfile /tmp/import-redis.log\n"
      "i=0\n"
      "until [ \"$(redis-cli -p 6390 --no-auth-warning ping 2>/dev/null)\" = PONG ]; do\n"
      "  i=$((i + 1)); [ \"$i\" -ge 600 ] && { cat /tmp/import-redis.log >&2; exit 1; }; "
      "sleep 1\n"
      "done\n"
      "redis-cli -h \"$SVC_HOST\" -p \"$SVC_PORT\" --no-auth-warning flushall > /tmp/flushall.out "
      "2>&1 || true\n"
      "if ! grep -q -x OK /tmp/flushall.out; then\n"
      "  cat /tmp/flushall.out >&2\n"
      "  redis-cli -p 6390 --no-auth-warning shutdown nosave >/dev/null 2>&1 || true\n"
      "  echo \"error: emptying $SVC_HOST:$SVC_PORT failed: nothing was imported\" >&2; exit 1\n"
      "fi\n"
      "n=$(redis-cli -p 6390 --no-auth-warning config get databases | tail -n 1)\n"
      ": > /tmp/migrate.out\n"
      "db=0\n"
      "while [ \"$db\" -lt \"$n\" ]; do\n"
      // Names quoted one per line (--no-raw: a line break in a name is
      // "\n"), read back as quoted (--quoted-input; the empty key of a
      // many-keys MIGRATE is then '""').
      "  redis-cli -p 6390 --no-auth-warning -n \"$db\" --no-raw --scan | "
      "xargs -r -d '\\n' -n 100 redis-cli -p 6390 --no-auth-warning --quoted-input -n \"$db\" "
      "migrate \"$SVC_HOST\" \"$SVC_PORT\" '\"\"' \"$db\" 60000 copy replace auth "
      "\"$REDISCLI_AUTH\" keys >> /tmp/migrate.out\n"
      "  a=$(redis-cli -p 6390 --no-auth-warning -n \"$db\" dbsize)\n"
      "  b=$(redis-cli -h \"$SVC_HOST\" -p \"$SVC_PORT\" --no-auth-warning -n \"$db\" dbsize)\n"
      "  [ \"$a\" = \"$b\" ] || echo \"warning: database $db: $a keys in the backup, $b in "
      "$SVC_HOST after the import\" >&2\n"
      "  db=$((db + 1))\n"
      "done\n"
      "redis-cli -p 6390 --no-auth-warning shutdown nosave >/dev/null 2>&1 || true\n"
      "if grep -v -x -e OK -e NOKEY /tmp/migrate.out >&2; then\n"
      "  echo \"error: the import into $SVC_HOST:$SVC_PORT failed\" >&2; exit 1\n"
      "fi\n";
  json c = redis_dump_container(svc, settings, plan);
  c["name"] = "import-" + svc.name;
  c["command"] = {"sh", "-c", script};
  c["volumeMounts"] = {{{"name", "restore"}, {"mountPath", restore_dir}},
                       {{"name", "tmp"}, {"mountPath", "/tmp"}}};
  return c;
}

// A RabbitMQ service's data, over its management API (the render enables
// it): the wok image's `wok backup-job rabbitmq-export|rabbitmq-import`
// (platform/rabbitmq_backup.h) of DIR/services/NAME, as the site's user.
json rabbitmq_container(const std::string& action, const ServicePlan& svc,
                        const PlatformSettings& settings, const SitePlan& plan,
                        const std::string& dir, const std::string& volume) {
  json c = client_container(
      (action == "rabbitmq-export" ? "dump-" : "import-") + svc.name, settings.image, nullptr,
      {secret_env("WOK_RABBITMQ_PASSWORD", svc.secret_name, "password")}, plan);
  c.erase("command");  // the image's entrypoint is wok
  // The messages of a queue come in one answer (100000 at most), held
  // as JSON: room for them.
  c["resources"] = job_resources(plan, "512Mi");
  c["args"] = {"backup-job", action,
               "--url",      "http://" + svc.host + ":" + std::to_string(kRabbitMqManagementPort),
               "--user",     svc.user,
               "--dir",      dir + "/services/" + svc.name};
  c["volumeMounts"] = {{{"name", volume}, {"mountPath", dir}},
                       {{"name", "tmp"}, {"mountPath", "/tmp"}}};
  return c;
}

// The init container that fetches a service's data into the backup's
// directory (none for an engine a cluster's backup does not hold).
json service_dump_container(const ServicePlan& svc, const PlatformSettings& settings,
                            const SitePlan& plan) {
  if (svc.engine == "redis") return redis_dump_container(svc, settings, plan);
  if (svc.engine == "rabbitmq")
    return rabbitmq_container("rabbitmq-export", svc, settings, plan, kBackupDir, "backup");
  return nullptr;
}

// The container that puts a restored service's data back into its server.
json service_import_container(const ServicePlan& svc, const PlatformSettings& settings,
                              const SitePlan& plan, const std::string& restore_dir) {
  if (svc.engine == "redis") return redis_import_container(svc, settings, plan, restore_dir);
  if (svc.engine == "rabbitmq")
    return rabbitmq_container("rabbitmq-import", svc, settings, plan, restore_dir, "restore");
  return nullptr;
}

// Where restic finds the project's repository: the claim kBackupClaim
// mounted at kRepositoryDir, or an S3 store, its URL and credentials from
// the project's kBackupStoreSecret (the operator writes it), and its
// private CA's certificate (ca.crt of that Secret, when the admin gave
// one) at kStoreCaDir, which `wok backup-job` has restic trust.
json repository_env(const PlatformSettings& settings) {
  json env = json::array();
  if (settings.backup_repository.empty()) {
    env.push_back(env_value("RESTIC_REPOSITORY", std::string(kRepositoryDir) + "/restic"));
  } else {
    for (const char* key : {"RESTIC_REPOSITORY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})
      env.push_back(secret_env(key, kBackupStoreSecret, key));
    json region = secret_env("AWS_DEFAULT_REGION", kBackupStoreSecret, "AWS_DEFAULT_REGION");
    region["valueFrom"]["secretKeyRef"]["optional"] = true;
    env.push_back(region);
    env.push_back(env_value("WOK_BACKUP_CACERT", std::string(kStoreCaDir) + "/ca.crt"));
  }
  env.push_back(env_value("RESTIC_PASSWORD_FILE", std::string(kKeyDir) + "/password"));
  env.push_back(env_value("RESTIC_CACHE_DIR", "/tmp/restic-cache"));
  env.push_back(env_value("HOME", "/tmp"));
  return env;
}

void add_repository_mounts(json& mounts, const PlatformSettings& settings) {
  if (settings.backup_repository.empty())
    mounts.push_back({{"name", "repository"}, {"mountPath", kRepositoryDir}});
  else
    mounts.push_back({{"name", "store-ca"}, {"mountPath", kStoreCaDir}, {"readOnly", true}});
  mounts.push_back({{"name", "key"}, {"mountPath", kKeyDir}, {"readOnly", true}});
}

json repository_volumes(const PlatformSettings& settings) {
  json volumes = json::array();
  if (settings.backup_repository.empty())
    volumes.push_back(
        {{"name", "repository"}, {"persistentVolumeClaim", {{"claimName", kBackupClaim}}}});
  else  // the store's private CA, when the admin gave one: no file otherwise
    volumes.push_back({{"name", "store-ca"},
                       {"secret",
                        {{"secretName", kBackupStoreSecret},
                         {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}},
                         {"optional", true}}}});
  volumes.push_back({{"name", "key"}, {"secret", {{"secretName", kBackupKeySecret}}}});
  return volumes;
}

// The wok image's `wok backup-job ACTION` of the site, with the repository,
// its key and the site's revision.
json job_container(const std::string& name, const SiteNames& names, const std::string& uid,
                   const SitePlan& plan, const json& revision, std::vector<std::string> args,
                   json mounts, const PlatformSettings& settings) {
  json argv = {"backup-job"};
  for (auto& a : args) argv.push_back(std::move(a));
  for (const auto& [flag, value] : {std::pair<const char*, std::string>{"--project", names.ns},
                                    {"--site", names.name},
                                    {"--uid", uid}}) {
    argv.push_back(flag);
    argv.push_back(value);
  }
  mounts.push_back({{"name", "tmp"}, {"mountPath", "/tmp"}});
  add_repository_mounts(mounts, settings);
  json env = {env_value("WOK_BACKUP_REVISION", revision.dump())};
  for (json& e : repository_env(settings)) env.push_back(std::move(e));
  return {{"name", name},
          {"image", settings.image},
          {"args", argv},
          {"env", env},
          {"resources", job_resources(plan, "512Mi")},
          {"securityContext", container_security()},
          {"volumeMounts", mounts}};
}

// The directory a backup is made from: an emptyDir with the volumes
// mounted read-only at DIR/storage/NAME.
json backup_dir_mounts(const SitePlan& plan, const std::string& volume, const std::string& dir,
                       bool read_only) {
  json mounts = {{{"name", volume}, {"mountPath", dir}}};
  for (const VolumePlan& v : plan.volumes)
    mounts.push_back({{"name", "storage-" + v.name},
                      {"mountPath", dir + "/storage/" + v.name},
                      {"readOnly", read_only}});
  return mounts;
}

// The container writes what the operator reads back as its termination
// message (backup_job.cc tell_operator).
void tells_the_operator(json& container) {
  container["env"].push_back(env_value("WOK_TERMINATION_LOG", "/dev/termination-log"));
  container["terminationMessagePath"] = "/dev/termination-log";
}

json job_volumes(const SiteNames& names, const SitePlan& plan, bool read_only,
                 const PlatformSettings& settings) {
  json volumes = {{{"name", "backup"}, {"emptyDir", json::object()}},
                  {{"name", "tmp"}, {"emptyDir", json::object()}}};
  for (json& v : repository_volumes(settings)) volumes.push_back(std::move(v));
  for (const VolumePlan& v : plan.volumes)
    volumes.push_back({{"name", "storage-" + v.name},
                       {"persistentVolumeClaim",
                        {{"claimName", names.name + "-" + v.name}, {"readOnly", read_only}}}});
  return volumes;
}

json job_pod(const PlatformSettings& settings, json init, json containers, json volumes) {
  json pod = {{"securityContext", pod_security(settings)},
              {"automountServiceAccountToken", false},
              {"restartPolicy", "Never"},
              {"containers", std::move(containers)},
              {"volumes", std::move(volumes)}};
  if (!init.empty()) pod["initContainers"] = std::move(init);
  return pod;
}

// No wok.dev/component: no Service of the site selects a backup's pod.
json job_labels(const SiteNames& names) {
  json labels = site_labels(names, "");
  labels["wok.dev/backup"] = names.name;
  return labels;
}

std::string uid_of(const json& site) {
  return site.contains("metadata") ? string_at(site["metadata"], "uid") : std::string();
}

json revision_of(const json& site, const SitePlan& plan) {
  return {{"revision", plan.revision}, {"commit", resolved_commit(site)}, {"spec", spec_of(site)}};
}

}  // namespace

std::vector<json> render_backup(const SiteNames& names, const json& site, const SitePlan& plan,
                                const json& policy, const PlatformSettings& settings) {
  if (!plan.backup.on_cluster) return {};
  // The snapshot's tags name the site by its uid (a site deleted and made
  // again is another site): a Site object without one (a file given to
  // `wok render`) gets its backups from the operator's render only.
  const std::string uid = uid_of(site);
  if (uid.empty()) return {};
  // The retention the Job applies after a scheduled backup: the policy's
  // (the revision's spec holds the site's own only).
  json revision = revision_of(site, plan);
  if (policy.is_object()) revision["backup"] = policy;
  json backup = job_container("backup", names, uid, plan, revision,
                              {"create", "--reason", "scheduled", "--dir", kBackupDir},
                              backup_dir_mounts(plan, "backup", kBackupDir, true), settings);
  tells_the_operator(backup);  // the backup's id and time: status.backup.last
  json init = json::array();
  if (plan.database.enabled()) init.push_back(dump_container(plan, settings));
  for (const ServicePlan& svc : plan.services)
    if (json c = service_dump_container(svc, settings, plan); !c.is_null())
      init.push_back(std::move(c));
  json pod = job_pod(settings, init, {backup}, job_volumes(names, plan, true, settings));
  // A ReadWriteOnce volume is attached to one node: the Job runs where the
  // site's pods (which mount it) run; not its database's nor another backup's.
  if (!plan.volumes.empty())
    pod["affinity"] = {{"podAffinity",
                        {{"requiredDuringSchedulingIgnoredDuringExecution",
                          {{{"labelSelector",
                             {{"matchLabels", {{"wok.dev/site", names.name}}},
                              {"matchExpressions",
                               {{{"key", "wok.dev/backup"}, {"operator", "DoesNotExist"}},
                                {{"key", "wok.dev/database"}, {"operator", "DoesNotExist"}}}}}},
                            {"topologyKey", "kubernetes.io/hostname"}}}}}}};
  const json labels = job_labels(names);
  json j = object_head("batch/v1", "CronJob", bounded_name(names.name + "-backup", 52), names.ns,
                       labels);
  const std::string schedule = policy.is_object() ? string_at(policy, "schedule") : "";
  j["spec"] = {{"schedule", schedule.empty() ? "0 3 * * *" : schedule},
               {"timeZone", "Etc/UTC"},
               {"suspend", schedule.empty()},
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

namespace wok::render {

using nlohmann::json;

std::string hash8(const std::string& text) {
  uint32_t h = 2166136261u;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619u;
  }
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return hex;
}

std::string bounded_name(const std::string& name, size_t max) {
  if (name.size() <= max) return name;
  std::string head = name.substr(0, max - 9);
  while (!head.empty() && head.back() == '-') head.pop_back();
  return head + "-" + hash8(name);
}

namespace {

constexpr char kTransferDir[] = "/transfer";
constexpr char kTransferKeyDir[] = "/transfer-key";
constexpr int kTransferPort = 8000;
constexpr char kTransferLabel[] = "wok.dev/transfer";           // the receiver's pod
constexpr char kTransferCopyLabel[] = "wok.dev/transfer-copy";  // the copying pod

// The volumes and mounts by which a Job reads its project's repository
// (repository_volumes, add_repository_mounts).
bool is_repository_part(const std::string& name) {
  return name == "repository" || name == "key" || name == "store-ca";
}

// A container of a clone from another project reads the one-time
// repository the receiver filled, with the transfer's password, instead of
// the project's repository.
void use_transfer_repository(json& container) {
  using detail::env_value;
  json env = json::array();
  for (json& e : container["env"]) {
    const std::string name = e.value("name", "");
    if (name == "RESTIC_REPOSITORY")
      e = env_value(name, std::string(kTransferDir) + "/repo");
    else if (name == "RESTIC_PASSWORD_FILE")
      e = env_value(name, std::string(kTransferKeyDir) + "/password");
    else if (name.starts_with("AWS_") || name == "WOK_BACKUP_CACERT")
      continue;
    env.push_back(std::move(e));
  }
  container["env"] = env;
  json mounts = json::array();
  for (json& m : container["volumeMounts"]) {
    if (!is_repository_part(m.value("name", ""))) mounts.push_back(std::move(m));
  }
  // Not read-only: restic locks a repository it reads (in its locks/).
  mounts.push_back({{"name", "transfer"}, {"mountPath", kTransferDir}});
  mounts.push_back({{"name", "transfer-key"}, {"mountPath", kTransferKeyDir}, {"readOnly", true}});
  container["volumeMounts"] = mounts;
}

json transfer_key_volume(const std::string& secret) {
  return {{"name", "transfer-key"}, {"secret", {{"secretName", secret}}}};
}

}  // namespace

std::string transfer_secret_name(const std::string& job_name) {
  return bounded_name(job_name + "-transfer", 253);
}

std::string transfer_copy_job_name(const std::string& ns, const std::string& job_name) {
  return "wok.clone-" + hash8(ns + "/" + job_name);
}

json render_restore_job(const json& site, const json& project, const PlatformSettings& settings,
                        const std::string& job_name, const std::string& backup,
                        const std::string& from, const std::string& from_project) {
  using namespace detail;
  const SiteNames names = site_names(site, project);
  const SitePlan plan = plan_site(site);
  const std::string uid = uid_of(site);
  const json revision = revision_of(site, plan);
  constexpr char kRestoreDir[] = "/restore";
  // What the site holds now, backed up first (as on wok up): nothing of it
  // is lost, and the log names that backup.
  json init = json::array();
  if (from.empty()) {
    if (plan.database.enabled()) init.push_back(dump_container(plan, settings));
    for (const ServicePlan& svc : plan.services)
      if (json c = service_dump_container(svc, settings, plan); !c.is_null())
        init.push_back(std::move(c));
    init.push_back(job_container("pre-restore", names, uid, plan, revision,
                                 {"create", "--reason", "pre-restore", "--dir", kBackupDir},
                                 backup_dir_mounts(plan, "backup", kBackupDir, true), settings));
  }
  // The backup's files into the volumes, its dump beside them.
  std::vector<std::string> args = {"restore", "--backup", backup, "--dir", kRestoreDir};
  if (!from.empty()) args.insert(args.end(), {"--from", from});
  json files = job_container("restore", names, uid, plan, revision, args,
                             backup_dir_mounts(plan, "restore", kRestoreDir, false), settings);
  // Another project's backup: received first, into this pod's own
  // directory, from the Job that copies it there (render_transfer).
  const bool transfer = !from_project.empty() && from_project != names.ns;
  if (transfer) {
    use_transfer_repository(files);
    json receive = {
        {"name", "receive"},
        {"image", settings.image},
        {"args",
         {"backup-job", "receive", "--dir", std::string(kTransferDir) + "/repo", "--listen",
          "0.0.0.0:" + std::to_string(kTransferPort), "--transfer-key", kTransferKeyDir,
          "--timeout", std::to_string(kDeadlineSeconds - 600)}},
        {"ports", {{{"name", "transfer"}, {"containerPort", kTransferPort}}}},
        {"resources", job_resources(plan, "256Mi")},
        {"securityContext", container_security()},
        {"volumeMounts",
         {{{"name", "transfer"}, {"mountPath", kTransferDir}},
          {{"name", "transfer-key"}, {"mountPath", kTransferKeyDir}, {"readOnly", true}}}}};
    init.push_back(std::move(receive));
  }
  // The backup's revision as its termination message: the operator pins it.
  if (from.empty()) tells_the_operator(files);
  json containers = json::array();
  for (const ServicePlan& svc : plan.services)
    if (json c = service_import_container(svc, settings, plan, kRestoreDir); !c.is_null())
      containers.push_back(std::move(c));
  if (plan.database.enabled()) {
    init.push_back(files);
    // The dump imported by the engine's own client, as wok up restores it
    // (render/database_client.h); a backup without a database has none.
    json import = dump_container(plan, settings);
    std::vector<std::string> command =
        database_client_command(plan.database.engine, DatabaseAction::kRestore);
    // A new site's database (a clone's) may still be starting: up to
    // 5 minutes of tries before the import, which does not retry.
    const std::string ping =
        database_client_command(plan.database.engine, DatabaseAction::kExec).back();
    command.back() = std::string("[ -s ") + kRestoreDir + "/database.sql ] || exit 0\n" +
                     "i=0\nuntil echo 'SELECT 1;' | (" + ping +
                     ") >/dev/null 2>&1; do\n  i=$((i + 1))\n  [ \"$i\" -ge 60 ] && break\n"
                     "  sleep 5\ndone\nexec < " +
                     kRestoreDir + "/database.sql\n" + command.back();
    import["name"] = "import";
    import["command"] = command;
    import["volumeMounts"] = {{{"name", "restore"},
                               { "mountPath",
                                 kRestoreDir }},
                              { {"name", "tmp"},
                                { "mountPath",
                                  "/tmp" } }};
    containers.push_back(import);
  } else if (!containers.empty()) {
    init.push_back(files);  // the services' imports read what it put back
  } else {
    containers.push_back(files);
  }
  json volumes = job_volumes(names, plan, false, settings);
  volumes.push_back({{"name", "restore"}, {"emptyDir", json::object()}});
  json labels = job_labels(names);
  if (transfer) {
    json kept = json::array();
    for (json& v : volumes)
      if (!is_repository_part(v.value("name", ""))) kept.push_back(std::move(v));
    volumes = std::move(kept);
    volumes.push_back({{"name", "transfer"}, {"emptyDir", json::object()}});
    volumes.push_back(transfer_key_volume(transfer_secret_name(job_name)));
    labels[kTransferLabel] = job_name;
  }
  // No affinity: the site's pods are stopped, its volumes free to attach.
  json pod = job_pod(settings, init, containers, volumes);
  json job = object_head("batch/v1", "Job", job_name, names.ns, labels);
  job["metadata"]["annotations"] = {{"wok.dev/restore-backup", backup}};
  job["spec"] = {{"backoffLimit", 0},
                 {"activeDeadlineSeconds", kDeadlineSeconds},
                 {"ttlSecondsAfterFinished", kFinishedTtlSeconds},
                 {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod}}}};
  return job;
}

TransferObjects render_transfer(const json& site, const PlatformSettings& settings,
                                const std::string& job_name, const std::string& from_project,
                                const std::string& from, const std::string& backup,
                                const std::string& token, const std::string& password) {
  using namespace detail;
  const SiteNames names = site_names(site, json());
  const std::string copy_name = transfer_copy_job_name(names.ns, job_name);
  TransferObjects out;
  const json key = {{"token", token}, {"password", password}};
  // Not the site's label: the operator would prune what the site's render lacks.
  const json target_labels = {{"app.kubernetes.io/managed-by", "wok"}, {kTransferLabel, job_name}};
  out.target_secret =
      object_head("v1", "Secret", transfer_secret_name(job_name), names.ns, target_labels);
  out.target_secret["type"] = "Opaque";
  out.target_secret["stringData"] = key;
  // The receiver answers while its pod is still initialising: not ready.
  out.service = object_head("v1", "Service", job_name, names.ns, target_labels);
  out.service["spec"] = {
      {"selector", {{kTransferLabel, job_name}}},
      {"publishNotReadyAddresses", true},
      {"ports", {{{"name", "transfer"}, {"port", kTransferPort}, {"targetPort", kTransferPort}}}}};
  const json copy_pods = {{kTransferCopyLabel, job_name}};
  out.target_policy =
      object_head("networking.k8s.io/v1", "NetworkPolicy", job_name, names.ns, target_labels);
  out.target_policy["spec"] = {
      {"podSelector", {{"matchLabels", {{kTransferLabel, job_name}}}}},
      {"policyTypes", {"Ingress"}},
      {"ingress",
       {{{"from",
          {{{"namespaceSelector",
             {{"matchLabels", {{"kubernetes.io/metadata.name", from_project}}}}},
            {"podSelector", {{"matchLabels", copy_pods}}}}}},
         {"ports", {{{"protocol", "TCP"}, {"port", kTransferPort}}}}}}}};

  const json source_labels = {{"app.kubernetes.io/managed-by", "wok"},
                              {kTransferCopyLabel, job_name}};
  out.source_secret = object_head("v1", "Secret", copy_name, from_project, source_labels);
  out.source_secret["type"] = "Opaque";
  out.source_secret["stringData"] = key;
  out.source_policy =
      object_head("networking.k8s.io/v1", "NetworkPolicy", copy_name, from_project, source_labels);
  out.source_policy["spec"] = {
      {"podSelector", {{"matchLabels", copy_pods}}},
      {"policyTypes", {"Egress"}},
      {"egress",
       {{{"to",
          {{{"namespaceSelector", {{"matchLabels", {{"kubernetes.io/metadata.name", names.ns}}}}},
            {"podSelector", {{"matchLabels", {{kTransferLabel, job_name}}}}}}}},
         {"ports", {{{"protocol", "TCP"}, {"port", kTransferPort}}}}}}}};

  // The copy: the source project's repository (its claim or store, its
  // key), read by `wok backup-job copy`, which writes the one backup.
  json mounts = {{{"name", "tmp"}, {"mountPath", "/tmp"}},
                 {{"name", "transfer-key"}, {"mountPath", kTransferKeyDir}, {"readOnly", true}}};
  add_repository_mounts(mounts, settings);
  json copy = {
      {"name", "copy"},
      {"image", settings.image},
      {"args",
       {"backup-job", "copy", "--project", from_project, "--site", from, "--backup", backup, "--to",
        "http://" + job_name + "." + names.ns + ".svc:" + std::to_string(kTransferPort) + "/",
        "--transfer-key", kTransferKeyDir}},
      {"env", repository_env(settings)},
      {"resources",
       {{"requests", {{"cpu", "100m"}, {"memory", "256Mi"}}},
        {"limits", {{"cpu", "1"}, {"memory", "512Mi"}}}}},
      {"securityContext", container_security()},
      {"volumeMounts", mounts}};
  json volumes = {{{"name", "tmp"}, {"emptyDir", json::object()}}, transfer_key_volume(copy_name)};
  for (json& v : repository_volumes(settings)) volumes.push_back(std::move(v));
  out.copy_job = object_head("batch/v1", "Job", copy_name, from_project, source_labels);
  out.copy_job["metadata"]["annotations"] = {{"wok.dev/clone", names.ns + "/" + names.name},
                                             {"wok.dev/restore-backup", backup}};
  out.copy_job["spec"] = {{"backoffLimit", 0},
                          {"activeDeadlineSeconds", kDeadlineSeconds},
                          {"ttlSecondsAfterFinished", 3600},
                          {"template",
                           {{"metadata", {{"labels", source_labels}}},
                            {"spec", job_pod(settings, json::array(), {copy}, volumes)}}}};
  return out;
}

json render_backup_sweep(const std::string& ns, const std::map<std::string, std::string>& live,
                         const PlatformSettings& settings) {
  json argv = {"backup-job", "sweep", "--project", ns};
  for (const auto& [name, uid] : live) {
    argv.push_back("--live");
    argv.push_back(name + "=" + uid);
  }
  const json limits = {{"cpu", "500m"}, {"memory", "256Mi"}};
  json mounts = {{{"name", "tmp"}, {"mountPath", "/tmp"}}};
  detail::add_repository_mounts(mounts, settings);
  json sweep = {{"name", "sweep"},
                {"image", settings.image},
                {"args", argv},
                {"env", detail::repository_env(settings)},
                {"resources", {{"limits", limits}, {"requests", limits}}},
                {"securityContext", detail::container_security()},
                {"volumeMounts", mounts}};
  json volumes = {{{"name", "tmp"}, {"emptyDir", json::object()}}};
  for (json& v : detail::repository_volumes(settings)) volumes.push_back(std::move(v));
  const json labels = {{"app.kubernetes.io/managed-by", "wok"},
                       {"app.kubernetes.io/name", "backup-sweep"}};
  json j = detail::object_head("batch/v1", "CronJob", kBackupSweep, ns, labels);
  // Each project at a minute of its own after 04:00 UTC: not every
  // repository at once.
  const std::string minute = std::to_string(std::stoul(hash8(ns), nullptr, 16) % 60);
  j["spec"] = {{"schedule", minute + " 4 * * *"},
               {"timeZone", "Etc/UTC"},
               {"concurrencyPolicy", "Forbid"},
               {"successfulJobsHistoryLimit", 1},
               {"failedJobsHistoryLimit", 3},
               {"jobTemplate",
                {{"metadata", {{"labels", labels}}},
                 {"spec",
                  {{"backoffLimit", 2},
                   {"activeDeadlineSeconds", detail::kDeadlineSeconds},
                   {"ttlSecondsAfterFinished", detail::kFinishedTtlSeconds},
                   {"template",
                    {{"metadata", {{"labels", labels}}},
                     {"spec", detail::job_pod(settings, json::array(), {sweep}, volumes)}}}}}}}};
  return j;
}

json job_of_cron_job(const json& cron_job, const std::string& name, const json& annotations) {
  const json& tmpl = cron_job["spec"]["jobTemplate"];
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"metadata",
           {{"name", name},
            {"namespace", cron_job["metadata"].value("namespace", "")},
            {"labels", tmpl.value("metadata", json::object()).value("labels", json::object())},
            {"annotations", annotations}}},
          {"spec", tmpl["spec"]}};
}

json render_list_job(const json& site, const json& project, const PlatformSettings& settings,
                     const std::string& job_name, bool whole_project) {
  using namespace detail;
  const SiteNames names = site_names(site, project);
  const SitePlan plan = plan_site(site);
  json list = job_container("list", names, uid_of(site), plan, revision_of(site, plan), {"list"},
                            json::array(), settings);
  if (whole_project) list["args"] = {"backup-job", "list", "--project", names.ns};
  list["resources"] = job_resources(plan, "256Mi");
  json volumes = json::array();
  for (const json& v : job_volumes(names, SitePlan{}, true, settings))
    if (v["name"] != "backup") volumes.push_back(v);
  const json labels = job_labels(names);
  json job = object_head("batch/v1", "Job", job_name, names.ns, labels);
  job["spec"] = {{"backoffLimit", 0},
                 {"activeDeadlineSeconds", 600},
                 {"ttlSecondsAfterFinished", 3600},
                 {"template",
                  {{"metadata", {{"labels", labels}}},
                   {"spec", job_pod(settings, json::array(), {list}, volumes)}}}};
  return job;
}

json render_show_job(const json& site, const PlatformSettings& settings,
                     const std::string& job_name, const std::string& source,
                     const std::string& backup) {
  json job = render_list_job(site, json(), settings, job_name, true);
  json& c = job["spec"]["template"]["spec"]["containers"][0];
  c["name"] = "show";
  c["args"] = {"backup-job", "show", "--project", site["metadata"].value("namespace", ""),
               "--site",     source, "--backup",  backup};
  return job;
}

json render_forget_job(const json& site, const PlatformSettings& settings,
                       const std::string& job_name, const std::string& source,
                       const std::string& backup) {
  json job = render_show_job(site, settings, job_name, source, backup);
  json& c = job["spec"]["template"]["spec"]["containers"][0];
  c["name"] = "forget";
  c["args"][1] = "forget";
  // A prune rewrites the repository's packs: more time than a listing.
  job["spec"]["activeDeadlineSeconds"] = 3600;
  return job;
}

}  // namespace wok::render
