// php mode: the host's php-fpm 8.2 in a sandbox, answering FastCGI on a unix
// socket that the router reaches through the instance's run directory.
#include "runtime/php_fpm.h"
#include "sandbox_fixture.h"

namespace wok::runtime::testing {
namespace {

// One FastCGI GET through cgi-fcgi (Debian libfcgi-bin): body + headers.
std::string fastcgi_get(const std::filesystem::path& socket, const std::string& script) {
  auto r = run_command({"env", "-i", "REQUEST_METHOD=GET", "SCRIPT_FILENAME=" + script,
                        "SCRIPT_NAME=/index.php", "REQUEST_URI=/index.php", "QUERY_STRING=",
                        "SERVER_PROTOCOL=HTTP/1.1", "GATEWAY_INTERFACE=CGI/1.1",
                        "REMOTE_ADDR=127.0.0.1", "cgi-fcgi", "-bind", "-connect", socket.string()});
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
  auto socket = runtime_->run_dir(spec.id) / kPhpSocketName;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(socket)) {
      out = fastcgi_get(socket, "/srv/site/public/index.php");
      if (out.find("hello from php") != std::string::npos) break;
    }
    ::usleep(100000);
  }
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

}  // namespace
}  // namespace wok::runtime::testing
