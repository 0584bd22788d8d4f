// RoutePublisher: what a site's spec becomes in the router's table.
#include "controllers/route_publisher.h"

#include <gtest/gtest.h>

#include "http/message.h"
#include "router/proxy/upstream_pool.h"
#include "router/router.h"

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
  routes.set_php("p", "api", {"api.p.localhost"}, "/srv",
                 router::FastCgiTarget{"/run/php.sock", "/srv", "index.php", {}});
  r = router.table()->find("api.p.localhost");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->max_body_bytes, 0u) << "a limit the spec no longer sets is gone";
  routes.set("p", "api", {"api.p.localhost"}, "/srv");
  EXPECT_EQ(router.table()->find("api.p.localhost")->max_body_bytes, 0u);
}

// Issue 13: while a site's first revision builds, its hosts answered "no site
// is served at this host" (404); they answer 503 with Retry-After now.
TEST(RoutePublisher, ASiteBeingDeployedAnswers503WithRetryAfter) {
  router::Router router;
  RoutePublisher routes(router);
  routes.set_deploying("p", "www", {"www.p.localhost"});
  http::Request request;
  request.method = "GET";
  request.target = "/";
  request.path = "/";
  request.headers.push_back({"Host", "www.p.localhost"});
  http::Response response;
  router.handle(request, response);
  EXPECT_EQ(response.status, 503);
  EXPECT_NE(response.body.find("being deployed"), std::string::npos) << response.body;
  bool retry_after = false;
  for (const auto& h : response.headers) retry_after |= h.name == "Retry-After";
  EXPECT_TRUE(retry_after);
  // Another host is still nobody's.
  http::Request other = request;
  other.headers = {{"Host", "nobody.p.localhost"}};
  http::Response none;
  router.handle(other, none);
  EXPECT_EQ(none.status, 404);
  // Once removed (the build failed and nothing is live), 404 again.
  routes.remove("p", "www");
  http::Response after;
  router.handle(request, after);
  EXPECT_EQ(after.status, 404);
}

}  // namespace
}  // namespace wok::controllers
