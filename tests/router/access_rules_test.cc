// spec.access on the router: deny first, then an allow list, by the client's
// address; refused clients get 403 before anything of the site runs.
#include "router/access_rules.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "router/route_table.h"
#include "router/router.h"

namespace wok::router {
namespace {

TEST(AccessRules, DenyWinsThenTheAllowListDecides) {
  auto only_office = make_access_rules({"10.0.0.0/8", "2001:db8::/32"}, {"10.6.0.0/16"});
  ASSERT_TRUE(only_office);
  EXPECT_TRUE(only_office->allows("10.1.2.3"));
  EXPECT_TRUE(only_office->allows("2001:db8::7"));
  EXPECT_TRUE(only_office->allows("::ffff:10.1.2.3"));
  EXPECT_FALSE(only_office->allows("10.6.0.1")) << "denied although allowed";
  EXPECT_FALSE(only_office->allows("203.0.113.1"));
  EXPECT_FALSE(only_office->allows("")) << "no address known";
  EXPECT_FALSE(only_office->allows("not an address"));
  auto no_bots = make_access_rules({}, {"198.51.100.0/24"});
  EXPECT_TRUE(no_bots->allows("203.0.113.1"));
  EXPECT_FALSE(no_bots->allows("198.51.100.77"));
  EXPECT_EQ(make_access_rules({}, {}), nullptr);
  // An allow list of which nothing parsed (the validator refuses that) lets no one in.
  auto broken = make_access_rules({"nonsense"}, {});
  EXPECT_FALSE(broken->allows("203.0.113.1"));
  EXPECT_FALSE(broken->allows("2001:db8::1"));
}

TEST(AccessRules, TheRouterAnswers403BeforeTheSiteRuns) {
  auto root = std::filesystem::temp_directory_path() / ("wok-access-" + std::to_string(getpid()));
  std::filesystem::create_directories(root);
  std::ofstream(root / "index.html") << "secret page";
  auto table = std::make_shared<RouteTable>();
  auto route = std::make_shared<Route>();
  route->project = "team-a";
  route->site = "intranet";
  route->root = root.string();
  route->access = make_access_rules({"10.0.0.0/8"}, {});
  table->add("intranet.example", route);
  Router router;
  router.set_table(table);
  http::Request request;
  request.method = "GET";
  request.path = "/index.html";
  request.target = "/index.html";
  request.headers.push_back({"Host", "intranet.example"});
  request.remote_addr = "203.0.113.5";
  http::Response response;
  router.handle(request, response);
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.body.find("secret"), std::string::npos);
  EXPECT_EQ(response.body, "forbidden: this site does not accept requests from your address\n");
  request.remote_addr = "10.9.9.9";
  response = http::Response();
  router.handle(request, response);
  EXPECT_EQ(response.status, 200);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace wok::router
