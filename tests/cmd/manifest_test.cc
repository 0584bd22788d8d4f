#include "cmd/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test_env.h"

namespace wok::cmd {
namespace {

using testing::TempDir;

const char kProject[] = R"(apiVersion: wok.dev/v1alpha1
kind: Project
metadata:
  name: team-a
spec:
  hosts: ["*.team-a.example.org"]
)";

std::string site_yaml(const std::string& name, const std::string& ns = "team-a") {
  std::string text = "apiVersion: wok.dev/v1alpha1\nkind: Site\nmetadata:\n  name: " + name + "\n";
  if (!ns.empty()) text += "  namespace: " + ns + "\n";
  return text + "spec:\n  mode: static\n  hosts: [" + name +
         ".team-a.example.org]\n  source:\n    git:\n      url: https://git.example.org/www.git\n";
}

bool load(const std::vector<std::string>& inputs, Manifest* manifest, std::string* error,
          const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  return load_manifest(inputs, in, manifest, error);
}

TEST(LoadManifest, ReadsEveryDocumentOfEveryFileInOrder) {
  TempDir dir;
  std::string a = dir.write("a.yaml", std::string(kProject) + "---\n" + site_yaml("www"));
  std::string b = dir.write("b.yaml", site_yaml("blog"));
  Manifest manifest;
  std::string error;
  ASSERT_TRUE(load({b, a}, &manifest, &error)) << error;
  ASSERT_EQ(manifest.objects.size(), 3u);
  EXPECT_EQ(manifest.objects[0]["metadata"]["name"], "blog");
  EXPECT_EQ(manifest.objects[1]["kind"], "Project");
  EXPECT_EQ(manifest.objects[2]["metadata"]["name"], "www");
  EXPECT_EQ(origin_text(manifest, 0), b);
  EXPECT_EQ(origin_text(manifest, 1), a + " (document 1)");
  EXPECT_EQ(origin_text(manifest, 2), a + " (document 2)");
}

TEST(LoadManifest, DirectoryTakesYamlYmlAndJsonSorted) {
  TempDir dir;
  dir.write("site/20-blog.yml", site_yaml("blog"));
  dir.write("site/10-www.yaml", site_yaml("www"));
  dir.write("site/30-api.json",
            R"({"apiVersion": "wok.dev/v1alpha1", "kind": "Site", "metadata": {"name": "api"}})");
  dir.write("site/README.md", "# not a manifest: {{{");
  dir.write("site/nested/40-x.yaml", site_yaml("nested"));
  Manifest manifest;
  std::string error;
  ASSERT_TRUE(load({dir.path() + "/site"}, &manifest, &error)) << error;
  ASSERT_EQ(manifest.objects.size(), 3u);
  EXPECT_EQ(manifest.objects[0]["metadata"]["name"], "www");
  EXPECT_EQ(manifest.objects[1]["metadata"]["name"], "blog");
  EXPECT_EQ(manifest.objects[2]["metadata"]["name"], "api");
}

TEST(LoadManifest, ReadsStdinForDash) {
  Manifest manifest;
  std::string error;
  ASSERT_TRUE(load({"-"}, &manifest, &error, site_yaml("www"))) << error;
  ASSERT_EQ(manifest.objects.size(), 1u);
  EXPECT_EQ(manifest.origins[0].file, "-");
}

TEST(LoadManifest, SyntaxErrorNamesFileLineAndColumn) {
  TempDir dir;
  std::string good = dir.write("good.yaml", site_yaml("www"));
  std::string bad =
      dir.write("bad.yaml", "apiVersion: wok.dev/v1alpha1\nkind: Site\nmetadata: {name: [x\n");
  Manifest manifest;
  std::string error;
  EXPECT_FALSE(load({good, bad}, &manifest, &error));
  EXPECT_EQ(error.rfind(bad + ": line ", 0), 0u) << error;
  EXPECT_NE(error.find(", column "), std::string::npos) << error;
}

TEST(LoadManifest, MissingPathAndNothingToApply) {
  TempDir dir;
  Manifest manifest;
  std::string error;
  EXPECT_FALSE(load({dir.path() + "/nope.yaml"}, &manifest, &error));
  EXPECT_EQ(error, "the path \"" + dir.path() + "/nope.yaml\" does not exist");
  dir.write("empty/notes.txt", "x");
  EXPECT_FALSE(load({dir.path() + "/empty"}, &manifest, &error));
  EXPECT_EQ(error, "no objects passed to apply");
}

Manifest parsed(const std::string& text) {
  Manifest manifest;
  std::string error;
  EXPECT_TRUE(load({"-"}, &manifest, &error, text)) << error;
  return manifest;
}

TEST(CheckManifest, RefusesOtherKindsAndVersions) {
  std::string error;
  Manifest m = parsed(site_yaml("www") +
                      "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n");
  EXPECT_FALSE(check_manifest(&m, "", &error));
  EXPECT_EQ(error, "- (document 2): apiVersion must be wok.dev/v1alpha1 (got \"apps/v1\")");
  m = parsed("apiVersion: wok.dev/v1alpha1\nkind: GitSync\nmetadata: {name: x}\n");
  EXPECT_FALSE(check_manifest(&m, "", &error));
  EXPECT_EQ(error,
            "-: kind \"GitSync\" is not supported: wok apply accepts Project, Site and Secret");
  m = parsed("apiVersion: wok.dev/v1alpha1\nkind: Site\nspec: {}\n");
  EXPECT_FALSE(check_manifest(&m, "", &error));
  EXPECT_EQ(error, "-: metadata.name is missing");
  m = parsed("- just\n- a list\n");
  EXPECT_FALSE(check_manifest(&m, "", &error));
}

TEST(CheckManifest, SiteWithoutNamespaceTakesTheProjectFlag) {
  std::string error;
  Manifest m = parsed(site_yaml("www", ""));
  EXPECT_FALSE(check_manifest(&m, "", &error));
  EXPECT_EQ(error, "-: site \"www\" has no metadata.namespace: pass -n PROJECT");
  ASSERT_TRUE(check_manifest(&m, "team-b", &error)) << error;
  EXPECT_EQ(m.objects[0]["metadata"]["namespace"], "team-b");
}

TEST(CheckManifest, NamespaceConflictingWithTheFlagIsRefused) {
  std::string error;
  Manifest m = parsed(site_yaml("www", "team-a"));
  EXPECT_FALSE(check_manifest(&m, "team-b", &error));
  EXPECT_NE(error.find("pass -n team-a"), std::string::npos) << error;
  EXPECT_TRUE(check_manifest(&m, "team-a", &error)) << error;
}

TEST(CheckManifest, InvalidObjectsAreRefusedWithTheFieldPath) {
  std::string error;
  Manifest m = parsed(std::string(kProject) + "---\n" + site_yaml("www") + "  colour: blue\n");
  EXPECT_FALSE(check_manifest(&m, "", &error));
  EXPECT_NE(error.find("site \"www\" is invalid: spec.colour"), std::string::npos) << error;
}

}  // namespace
}  // namespace wok::cmd
