// app mode from an OCI image: a busybox httpd image built here with umoci.
#include <fcntl.h>

#include "runtime/health_probe.h"
#include "sandbox_fixture.h"

namespace wok::runtime::testing {
namespace {

std::string must(const std::vector<std::string>& argv) {
  auto r = run_command(argv, std::chrono::minutes(2));
  EXPECT_TRUE(r.ok()) << r.describe(argv[0] + " " + argv[1]);
  return r.out;
}

// busybox-static + /www/index.html, cmd: httpd in the foreground on $PORT.
std::string build_image(const std::filesystem::path& dir) {
  std::string layout = (dir / "layout").string(), bundle = (dir / "unpacked").string();
  must({"umoci", "init", "--layout", layout});
  must({"umoci", "new", "--image", layout + ":1.0"});
  must({"umoci", "unpack", "--image", layout + ":1.0", bundle});
  auto rootfs = std::filesystem::path(bundle) / "rootfs";
  std::filesystem::create_directories(rootfs / "bin");
  std::filesystem::create_directories(rootfs / "www");
  std::filesystem::copy_file("/bin/busybox", rootfs / "bin/busybox");
  std::filesystem::create_symlink("busybox", rootfs / "bin/sh");
  std::ofstream(rootfs / "www/index.html") << "hello from an OCI image\n";
  must({"umoci", "repack", "--image", layout + ":1.0", bundle});
  must({"umoci", "config", "--image", layout + ":1.0", "--config.entrypoint", "/bin/sh",
        "--config.cmd", "-c", "--config.cmd", "exec /bin/busybox httpd -f -p $PORT -h /www",
        "--config.env", "GREETING=hi"});
  return "oci:" + layout + ":1.0";
}

std::string http_get(int fd) {
  std::string req = "GET / HTTP/1.0\r\nHost: x\r\n\r\n", resp;
  ::fcntl(fd, F_SETFL, 0);  // blocking is simpler in a test
  EXPECT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) resp.append(buf, n);
  ::close(fd);
  return resp;
}

TEST_F(SandboxTest, RunsAnOciImageBuiltWithUmoci) {
  if (!have("umoci") || !std::filesystem::exists("/bin/busybox"))
    GTEST_SKIP() << "needs umoci and busybox-static (make deps)";
  std::string image = build_image(make_dir("image"));
  InstanceSpec spec;
  spec.id = "team-a.api.web.0";
  spec.project = "team-a";
  spec.image = image;
  spec.port = 8080;
  spec.health_path = "/index.html";
  spec.grace = std::chrono::seconds(1);
  start(spec);
  ASSERT_TRUE(wait_phase(spec.id, Phase::Ready));
  int fd = runtime_->connect_to(spec.id, 8080);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  std::string resp = http_get(fd);
  EXPECT_NE(resp.find("200 OK"), std::string::npos) << resp;
  EXPECT_NE(resp.find("hello from an OCI image"), std::string::npos) << resp;

  // A second replica reuses the unpacked image (cached per project by digest).
  auto replica = spec;
  replica.id = "team-a.api.web.1";
  start(replica);
  ASSERT_TRUE(wait_phase(replica.id, Phase::Ready));
  size_t unpacked = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "data" / "images" / "team-a"))
    unpacked += e.path().filename().string().rfind("sha256_", 0) == 0;
  EXPECT_EQ(unpacked, 1u);
  EXPECT_TRUE(runtime_->stop(spec.id));
  EXPECT_TRUE(runtime_->stop(replica.id));
}

// runc gives the /tmp tmpfs the mode of the directory it mounts it on: the
// image's /tmp mount point must be 01777 or the sandbox user cannot write
// /tmp (php-fpm lost its lock file from its first restart on).
TEST_F(SandboxTest, AnImageInstanceWritesTmpOnEveryRun) {
  if (!have("umoci") || !std::filesystem::exists("/bin/busybox"))
    GTEST_SKIP() << "needs umoci and busybox-static (make deps)";
  InstanceSpec spec;
  spec.id = "team-a.tmp.web.0";
  spec.project = "team-a";
  spec.image = build_image(make_dir("image"));
  spec.command = {"/bin/sh", "-c", "echo $$ > /tmp/run && echo wrote; exit 3"};
  spec.grace = std::chrono::seconds(1);
  start(spec);
  ASSERT_TRUE(runtime_->wait_until(
      spec.id, [](const InstanceStatus& s) { return s.restarts >= 2; }, std::chrono::seconds(60)));
  ASSERT_TRUE(runtime_->stop(spec.id));
  std::string out = read_file(runtime_->log_path(spec.id, LogStream::Stdout));
  size_t runs = 0;
  for (size_t at = 0; (at = out.find("wrote", at)) != std::string::npos; ++at) ++runs;
  EXPECT_GE(runs, 2u) << out << read_file(runtime_->log_path(spec.id, LogStream::Stderr));
}

}  // namespace
}  // namespace wok::runtime::testing
