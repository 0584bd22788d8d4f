// What a workload sees from inside its sandbox (real runc containers).
#include <sys/stat.h>

#include "sandbox_fixture.h"

namespace wok::runtime::testing {
namespace {

TEST_F(SandboxTest, SeesOnlyItsOwnWorld) {
  auto data = make_dir("a-data");
  auto secret_dir = make_dir("b-secret");
  std::ofstream(secret_dir / "secret.txt") << "b's secret";
  auto spec = shell("team-a.check.0", "team-a",
                    "echo uid=$(id -u) gid=$(id -g);"
                    "echo x > /rootfile 2>/dev/null && echo ROOT_WRITABLE || echo ROOT_READONLY;"
                    "echo x > /tmp/t && echo TMP_WRITABLE;"
                    "echo x > /data/f && echo VOLUME_WRITABLE;"
                    "cat " + (secret_dir / "secret.txt").string() + " 2>/dev/null || echo NO_B_FILES;"
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

}  // namespace
}  // namespace wok::runtime::testing
