// The registries of a site's docker:// images (issue 12): named as skopeo's
// reference parser reads them, and refused before any pull when they are
// on loopback, link-local or private networks, unless the admin allows it.
#include "controllers/image_registries.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace wok::controllers {
namespace {

using nlohmann::json;

TEST(RegistryOf, FirstComponentNamesARegistryOnlyAsDockerSays) {
  EXPECT_EQ(registry_of("docker://127.0.0.1:5000/x:1"), "127.0.0.1:5000");
  EXPECT_EQ(registry_of("docker://localhost/x"), "localhost");
  EXPECT_EQ(registry_of("docker://registry.example.org/a/b@sha256:00"), "registry.example.org");
  EXPECT_EQ(registry_of("docker://[::1]:5000/x"), "[::1]:5000");
  EXPECT_EQ(registry_of("docker://LocalHost/x"),
            "LocalHost");  // upper case: a host, not a Hub user
  EXPECT_EQ(registry_of("docker://nginx"), "");
  EXPECT_EQ(registry_of("docker://library/nginx:1"), "");
  EXPECT_EQ(registry_of("docker://2130706433/x"), "");  // docker.io/2130706433/x
  EXPECT_EQ(registry_of("oci:/srv/images/a:1"), "");
  EXPECT_EQ(registry_of("dir:/srv/x"), "");
}

TEST(RegistryHost, PortAndBracketsAreDropped) {
  EXPECT_EQ(registry_host("127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(registry_host("localhost"), "localhost");
  EXPECT_EQ(registry_host("[::1]:5000"), "::1");
  EXPECT_EQ(registry_host("[fe80::1]"), "fe80::1");
}

json app_of(const std::vector<std::string>& images) {
  json components = json::array();
  for (size_t i = 0; i < images.size(); ++i)
    components.push_back({{"name", "c" + std::to_string(i)}, {"image", images[i]}, {"port", 8080}});
  return {{"mode", "app"}, {"app", {{"components", components}}}};
}

TEST(ImageRegistryError, PrivateRegistriesAreRefusedNamingFieldImageAndRegistry) {
  git::FetchLimits limits;
  for (const std::string image :
       {"docker://127.0.0.1:5000/x:1", "docker://localhost/x:1", "docker://[::1]:5000/x",
        "docker://10.1.2.3/x", "docker://169.254.169.254/latest/meta-data",
        "docker://192.168.1.1:443/x", "docker://[::ffff:127.0.0.1]/x", "docker://0.0.0.0:80/x",
        "docker://LOCALHOST/x"}) {
    std::string error = image_registry_error(app_of({"oci:/srv/a:1", image}), limits);
    EXPECT_TRUE(error.starts_with("spec.app.components[1].image: " + image + ": registry " +
                                  registry_of(image) + " is refused: "))
        << error;
    EXPECT_NE(error.find("refused unless the platform admin allows them"), std::string::npos)
        << error;
  }
  EXPECT_NE(image_registry_error(app_of({"docker://localhost/x"}), limits).find("resolves to"),
            std::string::npos);
}

TEST(ImageRegistryError, PublicHubAndOtherTransportsAndTheAdminsFlagPass) {
  git::FetchLimits limits;
  EXPECT_EQ(image_registry_error(app_of({"docker://nginx", "docker://library/nginx:1",
                                         "oci:/srv/a:1", "docker://8.8.8.8/x:1"}),
                                 limits),
            "");
  EXPECT_EQ(image_registry_error(json::object(), limits), "");
  EXPECT_EQ(image_registry_error({{"mode", "static"}}, limits), "");
  EXPECT_EQ(image_registry_error({{"app", {{"components", "nope"}}}}, limits), "");
  limits.allow_private_networks = true;
  EXPECT_EQ(
      image_registry_error(app_of({"docker://127.0.0.1:5000/x:1", "docker://localhost/x"}), limits),
      "");
}

TEST(ImageRegistryError, AnUnresolvableRegistryIsRefused) {
  git::FetchLimits limits;
  std::string error = image_registry_error(app_of({"docker://no-such-host.invalid/x:1"}), limits);
  EXPECT_NE(error.find("cannot resolve host no-such-host.invalid"), std::string::npos) << error;
}

}  // namespace
}  // namespace wok::controllers
