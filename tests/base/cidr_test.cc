#include "base/cidr.h"

#include <gtest/gtest.h>

namespace wok::base {
namespace {

bool in(const char* cidr, const char* address) {
  std::string error;
  auto c = parse_cidr(cidr, &error);
  auto a = parse_ip(address);
  EXPECT_TRUE(c) << cidr << ": " << error;
  EXPECT_TRUE(a) << address;
  return c && a && c->contains(*a);
}

TEST(Cidr, NetworksOfBothFamiliesContainTheirAddresses) {
  EXPECT_TRUE(in("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(in("192.168.1.0/25", "192.168.1.127"));
  EXPECT_FALSE(in("192.168.1.0/25", "192.168.1.128"));
  EXPECT_TRUE(in("0.0.0.0/0", "203.0.113.9"));
  EXPECT_TRUE(in("203.0.113.9", "203.0.113.9"));  // an address alone: /32
  EXPECT_FALSE(in("203.0.113.9", "203.0.113.8"));
  EXPECT_TRUE(in("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_FALSE(in("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(in("::/0", "::1"));
  // A dual-stack socket's IPv4 client is the IPv4 address, never an IPv6 one.
  EXPECT_TRUE(in("127.0.0.0/8", "::ffff:127.0.0.1"));
  EXPECT_FALSE(in("::/0", "::ffff:127.0.0.1"));
  EXPECT_FALSE(in("0.0.0.0/0", "::1"));
}

TEST(Cidr, WhatIsNotANetworkSaysWhy) {
  std::string error;
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0/8",
                          "example.org", "2001:db8::/129", "10.0.0.0/8/8", " 10.0.0.0/8"}) {
    EXPECT_FALSE(parse_cidr(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  EXPECT_FALSE(parse_cidr("10.0.0.1/8", &error));
  EXPECT_NE(error.find("bits set past its prefix"), std::string::npos) << error;
  EXPECT_FALSE(parse_cidr("2001:db8::1/32", &error));
  EXPECT_FALSE(parse_ip("300.1.1.1"));
  EXPECT_FALSE(parse_ip(std::string(100, '1')));
}

}  // namespace
}  // namespace wok::base
