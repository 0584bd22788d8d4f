// What a workload sees from inside its sandbox (real runc containers).
#include <sys/stat.h>

#include <csignal>

#include "sandbox_fixture.h"

namespace wok::runtime::testing {
namespace {

TEST_F(SandboxTest, SeesOnlyItsOwnWorld) {
  auto data = make_dir("a-data");
  auto secret_dir = make_dir("b-secret");
  std::ofstream(secret_dir / "secret.txt") << "b's secret";
  auto spec =
      shell("team-a.check.0", "team-a",
            "echo uid=$(id -u) gid=$(id -g);"
            "echo x > /rootfile 2>/dev/null && echo ROOT_WRITABLE || echo ROOT_READONLY;"
            "echo x > /tmp/t && echo TMP_WRITABLE;"
            "echo x > /data/f && echo VOLUME_WRITABLE;"
            "cat " +
                (secret_dir / "secret.txt").string() +
                " 2>/dev/null || echo NO_B_FILES;"
                "echo passwd_lines=$(wc -l < /etc/passwd);"
                "test -e /etc/shadow && echo HAS_SHADOW || echo NO_SHADOW;"
                "echo init=$(cat /proc/1/comm);"
                "echo procs=$(ls -d /proc/[0-9]* | wc -l);"
                "echo ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ,);"
                "echo caps=$(grep CapEff /proc/self/status | cut -f2);"
                "echo DONE; exec sleep 600");
  spec.volumes = {{data.string(), "/data", false}};
  start(spec);
  std::string out = wait_output(spec.id, "DONE");
  EXPECT_NE(out.find("uid=" + std::to_string(sandbox_uid("team-a"))), std::string::npos) << out;
  EXPECT_EQ(out.find("uid=0"), std::string::npos) << out;
  EXPECT_NE(out.find("ROOT_READONLY"), std::string::npos) << out;
  EXPECT_NE(out.find("TMP_WRITABLE"), std::string::npos) << out;
  EXPECT_NE(out.find("VOLUME_WRITABLE"), std::string::npos) << out;
  EXPECT_NE(out.find("NO_B_FILES"), std::string::npos) << out;
  EXPECT_NE(out.find("passwd_lines=1"), std::string::npos) << out;
  EXPECT_NE(out.find("NO_SHADOW"), std::string::npos) << out;
  EXPECT_NE(out.find("init=sh"), std::string::npos) << "own PID namespace: " << out;
  EXPECT_NE(out.find("ifaces=lo,\n"), std::string::npos) << "loopback only: " << out;
  EXPECT_NE(out.find("caps=0000000000000000"), std::string::npos) << out;
  // Few processes: the host's are invisible.
  auto procs = out.find("procs=");
  ASSERT_NE(procs, std::string::npos);
  EXPECT_LT(std::stoi(out.substr(procs + 6)), 10) << out;
  // The file the workload wrote belongs to its uid on the host.
  struct stat st {};
  ASSERT_EQ(::stat((data / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, sandbox_uid("team-a"));
  EXPECT_TRUE(runtime_->stop(spec.id));
}

// Issue 12: `unshare -Urmn` gave a sandboxed process full capabilities in a
// user namespace of its own (a door to kernel attack surface meant for root).
// The seccomp profile refuses new namespaces, mounts and the like; the
// instance's /tmp works across restarts (its mount point is 01777).
TEST_F(SandboxTest, CannotMakeNamespacesMountOrUseKernelInterfaces) {
  auto spec =
      shell("team-a.escape.0", "team-a",
            "unshare -Urmn id >/dev/null 2>&1 && echo USERNS_ALLOWED || echo USERNS_REFUSED;"
            "unshare -r true >/dev/null 2>&1 && echo USERNS2_ALLOWED || echo USERNS2_REFUSED;"
            "unshare -n true >/dev/null 2>&1 && echo NETNS_ALLOWED || echo NETNS_REFUSED;"
            "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m >/dev/null 2>&1 && echo MOUNT_ALLOWED ||"
            " echo MOUNT_REFUSED;"
            "grep -q '^Seccomp:[[:space:]]*2' /proc/self/status && echo FILTERED;"
            "echo tmpmode=$(stat -c %a /tmp);"
            "echo x > /tmp/t && echo TMP_WRITABLE;"
            "echo DONE; exec sleep 600");
  start(spec);
  std::string out = wait_output(spec.id, "DONE");
  EXPECT_NE(out.find("USERNS_REFUSED"), std::string::npos) << out;
  EXPECT_NE(out.find("USERNS2_REFUSED"), std::string::npos) << out;
  EXPECT_NE(out.find("NETNS_REFUSED"), std::string::npos) << out;
  EXPECT_NE(out.find("MOUNT_REFUSED"), std::string::npos) << out;
  EXPECT_NE(out.find("FILTERED"), std::string::npos) << "seccomp mode 2: " << out;
  EXPECT_NE(out.find("tmpmode=1777"), std::string::npos) << out;
  // Killed, it comes back with a /tmp it can write (runc made the mount point
  // 0755 before, and the tmpfs then took that mode on every later run).
  auto pid = runtime_->status(spec.id)->pid;
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(runtime_->wait_until(
      spec.id, [](const InstanceStatus& s) { return s.restarts == 1 && s.pid > 0; },
      std::chrono::seconds(60)));
  auto path = runtime_->log_path(spec.id, LogStream::Stdout);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  size_t writable = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string all = read_file(path);
    size_t first = all.find("TMP_WRITABLE");
    if (first != std::string::npos && all.find("TMP_WRITABLE", first + 1) != std::string::npos) {
      writable = 2;
      EXPECT_EQ(all.find("tmpmode=755"), std::string::npos) << all;
      break;
    }
    ::usleep(50000);
  }
  EXPECT_EQ(writable, 2u) << read_file(path)
                          << read_file(runtime_->log_path(spec.id, LogStream::Stderr));
  EXPECT_TRUE(runtime_->stop(spec.id));
}

}  // namespace
}  // namespace wok::runtime::testing
