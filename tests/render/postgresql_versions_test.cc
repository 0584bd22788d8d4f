// PostgreSQL's major versions on a cluster: an image per version
// (`wok operator --postgresql-image 13=IMAGE`, `--cnpg-postgresql-image`),
// the versions offered to validation, and the image each object of a site
// runs: its server (a StatefulSet, or CloudNativePG's Cluster, whose new
// imageName is CloudNativePG's own major upgrade) and its backup's dump.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "render/render.h"

namespace {

using nlohmann::json;
using wok::render::PlatformSettings;

json db_site(const std::string& version) {
  json site = json::parse(R"({"apiVersion":"wok.dev/v1alpha1","kind":"Site",
    "metadata":{"name":"shop","namespace":"team-a","uid":"6f1c0de4-0000-4000-8000-000000000001"},
    "spec":{"mode":"app","hosts":["shop.team-a.example.org"],
            "app":{"components":[{"name":"web","image":"x:1","port":80}]},
            "database":{"engine":"postgresql","size":"1Gi"}}})");
  if (!version.empty()) site["spec"]["database"]["version"] = version;
  return site;
}

const json* find(const std::vector<json>& objects, const std::string& kind) {
  for (const json& o : objects)
    if (o["kind"] == kind) return &o;
  return nullptr;
}

// Every image the rendered objects run (containers, init containers, a
// Cluster's imageName), found wherever they are.
void images_of(const json& j, std::vector<std::string>* out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if ((k == "image" || k == "imageName") && v.is_string()) out->push_back(v);
      images_of(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) images_of(v, out);
  }
}

TEST(PostgresqlVersions, AnImagePerVersionFromTheFlags) {
  PlatformSettings s;
  EXPECT_EQ(wok::render::postgresql_versions(s), std::vector<std::string>{"15"});
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "docker.io/library/postgres:13", false), "");
  EXPECT_EQ(s.postgresql_image, "docker.io/library/postgres:13");  // the default version's
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "registry.example.org/postgres:15.6", false), "");
  EXPECT_EQ(s.postgresql_image, "registry.example.org/postgres:15.6");
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "16=docker.io/library/postgres:16", false), "");
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "13=docker.io/library/postgres:13", false), "");
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "15=registry.example.org/pg:15", false), "");
  EXPECT_EQ(s.postgresql_image, "registry.example.org/pg:15");
  EXPECT_EQ(wok::render::postgresql_versions(s), (std::vector<std::string>{"13", "15", "16"}));
  EXPECT_EQ(wok::render::postgresql_image_for(s, "13"), "docker.io/library/postgres:13");
  EXPECT_EQ(wok::render::postgresql_image_for(s, ""), "registry.example.org/pg:15");
  EXPECT_EQ(wok::render::postgresql_image_for(s, "14"), "");
  // CloudNativePG's images are its own: none of the StatefulSet's.
  s.postgresql_operator = "cloudnative-pg";
  EXPECT_EQ(wok::render::postgresql_versions(s), std::vector<std::string>{"15"});
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "16=ghcr.io/cloudnative-pg/postgresql:16", true),
            "");
  EXPECT_EQ(wok::render::postgresql_versions(s), (std::vector<std::string>{"15", "16"}));
  EXPECT_EQ(wok::render::postgresql_image_for(s, "15"), "ghcr.io/cloudnative-pg/postgresql:15");
  EXPECT_EQ(wok::render::postgresql_image_for(s, "13"), "");
}

TEST(PostgresqlVersions, WhatIsNoVersionOrNoImageIsRefused) {
  PlatformSettings s;
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "", false),
            "--postgresql-image \"\": an image is [VERSION=]IMAGE");
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "13=", false),
            "--postgresql-image \"13=\": an image is [VERSION=]IMAGE");
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "=postgres:13", true),
            "--cnpg-postgresql-image \"=postgres:13\": \"\" is not a PostgreSQL major version (13, "
            "15, 16...)");
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "13.4=postgres:13", false),
            "--postgresql-image \"13.4=postgres:13\": \"13.4\" is not a PostgreSQL major version "
            "(13, 15, 16...)");
  EXPECT_EQ(wok::render::set_postgresql_image(&s, "../x=postgres:13", false),
            "--postgresql-image \"../x=postgres:13\": \"../x\" is not a PostgreSQL major version "
            "(13, 15, 16...)");
  EXPECT_TRUE(s.postgresql_images.empty());
}

TEST(PostgresqlVersions, TheSiteRunsItsVersionsImageAndDumpsWithIt) {
  PlatformSettings s;
  ASSERT_EQ(wok::render::set_postgresql_image(&s, "13=docker.io/library/postgres:13", false), "");
  auto objects = wok::render::render_site(db_site("13"), json(), s);
  const json* set = find(objects, "StatefulSet");
  ASSERT_NE(set, nullptr);
  std::vector<std::string> images;
  images_of(*set, &images);
  EXPECT_NE(std::find(images.begin(), images.end(), "docker.io/library/postgres:13"), images.end());
  const json* cron = find(objects, "CronJob");
  ASSERT_NE(cron, nullptr);
  images.clear();
  images_of(*cron, &images);
  EXPECT_NE(std::find(images.begin(), images.end(), "docker.io/library/postgres:13"), images.end());
  EXPECT_EQ(std::find(images.begin(), images.end(), "docker.io/library/postgres:15"), images.end());
  // The default version's site, on the same cluster.
  images.clear();
  const auto default_objects = wok::render::render_site(db_site(""), json(), s);
  images_of(*find(default_objects, "StatefulSet"), &images);
  EXPECT_NE(std::find(images.begin(), images.end(), "docker.io/library/postgres:15"), images.end());
}

TEST(PostgresqlVersions, CloudNativePgRunsTheVersionsImage) {
  PlatformSettings s;
  s.postgresql_operator = "cloudnative-pg";
  ASSERT_EQ(wok::render::set_postgresql_image(&s, "16=ghcr.io/cloudnative-pg/postgresql:16", true),
            "");
  for (const auto& [version, image] : {std::pair{"15", "ghcr.io/cloudnative-pg/postgresql:15"},
                                       std::pair{"16", "ghcr.io/cloudnative-pg/postgresql:16"}}) {
    const auto objects = wok::render::render_site(db_site(version), json(), s);
    const json* cluster = find(objects, "Cluster");
    ASSERT_NE(cluster, nullptr);
    EXPECT_EQ((*cluster)["spec"]["imageName"], image) << version;
  }
}

TEST(PostgresqlVersions, OfferedToValidation) {
  PlatformSettings s;
  ASSERT_EQ(wok::render::set_postgresql_image(&s, "13=docker.io/library/postgres:13", false), "");
  wok::api::offer_database_versions("postgresql", wok::render::postgresql_versions(s));
  EXPECT_TRUE(wok::api::validate_site(db_site("13")).empty());
  auto errors = wok::api::validate_site(db_site("16"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "spec.database.version");
  EXPECT_EQ(errors[0].message, "\"16\" is not a version of postgresql this platform runs (13, 15)");
  wok::api::offer_database_versions("postgresql", {});
}

}  // namespace
