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

// Behind a trusted proxy the client is the rightmost X-Forwarded-For hop
// that is not itself a trusted proxy; anyone else's header is ignored.
TEST(AccessRules, ATrustedProxysForwardedAddressIsTheClient) {
  Router router;
  http::Request request;
  request.remote_addr = "127.0.0.1";
  request.headers.push_back({"X-Forwarded-For", "203.0.113.5"});
  EXPECT_EQ(router.client_address(request), "127.0.0.1") << "no proxy trusted: the peer";
  std::string error;
  router.set_trusted_proxies(
      {*base::parse_cidr("127.0.0.0/8", &error), *base::parse_cidr("10.0.0.0/8", &error)});
  EXPECT_EQ(router.client_address(request), "203.0.113.5");
  // A client's own forged hops stay on the left of what the proxies added.
  request.headers = {{"X-Forwarded-For", "198.51.100.1, 203.0.113.5"},
                     {"x-forwarded-for", " 10.1.1.1 "}};
  EXPECT_EQ(router.client_address(request), "203.0.113.5");
  request.headers = {{"X-Forwarded-For", "10.1.1.1, 10.2.2.2"}};
  EXPECT_EQ(router.client_address(request), "10.1.1.1") << "every hop trusted: the leftmost";
  request.headers = {{"X-Forwarded-For", "not-an-ip"}};
  EXPECT_EQ(router.client_address(request), "not-an-ip") << "no address: refused by any list";
  request.headers = {};
  EXPECT_EQ(router.client_address(request), "127.0.0.1") << "no header: the proxy itself";
  request.remote_addr = "192.0.2.9";  // not a trusted proxy: its header is the client's claim
  request.headers = {{"X-Forwarded-For", "10.9.9.9"}};
  EXPECT_EQ(router.client_address(request), "192.0.2.9");
}

}  // namespace
}  // namespace wok::router
