// BuildJobs: builds off the reconcile workers, fair across projects.
#include "controllers/build_jobs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace wok::controllers {
namespace {

using namespace std::chrono_literals;

BuildOptions command(std::vector<std::string> argv) {
  BuildOptions o;
  o.command = std::move(argv);
  o.working_dir = std::filesystem::temp_directory_path().string();
  o.timeout = 60s;
  return o;
}

std::optional<BuildResult> wait_result(BuildJobs& jobs, const std::string& key) {
  for (int i = 0; i < 500; ++i) {
    if (auto r = jobs.take(key)) return r;
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

TEST(BuildJobs, OneProjectsStuckBuildsDoNotHoldAnothersBuild) {
  BuildJobs jobs(2, 1);
  for (int i = 0; i < 3; ++i)
    jobs.submit("a/stuck" + std::to_string(i), "team-a", command({"sleep", "600"}));
  jobs.submit("b/quick", "team-b", command({"sh", "-c", "echo done"}));
  auto r = wait_result(jobs, "b/quick");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->error;
  EXPECT_EQ(r->output, "done\n");
  // One of team-a's builds runs, the two others wait for its slot.
  int running = 0;
  for (int i = 0; i < 3; ++i) running += jobs.running("a/stuck" + std::to_string(i));
  EXPECT_EQ(running, 1);
  EXPECT_EQ(jobs.running_count(), 1);
}

TEST(BuildJobs, ARunningBuildsOutputCanBeReadBeforeItEnds) {
  BuildJobs jobs(1, 1);
  EXPECT_FALSE(jobs.output("a/site"));  // none submitted
  // Prints a line, then waits for a file that the test makes once it has
  // read that line: the output was read while the build still ran.
  const std::string gate = std::filesystem::temp_directory_path().string() + "/wok-build-gate-" +
                           std::to_string(getpid());
  std::filesystem::remove(gate);
  jobs.submit("a/site", "team-a",
              command({"sh", "-c",
                       "echo step-one; while [ ! -e " + gate +
                           " ]; do sleep 0.05; done; "
                           "echo step-two"}));
  std::string seen;
  for (int i = 0; i < 500 && seen.find("step-one") == std::string::npos; ++i) {
    seen = jobs.output("a/site").value_or("");
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(seen, "step-one\n");
  EXPECT_TRUE(jobs.running("a/site"));
  std::ofstream(gate).put('x');
  auto r = wait_result(jobs, "a/site");
  std::filesystem::remove(gate);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output, "step-one\nstep-two\n");
  EXPECT_FALSE(jobs.output("a/site"));  // taken: forgotten
}

TEST(BuildJobs, CancelKillsARunningBuildAndStartsTheNext) {
  BuildJobs jobs(1, 1);
  jobs.submit("a/one", "team-a", command({"sleep", "600"}));
  jobs.submit("b/two", "team-b", command({"sh", "-c", "echo two"}));
  EXPECT_TRUE(jobs.running("a/one"));
  EXPECT_FALSE(jobs.running("b/two"));
  jobs.cancel("a/one");  // returns once the sleep is killed (it would hang otherwise)
  EXPECT_FALSE(jobs.known("a/one"));
  auto r = wait_result(jobs, "b/two");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output, "two\n");
}

TEST(BuildJobs, RoundRobinOverProjects) {
  BuildJobs jobs(1, 1);
  jobs.submit("a/0", "team-a", command({"sleep", "600"}));  // holds the only slot
  jobs.submit("a/1", "team-a", command({"true"}));
  jobs.submit("a/2", "team-a", command({"true"}));
  jobs.submit("b/0", "team-b", command({"true"}));
  jobs.cancel("a/0");
  // team-b's build goes before team-a's second and third, though queued last.
  ASSERT_TRUE(wait_result(jobs, "b/0"));
  EXPECT_TRUE(jobs.known("a/2"));
}

TEST(BuildJobs, ResubmittingCancelsTheEarlierBuild) {
  BuildJobs jobs(2, 2);
  jobs.submit("a/site", "team-a", command({"sleep", "600"}));
  jobs.submit("a/site", "team-a", command({"sh", "-c", "echo second"}));
  auto r = wait_result(jobs, "a/site");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output, "second\n");
}

}  // namespace
}  // namespace wok::controllers
