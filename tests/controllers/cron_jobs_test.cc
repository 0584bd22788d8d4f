// The embedded CronJob controller's loop with a fake clock: schedules,
// concurrency policies, missed runs and startingDeadline, manual requests,
// history, time limits. Runs are plain subprocesses here (the launcher
// under test gives BuildOptions.command); the sandbox is test_jobs.py's.
// Nothing asserts a timing: runs are waited for with generous bounds.
#include "controllers/cron_jobs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "store/store.h"

namespace wok::controllers {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono;

system_clock::time_point at(int h, int m, int s = 0) {
  return sys_days(year(2026) / 12 / 2) + hours(h) + minutes(m) + seconds(s);
}

class CronJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wok-cron-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string error;
    store_ = store::Store::open((dir_ / "wok.db").string(), &error);
    ASSERT_TRUE(store_) << error;
    ASSERT_TRUE(store_
                    ->create("Project", {{"apiVersion", "wok.dev/v1alpha1"},
                                         {"kind", "Project"},
                                         {"metadata", {{"name", "team-a"}}},
                                         {"spec", json::object()}})
                    .ok());
  }
  void TearDown() override {
    cron_.reset();
    fs::remove_all(dir_);
  }

  // An app site whose live revision has these jobs.
  void make_site(const json& jobs) {
    json spec = {{"mode", "app"},
                 {"hosts", json::array()},
                 {"app",
                  {{"components", {{{"name", "web"}, {"command", {"true"}}, {"port", 8080}}}},
                   {"jobs", jobs}}}};
    auto r = store_->create("Site", {{"apiVersion", "wok.dev/v1alpha1"},
                                     {"kind", "Site"},
                                     {"metadata", {{"name", "api"}, {"namespace", "team-a"}}},
                                     {"spec", spec}});
    ASSERT_TRUE(r.ok()) << r.message;
    uid_ = (*r.object)["metadata"]["uid"];
    store::Revision rev;
    rev.spec = spec.dump();
    int64_t n = store_->add_revision(uid_, "team-a", "api", rev);
    store_->finish_revision(uid_, n, "Deployed", "", "", true, (dir_ / "root").string());
    store_->patch_status("Site", "team-a", "api", {{"revision", n}});
  }

  void start(CronJobsOptions options = {}) {
    options.data_dir = dir_;
    options.clock = [this] { return now_; };
    cron_ = std::make_unique<CronJobs>(
        *store_,
        [this](const json&, const store::Revision&, const api::JobSpec& job, int64_t,
               BuildOptions* opts) {
          launched_++;
          opts->command = job.command;
          opts->working_dir = dir_.string();
          return std::string();
        },
        options);
  }

  json job_status(const std::string& name = "nightly") {
    auto site = store_->get("Site", "team-a", "api");
    for (const json& j : (*site)["status"].value("jobs", json::array()))
      if (j["name"] == name) return j;
    return json();
  }

  // Ticks until no run of the job is active (runs are real processes).
  json settle(const std::string& name = "nightly") {
    for (int i = 0; i < 600; ++i) {
      cron_->tick();
      json j = job_status(name);
      if (j.is_object() && j.value("active", 1) == 0) return j;
      std::this_thread::sleep_for(milliseconds(50));
    }
    ADD_FAILURE() << "runs of " << name << " never ended";
    return job_status(name);
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CronJobs> cron_;
  std::string uid_;
  system_clock::time_point now_ = at(10, 2, 30);
  int launched_ = 0;
};

TEST_F(CronJobsTest, RunsAtTheScheduledTimeAndKeepsItsOutput) {
  make_site(json::array({{{"name", "nightly"},
                          {"schedule", "*/5 * * * *"},
                          {"command", {"sh", "-c", "echo ran; exit 3"}}}}));
  start();
  cron_->tick();
  EXPECT_EQ(launched_, 0);  // created at 10:02:30: the next time is 10:05
  json j = job_status();
  EXPECT_EQ(j["nextScheduleTime"], "2026-12-02T10:05:00Z");
  EXPECT_EQ(j["runs"].size(), 0u);
  now_ = at(10, 5, 1);
  cron_->tick();
  EXPECT_EQ(launched_, 1);
  j = settle();
  EXPECT_EQ(j["lastScheduleTime"], "2026-12-02T10:05:00Z");
  EXPECT_EQ(j["nextScheduleTime"], "2026-12-02T10:10:00Z");
  ASSERT_EQ(j["runs"].size(), 1u);
  EXPECT_EQ(j["runs"][0]["reason"], "Scheduled");
  EXPECT_EQ(j["runs"][0]["result"], "Failed");
  EXPECT_EQ(j["runs"][0]["exitCode"], 3);
  json logs = cron_->logs("team-a", "api", "nightly", 10);
  ASSERT_EQ(logs["items"].size(), 1u);
  EXPECT_EQ(logs["items"][0]["lines"], json::array({"ran"}));
  cron_->tick();
  EXPECT_EQ(launched_, 1);  // once per scheduled time
}

TEST_F(CronJobsTest, ForbidSkipsAllowRunsBothReplaceStopsTheOld) {
  make_site(
      json::array({{{"name", "forbid"}, {"schedule", "* * * * *"}, {"command", {"sleep", "60"}}},
                   {{"name", "allow"},
                    {"schedule", "* * * * *"},
                    {"command", {"sleep", "60"}},
                    {"concurrencyPolicy", "Allow"}},
                   {{"name", "replace"},
                    {"schedule", "* * * * *"},
                    {"command", {"sleep", "60"}},
                    {"concurrencyPolicy", "Replace"}}}));
  CronJobsOptions options;
  options.max_running = 10;
  options.max_per_project = 10;
  start(options);
  cron_->tick();  // 10:02:30: first seen
  now_ = at(10, 3, 0);
  cron_->tick();
  EXPECT_EQ(launched_, 3);
  now_ = at(10, 4, 0);
  cron_->tick();
  EXPECT_EQ(launched_, 5);  // forbid skipped
  json forbid = job_status("forbid"), allow = job_status("allow"), replace = job_status("replace");
  EXPECT_EQ(forbid["active"], 1);
  EXPECT_NE(forbid.value("message", "").find("still active (concurrencyPolicy Forbid)"),
            std::string::npos);
  EXPECT_EQ(allow["active"], 2);
  EXPECT_EQ(replace["active"], 1);
  EXPECT_EQ(replace["runs"][0]["result"], "Failed");
  EXPECT_EQ(replace["runs"][0]["message"], "replaced by run 2 (concurrencyPolicy Replace)");
  EXPECT_EQ(replace["runs"][1]["result"], "Running");
}

TEST_F(CronJobsTest, AllowedRunsThatNeverEndDoNotPileUp) {
  make_site(json::array({{{"name", "allow"},
                          {"schedule", "* * * * *"},
                          {"command", {"sleep", "60"}},
                          {"concurrencyPolicy", "Allow"}}}));
  CronJobsOptions options;
  options.max_active_per_job = 3;
  start(options);
  cron_->tick();
  for (int m = 3; m < 13; ++m) {
    now_ = at(10, m, 0);
    cron_->tick();
  }
  EXPECT_EQ(launched_, 3);
  json j = job_status("allow");
  EXPECT_EQ(j["active"], 3);
  EXPECT_EQ(j["runs"].size(), 3u);
  EXPECT_NE(
      j.value("message", "").find("3 runs of this job are already active or queued (at most 3)"),
      std::string::npos);
}

TEST_F(CronJobsTest, TimeoutKillsTheRun) {
  make_site(json::array({{{"name", "nightly"},
                          {"schedule", "@daily"},
                          {"command", {"sleep", "60"}},
                          {"timeout", "1s"}}}));
  start();
  store_->patch_status("Site", "team-a", "api", {{"jobRequests", {{"nightly", 1}}}});
  cron_->tick();
  json j = settle();
  ASSERT_EQ(j["runs"].size(), 1u);
  EXPECT_EQ(j["runs"][0]["reason"], "Manual");
  EXPECT_EQ(j["runs"][0]["result"], "Failed");
  EXPECT_EQ(j["runs"][0]["message"], "killed at its timeout of 1s");
  EXPECT_EQ(j["requestsHandled"], 1);
}

TEST_F(CronJobsTest, ManualRequestsRunOnceEach) {
  make_site(json::array({{{"name", "nightly"}, {"schedule", "@yearly"}, {"command", {"true"}}}}));
  start();
  cron_->tick();
  EXPECT_EQ(launched_, 0);
  store_->patch_status("Site", "team-a", "api", {{"jobRequests", {{"nightly", 1}}}});
  cron_->tick();
  settle();
  EXPECT_EQ(launched_, 1);
  store_->patch_status("Site", "team-a", "api", {{"jobRequests", {{"nightly", 2}}}});
  json j = settle();
  EXPECT_EQ(launched_, 2);
  EXPECT_EQ(j["runs"][1]["result"], "Succeeded");
  EXPECT_EQ(j["runs"][1]["exitCode"], 0);
}

TEST_F(CronJobsTest, HistoryKeepsTheNewestRunsAndTheirLogs) {
  make_site(json::array({{{"name", "nightly"},
                          {"schedule", "@yearly"},
                          {"command", {"sh", "-c", "echo hi"}},
                          {"successfulJobsHistoryLimit", 2}}}));
  start();
  for (int i = 1; i <= 4; ++i) {
    store_->patch_status("Site", "team-a", "api", {{"jobRequests", {{"nightly", i}}}});
    settle();
  }
  json j = job_status();
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["run"], 3);
  EXPECT_EQ(j["runs"][1]["run"], 4);
  fs::path logs = dir_ / "sites" / "team-a" / "api" / uid_ / "jobs" / "nightly";
  EXPECT_FALSE(fs::exists(logs / "1.log"));
  EXPECT_FALSE(fs::exists(logs / "2.log"));
  EXPECT_TRUE(fs::exists(logs / "4.log"));
}

TEST_F(CronJobsTest, OutputIsBounded) {
  make_site(json::array({{{"name", "nightly"},
                          {"schedule", "@yearly"},
                          {"command", {"sh", "-c", "yes 0123456789 | head -c 10000000"}}}}));
  CronJobsOptions options;
  options.max_output = 4096;
  start(options);
  store_->patch_status("Site", "team-a", "api", {{"jobRequests", {{"nightly", 1}}}});
  settle();
  fs::path log = dir_ / "sites" / "team-a" / "api" / uid_ / "jobs" / "nightly" / "1.log";
  EXPECT_LE(fs::file_size(log), 4096u + 64u);
}

TEST_F(CronJobsTest, MissedWhileDownRunsOnceOrIsMissedPastItsDeadline) {
  make_site(json::array({{{"name", "nightly"}, {"schedule", "*/10 * * * *"}, {"command", {"true"}}},
                         {{"name", "strict"},
                          {"schedule", "*/10 * * * *"},
                          {"command", {"true"}},
                          {"startingDeadline", "60s"}}}));
  start();
  cron_->tick();        // 10:02:30: status records the last schedule time
  cron_.reset();        // wok stops...
  now_ = at(13, 5, 0);  // ...and starts 3 hours later: 18 times missed each
  start();
  cron_->tick();
  EXPECT_EQ(launched_, 1);  // only nightly, and once
  json strict = job_status("strict");
  EXPECT_EQ(strict["runs"].size(), 0u);
  EXPECT_EQ(strict["lastScheduleTime"], "2026-12-02T13:00:00Z");
  EXPECT_NE(strict.value("message", "").find("more than its startingDeadline"), std::string::npos);
  json nightly = settle();
  EXPECT_EQ(nightly["lastScheduleTime"], "2026-12-02T13:00:00Z");
  EXPECT_EQ(nightly["runs"].size(), 1u);
  // Within the deadline: run.
  now_ = at(13, 10, 30);
  cron_->tick();
  EXPECT_EQ(launched_, 3);
}

TEST_F(CronJobsTest, ARunInterruptedByAStopIsFailedAfterTheRestart) {
  make_site(
      json::array({{{"name", "nightly"}, {"schedule", "@yearly"}, {"command", {"sleep", "60"}}}}));
  start();
  store_->patch_status("Site", "team-a", "api", {{"jobRequests", {{"nightly", 1}}}});
  cron_->tick();
  EXPECT_EQ(job_status()["runs"][0]["result"], "Running");
  cron_.reset();
  start();
  cron_->tick();
  json j = job_status();
  EXPECT_EQ(j["runs"][0]["result"], "Failed");
  EXPECT_EQ(j["runs"][0]["message"], "interrupted: wok stopped during the run");
  EXPECT_EQ(launched_, 1);  // the request was handled before the stop
}

TEST_F(CronJobsTest, OneProjectsRunsCannotStarveAnothers) {
  // team-a's three runs never end; with one run per project, team-b's still starts.
  make_site(json::array({{{"name", "a1"}, {"schedule", "@yearly"}, {"command", {"sleep", "60"}}},
                         {{"name", "a2"}, {"schedule", "@yearly"}, {"command", {"sleep", "60"}}},
                         {{"name", "a3"}, {"schedule", "@yearly"}, {"command", {"sleep", "60"}}}}));
  ASSERT_TRUE(store_
                  ->create("Project", {{"apiVersion", "wok.dev/v1alpha1"},
                                       {"kind", "Project"},
                                       {"metadata", {{"name", "team-b"}}},
                                       {"spec", json::object()}})
                  .ok());
  json spec = {{"mode", "app"},
               {"hosts", json::array()},
               {"app",
                {{"components", {{{"name", "web"}, {"command", {"true"}}, {"port", 8080}}}},
                 {"jobs", {{{"name", "b1"}, {"schedule", "@yearly"}, {"command", {"true"}}}}}}}};
  auto r = store_->create("Site", {{"apiVersion", "wok.dev/v1alpha1"},
                                   {"kind", "Site"},
                                   {"metadata", {{"name", "web"}, {"namespace", "team-b"}}},
                                   {"spec", spec}});
  ASSERT_TRUE(r.ok()) << r.message;
  std::string b_uid = (*r.object)["metadata"]["uid"];
  store::Revision rev;
  rev.spec = spec.dump();
  store_->finish_revision(b_uid, store_->add_revision(b_uid, "team-b", "web", rev), "Deployed", "",
                          "", true, (dir_ / "root-b").string());
  store_->patch_status("Site", "team-b", "web", {{"revision", 1}});
  CronJobsOptions options;
  options.max_running = 2;
  options.max_per_project = 1;
  start(options);
  store_->patch_status("Site", "team-a", "api",
                       {{"jobRequests", {{"a1", 1}, {"a2", 1}, {"a3", 1}}}});
  cron_->tick();
  store_->patch_status("Site", "team-b", "web", {{"jobRequests", {{"b1", 1}}}});
  json b;
  for (int i = 0; i < 600; ++i) {
    cron_->tick();
    b = store_->get("Site", "team-b", "web").value()["status"]["jobs"][0];
    if (b["runs"].size() == 1 && b["runs"][0]["result"] != "Running") break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(b["runs"][0]["result"], "Succeeded");
  EXPECT_EQ(cron_->running_count(), 1);  // team-a's first; its others wait their turn
}

TEST_F(CronJobsTest, NoLiveRevisionNoRun) {
  make_site(json::array({{{"name", "nightly"}, {"schedule", "* * * * *"}, {"command", {"true"}}}}));
  store_->patch_status("Site", "team-a", "api", {{"revision", nullptr}});  // withdrawn
  start();
  now_ = at(10, 3, 0);
  cron_->tick();
  store_->patch_status("Site", "team-a", "api", {{"jobRequests", {{"nightly", 1}}}});
  cron_->tick();
  EXPECT_EQ(launched_, 0);
}

}  // namespace
}  // namespace wok::controllers
