// Golden tests: each tests/render/cases/NAME.yaml (Projects and Sites)
// renders exactly to golden/NAME.yaml (Ingress) and golden/NAME-openshift.yaml
// (Routes). WOK_UPDATE_GOLDEN=1 rewrites the golden files instead; review
// the diff before committing it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/codec.h"
#include "render/plan.h"
#include "render/render.h"
#include "render/transfer.h"

#ifndef WOK_RENDER_TESTDATA
#error "WOK_RENDER_TESTDATA must name tests/render"
#endif
#ifndef WOK_CHART_DIR
#error "WOK_CHART_DIR must name deploy/helm/wok"
#endif

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string stream_of(const std::vector<json>& objects) {
  std::string out;
  for (const json& o : objects) out += "---\n" + wok::api::to_yaml(o);
  return out;
}

std::string render_case(const fs::path& input, const wok::render::PlatformSettings& settings) {
  std::vector<json> docs;
  std::string error;
  EXPECT_TRUE(wok::api::parse_documents(read(input), &docs, &error)) << input << ": " << error;
  json project;
  std::vector<json> out;
  for (const json& d : docs) {
    if (d["kind"] == "Project") {
      project = d;
      for (json& o : wok::render::render_project(d, settings)) out.push_back(std::move(o));
    }
  }
  for (const json& d : docs) {
    if (d["kind"] == "Secret") out.push_back(wok::render::render_secret(d));
  }
  for (const json& d : docs) {
    if (d["kind"] == "Site") {
      for (json& o : wok::render::render_site(d, project, settings)) out.push_back(std::move(o));
    }
  }
  return stream_of(out);
}

bool updating() {
  const char* v = std::getenv("WOK_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

// Compares `actual` with the file, or rewrites the file when updating.
void expect_golden(const fs::path& golden, const std::string& actual) {
  if (updating()) {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing: run with WOK_UPDATE_GOLDEN=1";
  EXPECT_EQ(read(golden), actual) << golden
                                  << " differs: if the change is intended, rerun with "
                                     "WOK_UPDATE_GOLDEN=1 and review the diff";
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, IngressPlatform) {
  fs::path dir = WOK_RENDER_TESTDATA;
  wok::render::PlatformSettings settings;
  expect_golden(dir / "golden" / (GetParam() + ".yaml"),
                render_case(dir / "cases" / (GetParam() + ".yaml"), settings));
}

TEST_P(Golden, OpenShiftPlatform) {
  fs::path dir = WOK_RENDER_TESTDATA;
  wok::render::PlatformSettings settings;
  settings.openshift_routes = true;
  settings.ingress_namespace = "openshift-ingress";
  expect_golden(dir / "golden" / (GetParam() + "-openshift.yaml"),
                render_case(dir / "cases" / (GetParam() + ".yaml"), settings));
}

// The one plan of each case's Sites (render::plan_site), what both
// platforms execute: golden/plan-NAME.json.
TEST_P(Golden, Plan) {
  fs::path dir = WOK_RENDER_TESTDATA;
  std::vector<json> docs;
  std::string error;
  ASSERT_TRUE(
      wok::api::parse_documents(read(dir / "cases" / (GetParam() + ".yaml")), &docs, &error))
      << error;
  json plans = json::array();
  for (const json& d : docs)
    if (d["kind"] == "Site") plans.push_back(wok::render::plan_json(wok::render::plan_site(d)));
  expect_golden(dir / "golden" / ("plan-" + GetParam() + ".json"), plans.dump(2) + "\n");
}

INSTANTIATE_TEST_SUITE_P(Modes, Golden,
                         ::testing::Values("static", "php", "app", "image-app", "secret", "oidc",
                                           "database", "backup"));

// The restore and list Jobs the operator makes (render_restore_job,
// render_list_job, render_backup_sweep's CronJob) of the backup
// case's sites: golden/backup-restore-jobs.yaml (checked against the
// Kubernetes schemas by tests/render/k8s/check.sh).
TEST(Golden, RestoreJobs) {
  fs::path dir = WOK_RENDER_TESTDATA;
  std::vector<json> docs;
  std::string error;
  ASSERT_TRUE(wok::api::parse_documents(read(dir / "cases" / "backup.yaml"), &docs, &error))
      << error;
  std::vector<json> jobs;
  for (const json& d : docs) {
    const std::string name = d["metadata"].value("name", "");
    jobs.push_back(wok::render::render_restore_job(d, json(), wok::render::PlatformSettings{},
                                                   name + "-restore-0a1b2c3d", "latest"));
    jobs.push_back(wok::render::render_list_job(d, json(), wok::render::PlatformSettings{},
                                                name + "-list-0a1b2c3d"));
  }
  // A clone of another project's backup into the first site: its Job (the
  // receiver first) and what carries the backup there (render/transfer.h).
  const json& first = docs.at(0);
  const std::string clone_job = first["metadata"].value("name", "") + "-clone-0a1b2c3d";
  jobs.push_back(wok::render::render_restore_job(first, json(), wok::render::PlatformSettings{},
                                                 clone_job, "latest", "shop", "team-c"));
  const wok::render::TransferObjects t =
      wok::render::render_transfer(first, wok::render::PlatformSettings{}, clone_job, "team-c",
                                   "shop", "latest", "a-token-made-for-one-clone", "a-password");
  for (const json* o : {&t.target_secret, &t.service, &t.target_policy, &t.copy_job,
                        &t.source_secret, &t.source_policy})
    jobs.push_back(*o);
  // And the project's daily sweep of its deleted sites' backups.
  jobs.push_back(wok::render::render_backup_sweep(
      "team-a", {{"blog", "0b1c2d3e-uid"}, {"docs", "4f5a6b7c-uid"}},
      wok::render::PlatformSettings{}));
  expect_golden(dir / "golden" / "backup-restore-jobs.yaml", stream_of(jobs));
}

// spec.database through the operators a platform may name instead of
// StatefulSets: golden/database-operators.yaml.
TEST(Golden, DatabaseOperators) {
  fs::path dir = WOK_RENDER_TESTDATA;
  wok::render::PlatformSettings settings;
  settings.postgresql_operator = "cloudnative-pg";
  settings.mariadb_operator = "mariadb-operator";
  expect_golden(dir / "golden" / "database-operators.yaml",
                render_case(dir / "cases" / "database.yaml", settings));
}

// The chart installs exactly what `wok crds` prints.
TEST(Golden, ChartCrdsAreTheGeneratedOnes) {
  expect_golden(fs::path(WOK_CHART_DIR) / "crds" / "wok.dev.yaml",
                "# Generated by `wok crds` from the validator's model: do not edit.\n" +
                    stream_of(wok::render::custom_resource_definitions()));
}

}  // namespace
