// A site's backup CronJob (render/backup.cc): which sites get one, what its
// pod holds, and that it runs the dump wok up's backups run. The whole
// object is pinned by golden/backup.yaml; these are the rules behind it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
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

// The project's spec.backup is the default of its sites that keep data:
// the CronJob runs on its schedule and the Job applies its retention (the
// policy rides in WOK_BACKUP_REVISION); a site's own spec.backup wins.
TEST(RenderBackup, TheProjectsScheduleForItsSitesWithoutOne) {
  const json project = {{"apiVersion", "wok.dev/v1alpha1"},
                        {"kind", "Project"},
                        {"metadata", {{"name", "team-b"}, {"uid", "p-1"}}},
                        {"spec",
                         {{"hosts", {"*.example.org"}},
                          {"backup", {{"schedule", "30 2 * * *"}, {"keep", {{"daily", 3}}}}}}}};
  auto cron_of = [&](const json& spec) {
    const std::vector<json> objects =
        wok::render::render_site(site_with(spec), project, PlatformSettings{});
    const json* j = backup_cron_job(objects);
    return j ? *j : json();
  };
  auto policy_of = [](const json& cron) {
    for (const json& e :
         cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"])
      if (e["name"] == "WOK_BACKUP_REVISION") return json::parse(e["value"].get<std::string>());
    return json();
  };
  json cron = cron_of(php_with_data());
  ASSERT_TRUE(cron.is_object());
  EXPECT_EQ(cron["spec"]["schedule"], "30 2 * * *");
  EXPECT_FALSE(cron["spec"]["suspend"].get<bool>());
  json revision = policy_of(cron);
  EXPECT_EQ(revision["backup"], project["spec"]["backup"]);
  EXPECT_FALSE(revision["spec"].contains("backup"));  // the site's own spec, as it is

  json own = php_with_data();
  own["backup"] = {{"schedule", "0 4 * * *"}};
  cron = cron_of(own);
  EXPECT_EQ(cron["spec"]["schedule"], "0 4 * * *");
  EXPECT_EQ(policy_of(cron)["backup"], own["backup"]);

  // Without the project's default: suspended, no policy.
  cron = *backup_cron_job(
      wok::render::render_site(site_with(php_with_data()), json(), PlatformSettings{}));
  EXPECT_TRUE(cron["spec"]["suspend"].get<bool>());
  EXPECT_FALSE(policy_of(cron).contains("backup"));
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

// A RabbitMQ service on a cluster: its management API on (the plugin, its
// port in the Service and the NetworkPolicy, the site's pods only); the
// backup's init container exports it, the restore's container imports it
// (`wok backup-job rabbitmq-export|import`, the wok image, as the site's
// user with its password from the service's Secret). A site with only a
// service keeps data: it has a backup CronJob.
TEST(RenderBackup, ARabbitMqServiceIsExportedAndImportedThroughItsManagementApi) {
  json app = {{"mode", "app"},
              {"app", {{"components", {{{"name", "web"}, {"image", "x:1"}}}}}},
              {"services", {{{"name", "queue"}, {"engine", "rabbitmq"}}}}};
  const PlatformSettings settings;
  const std::vector<json> objects = wok::render::render_site(site_with(app), json(), settings);
  const json* cron = backup_cron_job(objects);
  ASSERT_NE(cron, nullptr);
  const json& pod = (*cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  ASSERT_EQ(pod["initContainers"].size(), 1u);
  const json& dump = pod["initContainers"][0];
  EXPECT_EQ(dump["name"], "dump-queue");
  EXPECT_EQ(dump["image"], settings.image);
  EXPECT_FALSE(dump.contains("command"));
  EXPECT_EQ(dump["resources"]["limits"]["memory"], "512Mi");  // a queue's messages in one answer
  EXPECT_EQ(dump["args"], json({"backup-job", "rabbitmq-export", "--url", "http://blog-queue:15672",
                                "--user", "blog", "--dir", "/backup/services/queue"}));
  bool password = false;
  for (const json& e : dump["env"])
    if (e["name"] == "WOK_RABBITMQ_PASSWORD")
      password =
          e["valueFrom"]["secretKeyRef"] == json({{"name", "blog-queue"}, {"key", "password"}});
  EXPECT_TRUE(password) << dump.dump();

  json job = wok::render::render_restore_job(site_with(app), json(), settings, "r", "latest");
  std::vector<std::string> order;
  for (const char* list : {"initContainers", "containers"})
    for (const json& c : job["spec"]["template"]["spec"][list]) order.push_back(c["name"]);
  EXPECT_EQ(order,
            (std::vector<std::string>{"dump-queue", "pre-restore", "restore", "import-queue"}));
  const json& import = job["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(import["args"],
            json({"backup-job", "rabbitmq-import", "--url", "http://blog-queue:15672", "--user",
                  "blog", "--dir", "/restore/services/queue"}));

  // The server: its management plugin and port, reachable from the site only.
  for (const json& o : objects) {
    if (o["metadata"]["name"] != "blog-queue") continue;
    if (o["kind"] == "StatefulSet") {
      const json& c = o["spec"]["template"]["spec"]["containers"][0];
      EXPECT_NE(c["env"].dump().find(
                    R"({"name":"RABBITMQ_ENABLED_PLUGINS","value":"rabbitmq_management"})"),
                std::string::npos)
          << c.dump();
      EXPECT_EQ(c["ports"][1], json({{"name", "management"}, {"containerPort", 15672}}));
    } else if (o["kind"] == "Service") {
      EXPECT_EQ(o["spec"]["ports"][1],
                json({{"name", "management"}, {"port", 15672}, {"targetPort", 15672}}));
    } else if (o["kind"] == "NetworkPolicy") {
      const json& from_site = o["spec"]["ingress"][0];
      EXPECT_EQ(from_site["from"][0]["podSelector"]["matchLabels"],
                json({{"wok.dev/site", "blog"}}));
      EXPECT_EQ(from_site["ports"], json({{{"protocol", "TCP"}, {"port", 5672}},
                                          {{"protocol", "TCP"}, {"port", 15672}}}));
    }
  }
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

// With an S3 store every Job of a project's backups (a backup, a restore,
// a list, the sweep) finds the repository and its credentials in the
// project's Secret wok.backup-store, and mounts no claim; the store's
// private CA is that Secret's ca.crt, a file only when the admin gave one.
TEST(RenderBackup, WithAnS3StoreEveryJobReadsTheProjectsStoreSecret) {
  PlatformSettings s3;
  s3.backup_repository = "s3:https://s3.example.org/wok/{project}";
  s3.backup_credentials_secret = "wok-s3";
  json site = site_with(php_with_data());
  const std::vector<json> objects = wok::render::render_site(site, json(), s3);
  const json* cron = backup_cron_job(objects);
  ASSERT_NE(cron, nullptr);
  const std::vector<json> pods = {
      (*cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"],
      wok::render::render_restore_job(site, json(), s3, "r", "latest")["spec"]["template"]["spec"],
      wok::render::render_list_job(site, json(), s3, "l", true)["spec"]["template"]["spec"],
      wok::render::render_backup_sweep("team-b", {},
                                       s3)["spec"]["jobTemplate"]["spec"]["template"]["spec"]};
  for (const json& pod : pods) {
    EXPECT_EQ(pod["volumes"].dump().find("wok.backups"), std::string::npos) << pod.dump();
    EXPECT_EQ(pod.dump().find("/repository"), std::string::npos) << pod.dump();
    int wok_containers = 0;
    for (const char* list : {"initContainers", "containers"})
      for (const json& c : pod.value(list, json::array())) {
        if (c["image"] != s3.image) continue;  // the engines' dumps and imports
        ++wok_containers;
        std::map<std::string, json> env;
        for (const json& e : c["env"]) env[e["name"]] = e;
        for (const char* key : {"RESTIC_REPOSITORY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})
          EXPECT_EQ(env[key]["valueFrom"]["secretKeyRef"],
                    json({{"name", "wok.backup-store"}, {"key", key}}))
              << c.dump();
        EXPECT_TRUE(env["AWS_DEFAULT_REGION"]["valueFrom"]["secretKeyRef"]["optional"].get<bool>());
        EXPECT_EQ(env["RESTIC_PASSWORD_FILE"]["value"], "/key/password");
        EXPECT_EQ(env["WOK_BACKUP_CACERT"]["value"], "/store-ca/ca.crt");
        bool mounted = false;
        for (const json& m : c["volumeMounts"])
          if (m["name"] == "store-ca")
            mounted = m["mountPath"] == "/store-ca" && m.value("readOnly", false);
        EXPECT_TRUE(mounted) << c.dump();
      }
    EXPECT_GE(wok_containers, 1) << pod.dump();
    json ca;
    for (const json& v : pod["volumes"])
      if (v["name"] == "store-ca") ca = v;
    EXPECT_EQ(ca["secret"], json({{"secretName", "wok.backup-store"},
                                  {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}},
                                  {"optional", true}}))
        << pod.dump();
  }
}

// spec.services' Redis on a cluster, for real: the backup's init container
// fetches a snapshot over the network (`redis-cli --rdb`) and the restore's
// container puts it into the running server (MIGRATE of every key), with
// Debian's redis-server and redis-cli standing in for the image's. The
// commands are the rendered ones; only their mount points, the pod's spare
// port and its /tmp move into the test's directory.
class RedisBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/wok-redis-backup-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    root_ = dir;
    std::filesystem::create_directories(root_ / "tmp");
  }
  void TearDown() override {
    for (const std::string& pid_file : pid_files_) {
      std::ifstream in(pid_file);
      pid_t pid = 0;
      if (in >> pid && pid > 0) ::kill(pid, SIGKILL);
    }
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  // A redis-server with the service's password and its append-only file,
  // as the service's StatefulSet runs it.
  int start_redis(const std::string& name) {
    const int port = free_port();
    const std::filesystem::path d = root_ / name;
    std::filesystem::create_directories(d);
    pid_files_.push_back((d / "pid").string());
    EXPECT_EQ(
        sh("redis-server --port " + std::to_string(port) + " --bind 127.0.0.1 --requirepass " +
           kPassword + " --appendonly yes --repl-diskless-sync-delay 0 --dir " + d.string() +
           " --daemonize yes --pidfile " + (d / "pid").string() + " --logfile " +
           (d / "log").string()),
        0);
    for (int i = 0; i < 100 && redis(port, "ping") != "PONG"; ++i) ::usleep(50'000);
    EXPECT_EQ(redis(port, "ping"), "PONG");
    return port;
  }

  int sh(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // redis-cli's answer (its last line, trimmed).
  std::string redis(int port, const std::string& args, const std::string& password = kPassword) {
    const std::string out = (root_ / "tmp" / "cli.out").string();
    sh("REDISCLI_AUTH=" + password + " redis-cli --no-auth-warning -p " + std::to_string(port) +
       " " + args + " > " + out + " 2>&1");
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }

  // The container's command, run with its env (the secret's value given),
  // its paths moved under the test's directory; stderr into *err.
  int run_container(const json& c, int service_port, std::string* err,
                    const std::string& password = kPassword) {
    std::string script = c["command"][2];
    auto replace_all = [&script](const std::string& from, const std::string& to) {
      for (size_t at = script.find(from); at != std::string::npos;
           at = script.find(from, at + to.size()))
        script.replace(at, from.size(), to);
    };
    for (const std::string from : {"/backup", "/restore", "/tmp/"})
      replace_all(from, "\x01" + from.substr(1));
    replace_all("\x01", root_.string() + "/");
    for (size_t at = script.find("6390"); at != std::string::npos; at = script.find("6390", at))
      script.replace(at, 4, std::to_string(spare_port_));
    std::ofstream(root_ / "container.sh") << script;
    std::string env;
    for (const json& e : c["env"]) {
      std::string value = e.contains("value") ? e["value"].get<std::string>() : password;
      if (e["name"] == "SVC_HOST") value = "127.0.0.1";
      if (e["name"] == "SVC_PORT") value = std::to_string(service_port);
      if (e["name"] == "HOME") value = (root_ / "tmp").string();
      env += e["name"].get<std::string>() + "='" + value + "' ";
    }
    const std::string err_file = (root_ / "container.err").string();
    const int code = sh("env " + env + "sh " + (root_ / "container.sh").string() +
                        " > /dev/null 2> " + err_file);
    std::ifstream in(err_file);
    err->assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return code;
  }

  static constexpr char kPassword[] = "the-services-password";
  std::filesystem::path root_;
  std::vector<std::string> pid_files_;
  int spare_port_ = free_port();
};

TEST_F(RedisBackupTest, ASnapshotGoesOutAndEveryKeyComesBackIntoTheRunningServer) {
  json spec = {{"mode", "app"},
               {"app", {{"components", {{{"name", "web"}, {"image", "x:1"}}}}}},
               {"services", {{{"name", "cache"}, {"engine", "redis"}}}}};
  json site = site_with(spec);
  // A site whose only data is a Redis service is backed up.
  const std::vector<json> objects = wok::render::render_site(site, json(), PlatformSettings{});
  const json* cron = backup_cron_job(objects);
  ASSERT_NE(cron, nullptr);
  const json& pod = (*cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  ASSERT_EQ(pod["initContainers"].size(), 1u);
  const json dump = pod["initContainers"][0];
  EXPECT_EQ(dump["name"], "dump-cache");
  EXPECT_EQ(dump["image"], PlatformSettings{}.redis_image);
  // No volume of the server in the pod: it runs on any node.
  EXPECT_EQ(pod["volumes"].dump().find("data-blog-cache"), std::string::npos);
  json restore_job = wok::render::render_restore_job(site, json(), PlatformSettings{},
                                                     "blog-restore-1", "3f2a9c1d");
  const json& rpod = restore_job["spec"]["template"]["spec"];
  std::vector<std::string> steps;
  for (const json& c : rpod["initContainers"]) steps.push_back(c["name"]);
  for (const json& c : rpod["containers"]) steps.push_back(c["name"]);
  // What the service holds first (the pre-restore backup), then the files
  // and the snapshot, then the import.
  EXPECT_EQ(steps,
            (std::vector<std::string>{"dump-cache", "pre-restore", "restore", "import-cache"}));
  const json import = rpod["containers"][0];

  const int source = start_redis("source"), target = start_redis("target");
  ASSERT_EQ(redis(source, "set 'a key with spaces' v1"), "OK");
  ASSERT_EQ(redis(source, "set session:1 token ex 3600"), "OK");
  ASSERT_EQ(redis(source, "-n 3 rpush queue a b c"), "3");
  ASSERT_EQ(redis(source, "hset user:7 name ada lang en"), "2");
  ASSERT_EQ(sh("for i in $(seq 0 249); do echo \"set k$i $i\"; done | REDISCLI_AUTH=" +
               std::string(kPassword) + " redis-cli --no-auth-warning -p " +
               std::to_string(source) + " > /dev/null"),
            0);
  ASSERT_EQ(redis(target, "set stale 1"), "OK");  // what a restore replaces
  // Names with a line break, quotes, bytes that are no text: the import
  // lists keys one per line, quoted.
  ASSERT_EQ(sh("REDISCLI_AUTH=" + std::string(kPassword) + " redis-cli --no-auth-warning -p " +
               std::to_string(source) + " set \"$(printf 'line\\nbreak')\" v > /dev/null"),
            0);
  ASSERT_EQ(redis(source, "--quoted-input set '\"q\\\"uote \\x01\\xff\"' w"), "OK");
  ASSERT_EQ(redis(source, "dbsize"), "255");

  std::string err;
  ASSERT_EQ(run_container(dump, source, &err), 0) << err;
  const std::filesystem::path rdb = root_ / "backup" / "services" / "cache" / "dump.rdb";
  ASSERT_TRUE(std::filesystem::exists(rdb)) << err;
  // What `wok backup-job restore` puts back beside the import.
  std::filesystem::create_directories(root_ / "restore" / "services" / "cache");
  std::filesystem::copy_file(rdb, root_ / "restore" / "services" / "cache" / "dump.rdb");
  ASSERT_EQ(run_container(import, target, &err), 0) << err;

  EXPECT_EQ(redis(target, "get 'a key with spaces'"), "v1");
  EXPECT_EQ(redis(target, "get session:1"), "token");
  const int ttl = std::stoi(redis(target, "ttl session:1"));
  EXPECT_GT(ttl, 3000);  // the TTL came too
  EXPECT_EQ(redis(target, "-n 3 lrange queue 0 -1"), "a\nb\nc");
  EXPECT_EQ(redis(target, "hget user:7 lang"), "en");
  EXPECT_EQ(redis(target, "get k249"), "249");
  EXPECT_EQ(redis(target, "exists stale"), "0");
  // Every key, the odd names too.
  EXPECT_EQ(redis(target, "dbsize"), "255");
  EXPECT_EQ(redis(target, "get \"$(printf 'line\\nbreak')\""), "v");
  EXPECT_EQ(redis(target, "--quoted-input get '\"q\\\"uote \\x01\\xff\"'"), "w");
  EXPECT_EQ(err.find("warning"), std::string::npos) << err;
  EXPECT_EQ(redis(target, "-n 3 dbsize"), "1");
  // The pod's own server is gone: its port is free again.
  EXPECT_NE(redis(spare_port_, "ping"), "PONG");

  // A server that refuses the password: the import fails, saying so.
  EXPECT_NE(run_container(import, target, &err, "not-the-password"), 0);
  EXPECT_NE(err.find("error: emptying 127.0.0.1:" + std::to_string(target) +
                     " failed: nothing was imported"),
            std::string::npos)
      << err;
  EXPECT_EQ(redis(target, "get k249"), "249");  // nothing emptied by a refused import
  // A server that does not answer: the backup fails (no snapshot, no backup).
  std::filesystem::remove(rdb);
  EXPECT_NE(run_container(dump, free_port(), &err), 0);
}
