// Supervision of real containers: crashes, limits, graceful stop, readiness,
// isolation between projects, adoption after a restart of wok.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "runtime/health_probe.h"
#include "sandbox_fixture.h"

namespace wok::runtime::testing {
namespace {

TEST_F(SandboxTest, CrashingCommandIsRestartedWithBackoffThenCrashLoopBackOff) {
  auto spec = shell("team-a.crash.0", "team-a", "echo crashing; exit 3");
  start(spec);
  ASSERT_TRUE(wait_phase(spec.id, Phase::CrashLoopBackOff));
  auto st = runtime_->status(spec.id);
  EXPECT_GE(st->restarts, 3);
  EXPECT_EQ(st->last_exit_code, 3);
  EXPECT_NE(st->last_error.find("exited with code 3"), std::string::npos) << st->last_error;
  auto lines = tail_lines(runtime_->log_path(spec.id, LogStream::Stdout), 10);
  EXPECT_GE(lines.size(), 3u) << "one line per run";
  EXPECT_TRUE(runtime_->stop(spec.id));
  EXPECT_EQ(runtime_->status(spec.id)->phase, Phase::Stopped);
}

TEST_F(SandboxTest, GracefulStopSendsTermThenKill) {
  auto data = make_dir("stop-data");
  auto polite = shell("team-a.polite.0", "team-a",
                      "trap 'echo bye > /data/term; exit 0' TERM; echo UP; "
                      "while :; do sleep 1; done");
  polite.volumes = {{data.string(), "/data", false}};
  polite.grace = std::chrono::seconds(30);
  auto stubborn =
      shell("team-a.stubborn.0", "team-a", "trap '' TERM; echo UP; while :; do sleep 1; done");
  stubborn.grace = std::chrono::seconds(1);
  start(polite);
  start(stubborn);
  wait_output(polite.id, "UP");
  wait_output(stubborn.id, "UP");
  EXPECT_TRUE(runtime_->stop(polite.id));
  EXPECT_EQ(read_file(data / "term"), "bye\n");
  EXPECT_EQ(runtime_->status(polite.id)->last_exit_code, 0);
  EXPECT_TRUE(runtime_->stop(stubborn.id));
  EXPECT_EQ(runtime_->status(stubborn.id)->last_signal, SIGKILL);
}

TEST_F(SandboxTest, MemoryHogIsKilledOthersKeepRunning) {
  auto hog = shell("team-a.hog.0", "team-a", "");
  hog.command = {"python3", "-c", "a = []\nwhile True: a.append(b'x' * 10**7)"};
  hog.resources.memory_bytes = 64 << 20;
  auto calm = shell("team-b.calm.0", "team-b", "echo UP; exec sleep 600");
  start(calm);
  ASSERT_TRUE(wait_phase(calm.id, Phase::Ready));
  int calm_pid = runtime_->status(calm.id)->pid;
  start(hog);
  ASSERT_TRUE(runtime_->wait_until(
      hog.id, [](const InstanceStatus& s) { return s.restarts > 0; }, std::chrono::seconds(60)));
  auto st = runtime_->status(hog.id);
  EXPECT_TRUE(st->oom_killed) << st->last_error;
  EXPECT_EQ(st->last_signal, SIGKILL);
  EXPECT_NE(st->last_error.find("OOM"), std::string::npos) << st->last_error;
  auto other = runtime_->status(calm.id);
  EXPECT_EQ(other->phase, Phase::Ready);
  EXPECT_EQ(other->pid, calm_pid);
  EXPECT_EQ(other->restarts, 0);
}

// python3's http.server from the host's /usr, serving a volume.
InstanceSpec web(const std::string& id, const std::string& project, const std::string& dir,
                 uint16_t port) {
  InstanceSpec s;
  s.id = id;
  s.project = project;
  s.command = {"python3", "-m",        "http.server", std::to_string(port),
               "--bind",  "127.0.0.1", "--directory", "/srv"};
  s.volumes = {{dir, "/srv", true}};
  s.port = port;
  s.grace = std::chrono::seconds(1);
  return s;
}

TEST_F(SandboxTest, ReadyOnlyOnceTheHealthPathAnswers) {
  auto www = make_dir("www");
  auto spec = web("team-a.web.0", "team-a", www.string(), 8080);
  spec.health_path = "/healthz";
  start(spec);
  // The server answers (404 for /healthz) yet the instance is not Ready.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  ProbeResult root;
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = runtime_->status(spec.id);
    root = probe_http(st ? st->pid : 0, 8080, "/");
    if (root.ok) break;
    ::usleep(100000);
  }
  ASSERT_TRUE(root.ok) << root.error;
  EXPECT_EQ(probe_http(runtime_->status(spec.id)->pid, 8080, "/healthz").status, 404);
  EXPECT_NE(runtime_->status(spec.id)->phase, Phase::Ready);
  std::ofstream(www / "healthz") << "ok";
  ASSERT_TRUE(wait_phase(spec.id, Phase::Ready));
  // The router's way in: a socket inside the instance's network namespace.
  int fd = runtime_->connect_to(spec.id, 8080);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ::close(fd);
  EXPECT_LT(runtime_->connect_to(spec.id, 8081), 0);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_LT(runtime_->connect_to("no-such-instance", 8080), 0);
}

TEST_F(SandboxTest, ProjectCannotReachAnotherProjectsFilesOrPorts) {
  auto b_files = make_dir("b-www");
  std::ofstream(b_files / "secret.txt") << "b's secret";
  auto b = web("team-b.web.0", "team-b", b_files.string(), 8000);
  start(b);
  ASSERT_TRUE(wait_phase(b.id, Phase::Ready));
  auto a = shell("team-a.snoop.0", "team-a", "");
  a.command = {"python3", "-c",
               "import socket, os\n"
               "try:\n"
               "  socket.create_connection(('127.0.0.1', 8000), timeout=2); print('CONNECTED')\n"
               "except OSError as e: print('CONNECT_FAILED', e)\n"
               "print('SEES_B_FILES' if os.path.exists('" +
                   (b_files / "secret.txt").string() +
                   "') else 'NO_B_FILES')\n"
                   "print('SEES_B_RUN' if os.path.exists('" +
                   runtime_->run_dir(b.id).string() +
                   "') else 'NO_B_RUN')\n"
                   "print('DONE', flush=True)\n"
                   "import time; time.sleep(600)\n"};
  start(a);
  std::string out = wait_output(a.id, "DONE");
  EXPECT_NE(out.find("CONNECT_FAILED"), std::string::npos) << out;
  EXPECT_EQ(out.find("CONNECTED"), std::string::npos) << out;
  EXPECT_NE(out.find("NO_B_FILES"), std::string::npos) << out;
  EXPECT_NE(out.find("NO_B_RUN"), std::string::npos) << out;
  EXPECT_NE(sandbox_uid("team-a"), sandbox_uid("team-b"));
  // Meanwhile B is reachable for the router.
  int fd = runtime_->connect_to(b.id, 8000);
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
}

TEST_F(SandboxTest, AdoptsRunningContainersAfterARestartAndDeletesStoppedOnes) {
  // A first "wok" process starts two instances and dies without stopping
  // them (no destructors run), like kill -9.
  runtime_.reset();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RuntimeOptions o;
    o.data_dir = dir_ / "data";
    auto* rt = new Runtime(o);
    std::string error;
    InstanceSpec keep = shell("team-a.keep.0", "team-a", "echo UP; exec sleep 600");
    InstanceSpec lost = shell("team-a.lost.0", "team-a", "exec sleep 600");
    bool ok = rt->start(keep, &error) && rt->start(lost, &error);
    auto ready = [](const InstanceStatus& s) { return s.phase == Phase::Ready; };
    ok = ok && rt->wait_until(keep.id, ready, std::chrono::seconds(60)) &&
         rt->wait_until(lost.id, ready, std::chrono::seconds(60));
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::string root = (dir_ / "data" / "runc").string();
  // One of them dies while nobody watches: runc keeps it as "stopped".
  ASSERT_TRUE(run_command({"runc", "--root", root, "kill", "team-a.lost.0", "KILL"}).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (run_command({"runc", "--root", root, "state", "team-a.lost.0"}).out.find("stopped") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    ::usleep(50000);

  make_runtime();
  auto kept = runtime_->status("team-a.keep.0");
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->adopted);
  EXPECT_GT(kept->pid, 0);
  EXPECT_FALSE(runtime_->status("team-a.lost.0"));
  EXPECT_EQ(run_command({"runc", "--root", root, "state", "team-a.lost.0"}).exit_code, 1)
      << "stopped leftover deleted";
  // The controller re-applies the same spec: nothing restarts.
  auto same = shell("team-a.keep.0", "team-a", "echo UP; exec sleep 600");
  start(same);
  EXPECT_EQ(runtime_->status(same.id)->pid, kept->pid);
  ASSERT_TRUE(wait_phase(same.id, Phase::Ready));
  int pid = kept->pid;
  EXPECT_TRUE(runtime_->stop(same.id));
  EXPECT_NE(::kill(pid, 0), 0) << "no orphan process left";
}

TEST_F(SandboxTest, RejectsBadSpecsWithClearErrors) {
  std::string error;
  auto spec = shell("Bad/Id", "team-a", "true");
  EXPECT_FALSE(runtime_->start(spec, &error));
  EXPECT_NE(error.find("instance id"), std::string::npos) << error;
  spec = shell("team-a.vol.0", "team-a", "true");
  spec.volumes = {{(dir_ / "missing").string(), "/data", false}};
  EXPECT_FALSE(runtime_->start(spec, &error));
  EXPECT_NE(error.find("does not exist"), std::string::npos) << error;
  spec.volumes = {{dir_.string(), "/proc/x", false}};
  EXPECT_FALSE(runtime_->start(spec, &error));
  EXPECT_NE(error.find("reserved"), std::string::npos) << error;
  spec = shell("team-a.img.0", "team-a", "true");
  spec.image = "docker://127.0.0.1:9/none:latest";
  EXPECT_FALSE(runtime_->start(spec, &error));
  EXPECT_NE(error.find("cannot pull image docker://127.0.0.1:9/none:latest"), std::string::npos)
      << error;
  EXPECT_TRUE(runtime_->list().empty());
}

}  // namespace
}  // namespace wok::runtime::testing
