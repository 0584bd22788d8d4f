#include "router/route_table.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace wok::router {
namespace {

std::shared_ptr<const Route> route(std::string site) {
  return std::make_shared<const Route>(Route{"team", std::move(site), "/srv/" + site});
}

std::string site_for(const RouteTable& table, std::string_view host) {
  const Route* r = table.find(host);
  return r ? r->site : "<none>";
}

TEST(RouteTableTest, ExactMatch) {
  RouteTable table;
  table.add("www.a.localhost", route("www"));
  EXPECT_EQ(site_for(table, "www.a.localhost"), "www");
  EXPECT_EQ(site_for(table, "a.localhost"), "<none>");
  EXPECT_EQ(site_for(table, ""), "<none>");
  EXPECT_EQ(table.size(), 1u);
}

TEST(RouteTableTest, HostIsCaseInsensitiveAndPortIsStripped) {
  RouteTable table;
  table.add("www.a.localhost", route("www"));
  EXPECT_EQ(site_for(table, "WWW.A.LocalHost"), "www");
  EXPECT_EQ(site_for(table, "www.a.localhost:8080"), "www");
  EXPECT_EQ(site_for(table, "www.a.localhost."), "www");
  EXPECT_EQ(site_for(table, "www.a.localhost.:80"), "www");
}

TEST(RouteTableTest, WildcardMatchesExactlyOneLabel) {
  RouteTable table;
  table.add("*.a.localhost", route("wild"));
  EXPECT_EQ(site_for(table, "x.a.localhost"), "wild");
  EXPECT_EQ(site_for(table, "X.A.localhost:443"), "wild");
  EXPECT_EQ(site_for(table, "a.localhost"), "<none>");
  EXPECT_EQ(site_for(table, "y.x.a.localhost"), "<none>");
  EXPECT_EQ(site_for(table, ".a.localhost"), "<none>");
}

TEST(RouteTableTest, ExactWinsOverWildcard) {
  RouteTable table;
  table.add("*.a.localhost", route("wild"));
  table.add("www.a.localhost", route("www"));
  EXPECT_EQ(site_for(table, "www.a.localhost"), "www");
  EXPECT_EQ(site_for(table, "docs.a.localhost"), "wild");
}

// A name longer than DNS allows (253) is matched like any other, not
// cut short: the lookup's stack buffer is not a limit.
TEST(RouteTableTest, LongNamesAreMatchedWhole) {
  RouteTable table;
  const std::string long_label(60, 'a');
  const std::string name = long_label + "." + long_label + "." + long_label + "." + long_label +
                           "." + long_label + ".localhost";  // 315 bytes
  table.add(name, route("long"));
  table.add("*." + name, route("wild"));
  std::string upper = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(site_for(table, upper + ":8080"), "long");
  EXPECT_EQ(site_for(table, "X." + upper), "wild");
  EXPECT_EQ(site_for(table, name.substr(0, 256)), "<none>");
  EXPECT_EQ(site_for(table, name + "a"), "<none>");
}

TEST(RouteTableTest, Ipv6LiteralKeepsItsColons) {
  RouteTable table;
  table.add("[::1]", route("v6"));
  EXPECT_EQ(site_for(table, "[::1]:8080"), "v6");
  EXPECT_EQ(site_for(table, "[::1]"), "v6");
}

}  // namespace
}  // namespace wok::router

namespace wok::router {
namespace {

TEST(RouteTableCopyOnWrite, ACopyChangesWithoutTouchingTheOriginal) {
  RouteTable base;
  for (int i = 0; i < 1000; ++i) {
    base.add("s" + std::to_string(i) + ".localhost",
             std::make_shared<Route>(Route{"p", "s" + std::to_string(i), "/r"}));
  }
  base.add("*.wild.localhost", std::make_shared<Route>(Route{"p", "w", "/w"}));
  RouteTable next = base;
  next.remove("s5.localhost", "p", "s5");
  next.remove("s6.localhost", "p", "not-the-owner");  // another site's host stays
  next.remove("*.wild.localhost", "p", "w");
  next.add("new.localhost", std::make_shared<Route>(Route{"p", "new", "/n"}));
  EXPECT_EQ(next.find("s5.localhost"), nullptr);
  ASSERT_NE(next.find("s6.localhost"), nullptr);
  EXPECT_EQ(next.find("x.wild.localhost"), nullptr);
  EXPECT_EQ(next.find("new.localhost")->site, "new");
  EXPECT_EQ(next.size(), 1000u);
  // The original is as it was.
  EXPECT_EQ(base.find("s5.localhost")->site, "s5");
  EXPECT_EQ(base.find("x.wild.localhost")->site, "w");
  EXPECT_EQ(base.find("new.localhost"), nullptr);
  EXPECT_EQ(base.size(), 1001u);
}

}  // namespace
}  // namespace wok::router
