// RoutePublisher: what a site's spec becomes in the router's table.
#include <gtest/gtest.h>

#include "controllers/route_publisher.h"
#include "router/router.h"
#include "router/upstream_pool.h"

namespace wok::controllers {
namespace {

TEST(RoutePublisher, SiteBodyLimitReachesTheRouteAndChangesRepublish) {
  router::Router router;
  RoutePublisher routes(router);
  auto pool = std::make_shared<const router::UpstreamPool>(
      std::vector<router::UpstreamAddress>{*router::UpstreamAddress::parse("127.0.0.1:9")});
  routes.set_proxy("p", "api", {"api.p.localhost"}, pool, 1 << 20);
  const router::Route* r = router.table()->find("api.p.localhost");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->max_body_bytes, 1u << 20);
  routes.set_php("p", "api", {"api.p.localhost"}, "/srv", router::FastCgiTarget{"/run/php.sock", "/srv", "index.php", {}});
  r = router.table()->find("api.p.localhost");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->max_body_bytes, 0u) << "a limit the spec no longer sets is gone";
  routes.set("p", "api", {"api.p.localhost"}, "/srv");
  EXPECT_EQ(router.table()->find("api.p.localhost")->max_body_bytes, 0u);
}

}  // namespace
}  // namespace wok::controllers
