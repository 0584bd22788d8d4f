// spec.app.jobs: validation (every field, hostile values) and app_jobs'
// defaults, which both platforms read.
#include "api/jobs.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/codec.h"

namespace wok::api {
namespace {

using nlohmann::json;

json app_site(const std::string& jobs) {
  std::string yaml = R"(
apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {name: api, namespace: team-a}
spec:
  mode: app
  hosts: [api.team-a.localhost]
  source: {git: {url: "file:///srv/api.git"}}
  app:
    components:
      - {name: web, command: [python3, app.py], port: 8080}
      - {name: worker, command: [python3, worker.py]}
    jobs: )" + jobs + "\n";
  std::vector<json> docs;
  std::string error;
  EXPECT_TRUE(parse_documents(yaml, &docs, &error)) << error;
  return docs.at(0);
}

std::string errors_of(const std::string& jobs) {
  return join_errors(validate_site(app_site(jobs)));
}

TEST(Jobs, AcceptedWithEveryField) {
  EXPECT_EQ(errors_of(R"([{name: nightly, schedule: "0 3 * * *", command: [sh, -c, "echo hi"]},
    {name: report, schedule: "@hourly", component: worker, command: [python3, report.py],
     concurrencyPolicy: Replace, timeout: 90s, startingDeadline: 5m,
     successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 10}])"),
            "");
}

TEST(Jobs, DefaultsAndComponent) {
  auto jobs = app_jobs(app_site(R"([{name: a, schedule: "* * * * *", command: [true]},
    {name: b, schedule: "@daily", component: worker, command: [x], concurrencyPolicy: Allow, timeout: 2m,
     startingDeadline: 30s, successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 2}])")["spec"]);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].component, "web");  // the first component
  EXPECT_EQ(jobs[0].concurrency_policy, "Forbid");
  EXPECT_EQ(jobs[0].timeout_ms, kDefaultJobTimeoutMs);
  EXPECT_EQ(jobs[0].starting_deadline_ms, -1);
  EXPECT_EQ(jobs[0].successful_history, 3);
  EXPECT_EQ(jobs[0].failed_history, 3);
  EXPECT_EQ(jobs[1].component, "worker");
  EXPECT_EQ(jobs[1].concurrency_policy, "Allow");
  EXPECT_EQ(jobs[1].timeout_ms, 120'000);
  EXPECT_EQ(jobs[1].starting_deadline_ms, 30'000);
  EXPECT_EQ(jobs[1].successful_history, 1);
  EXPECT_EQ(jobs[1].failed_history, 2);
  EXPECT_EQ(jobs[1].command, std::vector<std::string>{"x"});
}

TEST(Jobs, RefusalsNameTheField) {
  EXPECT_EQ(errors_of(R"([{name: a, schedule: "61 * * * *", command: [x]}])"),
            "spec.app.jobs[0].schedule: minute field \"61\": 61 is out of range 0-59");
  EXPECT_EQ(errors_of(R"([{name: Bad_Name, schedule: "@daily", command: [x]}])"),
            "spec.app.jobs[0].name: \"Bad_Name\" is not a valid name (a DNS label)");
  EXPECT_EQ(
      errors_of(
          R"([{name: a, schedule: "@daily", command: [x]}, {name: a, schedule: "@daily", command: [y]}])"),
      "spec.app.jobs[1].name: \"a\" is listed twice");
  EXPECT_EQ(errors_of(R"([{name: a, schedule: "@daily", component: db, command: [x]}])"),
            "spec.app.jobs[0].component: \"db\" is not a component of spec.app.components");
  EXPECT_EQ(errors_of(R"([{name: a, schedule: "@daily", command: []}])"),
            "spec.app.jobs[0].command: must not be empty");
  EXPECT_EQ(errors_of(R"([{name: a, schedule: "@daily", command: [x], timeout: forever}])"),
            "spec.app.jobs[0].timeout: \"forever\" is not a duration (e.g. 30s, 10m, 1h)");
  EXPECT_EQ(errors_of(R"([{name: a, schedule: "@daily", command: [x], timeout: 25h}])"),
            "spec.app.jobs[0].timeout: \"25h\" must be between 1s and 24h");
  EXPECT_EQ(errors_of(R"([{name: a, schedule: "@daily", command: [x], timeout: 1500ms}])"),
            "spec.app.jobs[0].timeout: \"1500ms\" must be whole seconds");
  EXPECT_EQ(errors_of(R"([{name: a, schedule: "@daily", command: [x], startingDeadline: 1s}])"),
            "spec.app.jobs[0].startingDeadline: \"1s\" must be between 10s and 24h");
  EXPECT_EQ(
      errors_of(R"([{name: a, schedule: "@daily", command: [x], successfulJobsHistoryLimit: 11}])"),
      "spec.app.jobs[0].successfulJobsHistoryLimit: 11 is out of range (0-10)");
  EXPECT_EQ(
      errors_of(R"([{name: a, schedule: "@daily", command: [x], failedJobsHistoryLimit: -1}])"),
      "spec.app.jobs[0].failedJobsHistoryLimit: -1 is out of range (0-10)");
  EXPECT_EQ(
      errors_of(R"([{name: a, schedule: "@daily", command: [x], concurrencyPolicy: Sometimes}])"),
      "spec.app.jobs[0].concurrencyPolicy: \"Sometimes\" is not one of Forbid, Allow, Replace");
  EXPECT_NE(errors_of(R"([{name: a, schedule: "@daily", command: [x], extra: 1}])")
                .find("spec.app.jobs[0].extra"),
            std::string::npos);
  EXPECT_NE(
      errors_of(R"([{name: a, schedule: 5, command: [x]}])").find("spec.app.jobs[0].schedule"),
      std::string::npos);
  std::string many = "[";
  for (int i = 0; i < 11; ++i)
    many += std::string(i ? "," : "") + "{name: j" + std::to_string(i) +
            ", schedule: \"@daily\", command: [x]}";
  EXPECT_EQ(errors_of(many + "]"), "spec.app.jobs: lists 11 jobs, at most 10 are allowed");
}

// The CronJob on Kubernetes is "SITE-JOB", at most 52 characters: both
// platforms refuse a longer one, naming the field.
TEST(Jobs, TheCronJobNameFitsKubernetes) {
  std::string fits(48, 'a');  // "api-" + 48 = 52
  EXPECT_EQ(errors_of("[{name: " + fits + ", schedule: \"@daily\", command: [echo]}]"), "");
  std::string long_name = fits + "b";
  EXPECT_EQ(errors_of("[{name: " + long_name + ", schedule: \"@daily\", command: [echo]}]"),
            "spec.app.jobs[0].name: makes the CronJob name \"api-" + long_name +
                "\" 53 characters long; Kubernetes allows 52 (shorten the site or the job name)");
}

}  // namespace
}  // namespace wok::api
