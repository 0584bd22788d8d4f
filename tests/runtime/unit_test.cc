// Pure parts of the runtime: no containers started here.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/bundle.h"
#include "runtime/health_probe.h"
#include "runtime/image_store.h"
#include "runtime/instance.h"
#include "runtime/instance_json.h"
#include "runtime/php_fpm.h"
#include "runtime/runtime_impl.h"

namespace wok::runtime {
namespace {

InstanceSpec sample_spec() {
  InstanceSpec s;
  s.id = "team-a.api.web.r1.0";
  s.project = "team-a";
  s.command = {"python3", "app.py"};
  s.env = {{"LOG_LEVEL", "info"}};
  s.port = 8080;
  s.resources.memory_bytes = 128 << 20;
  s.resources.cpu_millis = 500;
  s.resources.pids = 64;
  s.volumes = {{"/data/uploads", "/srv/uploads", false}, {"/data/src", "/srv/site", true}};
  return s;
}

nlohmann::json config_of(const InstanceSpec& s) {
  RootFs root{"/var/lib/wok/instances/x/rootfs", true, {}, {}, ""};
  return oci_config(s, 123456, root, InstancePaths{"/var/lib/wok/instances/x"},
                    {"/usr", "/bin", "/nonexistent-dir"});
}

const nlohmann::json* find_mount(const nlohmann::json& config, const std::string& dst) {
  for (const auto& m : config["mounts"])
    if (m["destination"] == dst) return &m;
  return nullptr;
}

bool has_option(const nlohmann::json& mount, const std::string& option) {
  for (const auto& o : mount["options"])
    if (o == option) return true;
  return false;
}

TEST(OciConfig, NamespacesUserAndNoPrivileges) {
  auto c = config_of(sample_spec());
  EXPECT_EQ(c["ociVersion"], "1.0.2");
  std::set<std::string> ns;
  for (const auto& n : c["linux"]["namespaces"]) ns.insert(n["type"]);
  EXPECT_EQ(ns, (std::set<std::string>{"pid", "network", "ipc", "uts", "mount"}));
  EXPECT_EQ(c["process"]["user"]["uid"], 123456);
  EXPECT_EQ(c["process"]["user"]["gid"], 123456);
  EXPECT_EQ(c["process"]["noNewPrivileges"], true);
  for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"})
    EXPECT_TRUE(c["process"]["capabilities"][set].empty()) << set;
  EXPECT_EQ(c["root"]["readonly"], true);
}

TEST(OciConfig, ResourcesFromSpec) {
  auto r = config_of(sample_spec())["linux"]["resources"];
  EXPECT_EQ(r["memory"]["limit"], 128 << 20);
  EXPECT_EQ(r["cpu"]["quota"], 50000);
  EXPECT_EQ(r["cpu"]["period"], 100000);
  EXPECT_EQ(r["pids"]["limit"], 64);
  auto s = sample_spec();
  s.resources.memory_bytes = 0;
  s.resources.cpu_millis = 0;
  auto unlimited = config_of(s)["linux"]["resources"];
  EXPECT_FALSE(unlimited.contains("memory"));
  EXPECT_FALSE(unlimited.contains("cpu"));
}

TEST(OciConfig, MountsOnlyWhatIsDeclared) {
  auto c = config_of(sample_spec());
  auto* tmp = find_mount(c, "/tmp");
  ASSERT_TRUE(tmp);
  EXPECT_EQ((*tmp)["type"], "tmpfs");
  EXPECT_TRUE(has_option(*tmp, "size=" + std::to_string(64 << 20)));
  auto* usr = find_mount(c, "/usr");
  ASSERT_TRUE(usr);
  EXPECT_TRUE(has_option(*usr, "ro"));
  EXPECT_FALSE(find_mount(c, "/nonexistent-dir"));
  EXPECT_FALSE(find_mount(c, "/bin")) << "a symlink on merged-/usr hosts: recreated, not bound";
  auto* uploads = find_mount(c, "/srv/uploads");
  ASSERT_TRUE(uploads);
  EXPECT_EQ((*uploads)["source"], "/data/uploads");
  EXPECT_TRUE(has_option(*uploads, "rw"));
  EXPECT_TRUE(has_option(*find_mount(c, "/srv/site"), "ro"));
  auto* passwd = find_mount(c, "/etc/passwd");
  ASSERT_TRUE(passwd);
  EXPECT_EQ((*passwd)["source"], "/var/lib/wok/instances/x/etc/passwd");
  EXPECT_TRUE(has_option(*find_mount(c, "/run/wok"), "rw"));
  EXPECT_TRUE(has_option(*find_mount(c, "/etc/wok"), "ro"));
  bool kcore_masked = false;
  for (const auto& p : c["linux"]["maskedPaths"]) kcore_masked |= p == "/proc/kcore";
  EXPECT_TRUE(kcore_masked);
}

TEST(OciConfig, EnvHasPortAndSpecOverridesImage) {
  auto s = sample_spec();
  s.command.clear();
  RootFs root{"/cache/rootfs", false, {"/bin/httpd", "-f"}, {"LOG_LEVEL=debug", "A=1"}, "/www"};
  auto c = oci_config(s, 1000, root, InstancePaths{"/x"}, {});
  EXPECT_EQ(c["process"]["args"], nlohmann::json({"/bin/httpd", "-f"}));
  EXPECT_EQ(c["process"]["cwd"], "/www");
  std::set<std::string> env(c["process"]["env"].begin(), c["process"]["env"].end());
  EXPECT_TRUE(env.count("PORT=8080"));
  EXPECT_TRUE(env.count("LOG_LEVEL=info"));
  EXPECT_TRUE(env.count("A=1"));
  EXPECT_FALSE(find_mount(c, "/usr")) << "an OCI image brings its own /usr";
}

TEST(SandboxUid, DeterministicInRangeAndDistinct) {
  EXPECT_EQ(sandbox_uid("team-a"), sandbox_uid("team-a"));
  EXPECT_NE(sandbox_uid("team-a"), sandbox_uid("team-b"));
  for (const char* p : {"a", "team-a", "x-very-long-project-name"}) {
    EXPECT_GE(sandbox_uid(p), 100000u);
    EXPECT_LT(sandbox_uid(p), 1000000u);
  }
}

TEST(InstanceId, RejectsHostilePaths) {
  EXPECT_EQ(check_instance_id("team-a.blog.web.r3.0"), "");
  for (const char* bad : {"", "../etc", "a/b", "A", ".hidden", "a b", "-x"})
    EXPECT_NE(check_instance_id(bad), "") << bad;
  EXPECT_NE(check_instance_id(std::string(129, 'a')), "");
}

TEST(InstanceJson, RoundTrips) {
  auto s = sample_spec();
  s.files["php-fpm.conf"] = "x";
  s.labels["site"] = "blog";
  InstanceSpec back;
  ASSERT_TRUE(spec_from_json(spec_to_json(s), &back));
  EXPECT_EQ(spec_to_json(back), spec_to_json(s));
  EXPECT_FALSE(spec_from_json(nlohmann::json{{"id", 3}}, &back));
}

TEST(PhpFpm, ConfigListensInItsNamespaceWithAdminValues) {
  PhpPool pool;
  pool.docroot = "/srv/site/public";
  pool.ini = {{"memory_limit", "256M"}, {"upload_max_filesize", "32M"}};
  InstanceSpec spec = sample_spec();
  std::string error;
  ASSERT_TRUE(configure_php_fpm(pool, &spec, &error)) << error;
  const std::string& conf = spec.files.at("php-fpm.conf");
  EXPECT_NE(conf.find("listen = 127.0.0.1:9000\n"), std::string::npos) << "inside its own netns";
  EXPECT_NE(conf.find("listen.allowed_clients = 127.0.0.1"), std::string::npos);
  EXPECT_EQ(spec.port, kPhpPort) << "probed for readiness";
  EXPECT_TRUE(spec.probe_listening) << "by its listening socket, without a connection";
  EXPECT_NE(conf.find("daemonize = no"), std::string::npos);
  EXPECT_NE(conf.find("clear_env = no"), std::string::npos);
  EXPECT_NE(conf.find("error_log = /proc/self/fd/2"), std::string::npos);
  EXPECT_NE(conf.find("php_admin_value[memory_limit] = \"256M\""), std::string::npos);
  EXPECT_NE(conf.find("pm = ondemand"), std::string::npos);
  EXPECT_EQ(conf.find("\nuser"), std::string::npos) << "no user switch: already unprivileged";
  EXPECT_EQ(spec.command[0], "php-fpm8.2");
}

// spec.php.timeout: php-fpm kills a request that runs longer (wall clock)
// and PHP stops the script at the same limit (CPU time); a site's own ini
// max_execution_time still wins for the latter.
TEST(PhpFpm, RequestTimeLimitIsEnforcedByPhpFpm) {
  PhpPool pool;
  pool.request_timeout = std::chrono::seconds(7);
  std::string error;
  std::string conf = php_fpm_config(pool, &error);
  ASSERT_EQ(error, "");
  EXPECT_NE(conf.find("\nrequest_terminate_timeout = 7s\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("php_admin_value[max_execution_time] = \"7\"\n"), std::string::npos) << conf;
  pool.ini = {{"max_execution_time", "3"}};
  conf = php_fpm_config(pool, &error);
  EXPECT_NE(conf.find("php_admin_value[max_execution_time] = \"3\"\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("\nrequest_terminate_timeout = 7s\n"), std::string::npos) << conf;
  pool.request_timeout = std::chrono::seconds(0);  // 0 would be "never" to php-fpm
  EXPECT_EQ(php_fpm_config(pool, &error), "");
  EXPECT_NE(error.find("timeout"), std::string::npos) << error;
}

TEST(PhpFpm, RejectsIniInjection) {
  PhpPool pool;
  std::string error;
  pool.ini = {{"memory_limit", "1M\n[evil]\nlisten = 0.0.0.0:9000"}};
  php_fpm_config(pool, &error);
  EXPECT_NE(error.find("memory_limit"), std::string::npos);
  pool.ini = {{"bad key]", "1"}};
  php_fpm_config(pool, &error);
  EXPECT_NE(error.find("bad key]"), std::string::npos);
  pool.ini = {};
  pool.pm = "forever";
  php_fpm_config(pool, &error);
  EXPECT_NE(error.find("forever"), std::string::npos);
}

TEST(Backoff, DoublesUpToTheCap) {
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(crash_backoff(1, ms(1000), ms(60000)), ms(1000));
  EXPECT_EQ(crash_backoff(2, ms(1000), ms(60000)), ms(2000));
  EXPECT_EQ(crash_backoff(3, ms(1000), ms(60000)), ms(4000));
  EXPECT_EQ(crash_backoff(10, ms(1000), ms(60000)), ms(60000));
  EXPECT_EQ(crash_backoff(1000, ms(1000), ms(60000)), ms(60000));
}

TEST(OciRef, ParsesLayoutReferences) {
  std::string dir, tag;
  ASSERT_TRUE(parse_oci_layout_ref("oci:/srv/images/api:1.4", &dir, &tag));
  EXPECT_EQ(dir, "/srv/images/api");
  EXPECT_EQ(tag, "1.4");
  ASSERT_TRUE(parse_oci_layout_ref("oci:/srv/images/api", &dir, &tag));
  EXPECT_EQ(tag, "latest");
  EXPECT_FALSE(parse_oci_layout_ref("docker://busybox", &dir, &tag));
  EXPECT_FALSE(parse_oci_layout_ref("oci:", &dir, &tag));
  std::string digest, error;
  EXPECT_FALSE(layout_manifest_digest("/nonexistent", "x", &digest, &error));
  EXPECT_NE(error.find("index.json"), std::string::npos);
}

TEST(HealthProbe, ParsesStatusLines) {
  EXPECT_EQ(parse_status_line("HTTP/1.1 200 OK\r\n"), 200);
  EXPECT_EQ(parse_status_line("HTTP/1.0 302 Found\r\n"), 302);
  EXPECT_EQ(parse_status_line("HTTP/1.1 2x0 OK"), 0);
  EXPECT_EQ(parse_status_line("SSH-2.0-OpenSSH"), 0);
  EXPECT_EQ(parse_status_line(""), 0);
}

}  // namespace
}  // namespace wok::runtime
