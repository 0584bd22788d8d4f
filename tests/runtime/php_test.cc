// php mode: the host's php-fpm 8.2 in a sandbox, answering FastCGI on
// 127.0.0.1:kPhpPort inside the instance's own network namespace (the router
// reaches it there, never through a path the tenant could swap).
#include <csignal>

#include "runtime/php_fpm.h"
#include "sandbox_fixture.h"

namespace wok::runtime::testing {
namespace {

// One FastCGI GET through cgi-fcgi (Debian libfcgi-bin) run inside the
// instance's network namespace: body + headers.
std::string fastcgi_get(int pid, const std::string& script) {
  auto r = run_command({"env", "-i", "REQUEST_METHOD=GET", "SCRIPT_FILENAME=" + script,
                        "SCRIPT_NAME=/index.php", "REQUEST_URI=/index.php",
                        "QUERY_STRING=", "SERVER_PROTOCOL=HTTP/1.1", "GATEWAY_INTERFACE=CGI/1.1",
                        "REMOTE_ADDR=127.0.0.1", "/usr/bin/nsenter",
                        "--net=/proc/" + std::to_string(pid) + "/ns/net", "cgi-fcgi", "-bind",
                        "-connect", "127.0.0.1:" + std::to_string(kPhpPort)});
  return r.out + r.err;
}

TEST_F(SandboxTest, PhpFpmPoolServesThePhpOfItsSite) {
  if (!have("php-fpm8.2") || !have("cgi-fcgi"))
    GTEST_SKIP() << "needs php8.2-fpm and libfcgi-bin (make deps)";
  auto site = make_dir("site");
  std::filesystem::create_directories(site / "public" / "uploads");
  auto uploads = make_dir("uploads");
  std::ofstream(site / "public" / "index.php")
      << "<?php\n"
         "echo 'hello from php ', PHP_MAJOR_VERSION, '.', PHP_MINOR_VERSION, \"\\n\";\n"
         "echo 'uid=', posix_getuid(), \"\\n\";\n"
         "echo 'memory_limit=', ini_get('memory_limit'), \"\\n\";\n"
         "echo file_put_contents(__DIR__ . '/uploads/up.txt', 'stored') ? \"UPLOAD_OK\\n\" : "
         "\"UPLOAD_FAILED\\n\";\n"
         "echo @file_put_contents(__DIR__ . '/hack.php', 'x') ? \"CODE_WRITABLE\\n\" : "
         "\"CODE_READONLY\\n\";\n"
         "echo @file_get_contents('/etc/shadow') === false ? \"NO_SHADOW\\n\" : \"SHADOW\\n\";\n";
  InstanceSpec spec;
  spec.id = "team-a.blog.php.0";
  spec.project = "team-a";
  spec.volumes = {{site.string(), "/srv/site", true},
                  {uploads.string(), "/srv/site/public/uploads", false}};
  PhpPool pool;
  pool.docroot = "/srv/site/public";
  pool.ini = {{"memory_limit", "96M"}};
  std::string error;
  ASSERT_TRUE(configure_php_fpm(pool, &spec, &error)) << error;
  start(spec);
  ASSERT_TRUE(wait_phase(spec.id, Phase::Ready)) << "Ready once php-fpm listens";
  int master = runtime_->status(spec.id)->pid;
  // Readiness probes (every second) connect to nothing: the ondemand pool
  // forked a worker for each probe's connection and kept it alive.
  ::sleep(3);
  EXPECT_EQ(read_file("/proc/" + std::to_string(master) + "/task/" + std::to_string(master) +
                      "/children"),
            "")
      << "php-fpm workers forked without a request";
  std::string out = fastcgi_get(master, "/srv/site/public/index.php");
  EXPECT_NE(out.find("hello from php 8.2"), std::string::npos)
      << out << read_file(runtime_->log_path(spec.id, LogStream::Stderr));
  EXPECT_NE(out.find("uid=" + std::to_string(sandbox_uid("team-a"))), std::string::npos) << out;
  EXPECT_NE(out.find("memory_limit=96M"), std::string::npos) << out;
  EXPECT_NE(out.find("UPLOAD_OK"), std::string::npos) << out;
  EXPECT_NE(out.find("CODE_READONLY"), std::string::npos) << out;
  EXPECT_NE(out.find("NO_SHADOW"), std::string::npos) << out;
  EXPECT_EQ(read_file(uploads / "up.txt"), "stored");
  EXPECT_TRUE(runtime_->stop(spec.id));
  EXPECT_EQ(runtime_->status(spec.id)->phase, Phase::Stopped);
}

// Issue 13: php-fpm killed came back forever failing ("Unable to create lock
// file: Permission denied"): runc had made the /tmp mount point 0755 and the
// tmpfs took that mode from the second run on. Killed twice, it serves again.
TEST_F(SandboxTest, PhpFpmServesAgainAfterBeingKilled) {
  if (!have("php-fpm8.2") || !have("cgi-fcgi"))
    GTEST_SKIP() << "needs php8.2-fpm and libfcgi-bin (make deps)";
  auto site = make_dir("site");
  std::ofstream(site / "index.php") << "<?php echo 'alive ', getmypid(), \"\\n\";\n";
  InstanceSpec spec;
  spec.id = "team-a.blog.php.0";
  spec.project = "team-a";
  spec.volumes = {{site.string(), "/srv/site", true}};
  PhpPool pool;
  pool.docroot = "/srv/site";
  std::string error;
  ASSERT_TRUE(configure_php_fpm(pool, &spec, &error)) << error;
  start(spec);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(wait_phase(spec.id, Phase::Ready)) << "round " << round;
    auto st = runtime_->status(spec.id);
    std::string out = fastcgi_get(st->pid, "/srv/site/index.php");
    EXPECT_NE(out.find("alive"), std::string::npos)
        << "round " << round << ": " << out
        << read_file(runtime_->log_path(spec.id, LogStream::Stderr));
    if (round == 2) break;
    ASSERT_EQ(::kill(st->pid, SIGKILL), 0);
    ASSERT_TRUE(runtime_->wait_until(
        spec.id, [&](const InstanceStatus& s) { return s.restarts == round + 1; },
        std::chrono::seconds(60)));
  }
  EXPECT_EQ(
      read_file(runtime_->log_path(spec.id, LogStream::Stderr)).find("Unable to create lock file"),
      std::string::npos);
  EXPECT_TRUE(runtime_->stop(spec.id));
}

}  // namespace
}  // namespace wok::runtime::testing
