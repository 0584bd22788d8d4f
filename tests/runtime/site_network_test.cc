// Site networks (runtime/site_network.h): the ruleset, and real sandboxes
// that reach their site's services by name and nothing of the host.
#include "runtime/site_network.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "sandbox_fixture.h"

namespace wok::runtime {
namespace {

using testing::read_file;
using testing::SandboxTest;

RulesetInput sample(bool egress) {
  RulesetInput in;
  in.egress = egress;
  in.vips = {{"api", "10.96.0.10"}, {"web", "10.96.0.11"}};
  in.ports = {{"api", 8080}, {"web", 80}};
  in.endpoints = {{"api", {"10.89.0.2", "10.89.0.3"}}};
  in.blocked = blocked_destinations({"192.0.2.2", "203.0.113.9"});
  in.allowed = {"198.51.100.7/32"};
  return in;
}

TEST(SiteNetworkRules, ServicesSpreadOverReadyInstancesOnTheirPortAnd80) {
  std::string r = nft_ruleset(sample(true));
  EXPECT_NE(r.find("ip daddr 10.96.0.10 tcp dport { 80, 8080 } dnat ip to numgen inc mod 2 map { 0 "
                   ": 10.89.0.2, "
                   "1 : 10.89.0.3 } : 8080"),
            std::string::npos)
      << r;
  // No Ready instance: no translation; the service range is refused.
  EXPECT_EQ(r.find("10.96.0.11 tcp"), std::string::npos) << r;
  EXPECT_NE(r.find("ip daddr 10.96.0.0/16 meta l4proto tcp reject with tcp reset"),
            std::string::npos)
      << r;
}

TEST(SiteNetworkRules, EgressLetsOnlyPublicAddressesOutAndTheAdminsExceptions) {
  std::string r = nft_ruleset(sample(true));
  for (const char* range : {"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                            "192.168.0.0/16", "100.64.0.0/10", "192.0.2.2", "203.0.113.9"})
    EXPECT_NE(r.find(range), std::string::npos) << range;
  auto pos = [&](const std::string& s) {
    auto p = r.find(s);
    EXPECT_NE(p, std::string::npos) << s << " in " << r;
    return p;
  };
  // DNS to slirp4netns's resolver and the admin's ranges come before the block.
  EXPECT_LT(pos("ip daddr 10.0.2.3 meta l4proto { tcp, udp } th dport 53 accept"),
            pos("@blocked reject"));
  EXPECT_LT(pos("ip daddr @allowed accept"), pos("@blocked reject"));
  EXPECT_LT(pos("@blocked reject"), pos("oifname \"tap0\" meta nfproto ipv4 accept"));
  pos("policy drop");
}

TEST(SiteNetworkRules, WithoutEgressNothingLeaves) {
  std::string r = nft_ruleset(sample(false));
  EXPECT_EQ(r.find("tap0"), std::string::npos) << r;
  EXPECT_EQ(r.find("10.0.2.3"), std::string::npos) << r;
}

TEST(SiteNetworkRules, AdminRangesAreChecked) {
  EXPECT_EQ(check_ipv4_cidr("10.1.2.0/24"), "");
  EXPECT_EQ(check_ipv4_cidr("192.0.2.2"), "");
  EXPECT_NE(check_ipv4_cidr("10.1.2.3/24"), "");  // host bits
  EXPECT_NE(check_ipv4_cidr("10.1.2.0/33"), "");
  EXPECT_NE(check_ipv4_cidr("10.1.2.0/24; flush ruleset"), "");
  EXPECT_NE(check_ipv4_cidr("example.org"), "");
  EXPECT_NE(check_ipv4_cidr("2001:db8::/32"), "");    // nftables' ipv4_addr sets only
  EXPECT_NE(check_ipv4_cidr("::ffff:10.1.2.3"), "");  // not even IPv4-mapped
  EXPECT_NE(check_ipv4_cidr("10.1.2.0/"), "");
}

// The kernel takes the ruleset as written (in a scratch network namespace).
TEST(SiteNetworkRules, LoadsIntoTheKernel) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  char tmpl[] = "/tmp/wok-nft-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  for (bool egress : {true, false}) {
    std::ofstream(tmpl) << nft_ruleset(sample(egress));
    auto r = run_command({"unshare", "--net", "nft", "-c", "-f", tmpl});
    EXPECT_TRUE(r.ok()) << r.describe("nft -c") << "\n" << r.err;
  }
  ::unlink(tmpl);
}

// A TCP listener on every host address, counting connections.
class HostListener {
 public:
  HostListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        if (stop_) {
          ::close(c);
          return;
        }
        ++accepted_;
        const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhost!";
        char buf[1024];
        (void)!::read(c, buf, sizeof buf);
        (void)!::write(c, reply, sizeof reply - 1);
        ::close(c);
      }
    });
  }
  ~HostListener() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A global address of this host (not loopback), where wok's API would listen.
std::string host_address() {
  for (const auto& a : host_ipv4_addresses())
    if (a.rfind("127.", 0) != 0) return a;
  return "";
}

class SiteNetworkTest : public SandboxTest {
 protected:
  // A busybox httpd answering `body` on port 8080, a backend of `service`.
  InstanceSpec server(const std::string& id, const std::string& network, const std::string& body) {
    InstanceSpec s = shell(id, "team-a",
                           "mkdir -p /tmp/www && echo " + body +
                               " > /tmp/www/index.html && "
                               "exec busybox httpd -f -p 8080 -h /tmp/www");
    s.network = network;
    s.service = "api";
    s.port = 8080;
    return s;
  }
  // Runs `script` in the network and returns what it printed once it
  // printed "done".
  std::string probe(const std::string& id, const std::string& network, const std::string& script) {
    InstanceSpec s = shell(id, "team-a", script + "; echo done; sleep 600");
    s.network = network;
    start(s);
    std::string out = wait_output(id, "done");
    runtime_->stop(id);
    runtime_->forget(id);
    return out;
  }
};

TEST_F(SiteNetworkTest, ComponentsReachEachOtherByNameAndNothingElse) {
  NetworkSpec net{"team-a.shop", false, {{"api", {{"api", "shop-api"}, 8080}}}};
  ASSERT_EQ(runtime_->ensure_network(net), "");
  start(server("team-a.shop.api.r1.0", net.name, "one"));
  start(server("team-a.shop.api.r1.1", net.name, "two"));
  ASSERT_TRUE(wait_phase("team-a.shop.api.r1.0", Phase::Ready));
  ASSERT_TRUE(wait_phase("team-a.shop.api.r1.1", Phase::Ready));
  HostListener host;
  std::string addr = host_address();
  ASSERT_NE(addr, "") << "this host has no non-loopback IPv4 address";
  std::string out = probe("team-a.shop.client.r1.0", net.name,
                          "for i in 1 2 3 4; do wget -q -T 5 -O- http://api:8080/; done; "
                          "wget -q -T 5 -O- http://shop-api/ && echo by-alias; "
                          "wget -q -T 3 -O- http://" +
                              addr + ":" + std::to_string(host.port()) +
                              "/ || echo host-unreachable; "
                              "cat /etc/resolv.conf | grep -c nameserver");
  // Both replicas answered, through one name, on the port and on 80.
  EXPECT_NE(out.find("one"), std::string::npos) << out;
  EXPECT_NE(out.find("two"), std::string::npos) << out;
  EXPECT_NE(out.find("by-alias"), std::string::npos) << out;
  EXPECT_NE(out.find("host-unreachable"), std::string::npos) << out;
  EXPECT_EQ(host.accepted(), 0);
  // A replica that stops is no longer a backend.
  runtime_->stop("team-a.shop.api.r1.1");
  ASSERT_TRUE(runtime_->forget("team-a.shop.api.r1.1"));
  // stop() returns once it is Stopped, and its place left the network (and
  // the rules) before that.
  out = probe("team-a.shop.client.r1.1", net.name,
              "for i in 1 2 3 4; do wget -q -T 5 -O- http://api:8080/ || echo failed; done");
  EXPECT_EQ(out.find("two"), std::string::npos) << out;
  EXPECT_EQ(out.find("failed"), std::string::npos) << out;
  runtime_->stop("team-a.shop.api.r1.0");
}

// A server restarted with a new spec (a database upgraded) is attached
// anew, at the address it had: with the MAC it had too, so its clients'
// ARP caches do not send to a MAC gone for seconds.
TEST_F(SiteNetworkTest, AnInstanceAttachedAgainKeepsItsMacWithItsAddress) {
  NetworkSpec net{"team-a.blog", false, {{"db", {{"db", "blog-db"}, 8080}}}};
  ASSERT_EQ(runtime_->ensure_network(net), "");
  auto run_once = [&] {
    InstanceSpec s = shell("team-a.blog.db.r0.0", "team-a",
                           "cat /sys/class/net/eth0/address; echo done; sleep 600");
    s.network = net.name;
    s.service = "db";
    start(s);
    std::string out = wait_output(s.id, "done");
    runtime_->stop(s.id);
    runtime_->forget(s.id);
    return out;
  };
  const std::string first = run_once(), second = run_once();
  EXPECT_EQ(first.rfind("02:42:0a:59:00:02", 0), 0u) << first;  // 10.89.0.2
  EXPECT_EQ(first, second);
}

TEST_F(SiteNetworkTest, EgressReachesPublicAddressesOnlyUnlessTheAdminAllowsARange) {
  HostListener host;
  std::string addr = host_address();
  ASSERT_NE(addr, "") << "this host has no non-loopback IPv4 address";
  std::string url = "http://" + addr + ":" + std::to_string(host.port()) + "/";
  NetworkSpec net{"team-a.blog", true, {}};
  ASSERT_EQ(runtime_->ensure_network(net), "");
  // The host's own address, its loopback through slirp's gateway, the
  // cloud metadata address: refused.
  std::string out = probe("team-a.blog.try.r1.0", net.name,
                          "wget -q -T 3 -O- " + url +
                              " || echo host-refused; "
                              "wget -q -T 3 -O- http://10.0.2.2:" +
                              std::to_string(host.port()) +
                              "/ || echo gateway-refused; "
                              "wget -q -T 3 -O- http://169.254.169.254/ || echo metadata-refused; "
                              "grep -c 'nameserver 10.0.2.3' /etc/resolv.conf");
  EXPECT_NE(out.find("host-refused"), std::string::npos) << out;
  EXPECT_NE(out.find("gateway-refused"), std::string::npos) << out;
  EXPECT_NE(out.find("metadata-refused"), std::string::npos) << out;
  EXPECT_EQ(host.accepted(), 0);

  // The admin allows the host's address (say, an internal package mirror).
  for (const auto& n : runtime_->networks()) runtime_->remove_network(n);
  runtime_->shutdown();
  RuntimeOptions options;
  options.egress.allowed = {addr + "/32"};
  make_runtime(options);
  ASSERT_EQ(runtime_->ensure_network(net), "");
  out = probe("team-a.blog.try.r1.1", net.name, "wget -q -T 5 -O- " + url + " || echo refused");
  EXPECT_NE(out.find("host!"), std::string::npos) << out;
  EXPECT_EQ(host.accepted(), 1);

  // Egress turned off: no way out at all, not even the allowed range.
  net.egress = false;
  ASSERT_EQ(runtime_->ensure_network(net), "");
  out = probe("team-a.blog.try.r1.2", net.name, "wget -q -T 3 -O- " + url + " || echo refused");
  EXPECT_NE(out.find("refused"), std::string::npos) << out;
  EXPECT_EQ(host.accepted(), 1);
}

TEST_F(SiteNetworkTest, AdoptedByTheNextProcessAndGoneAfterACleanStop) {
  auto dir = dir_ / "networks";
  NetworkSpec net{"team-a.docs", true, {{"api", {{"api"}, 8080}}}};
  Attachment first;
  {
    // A wok killed with its instances running: the namespaces stay.
    SiteNetworks before(dir, {});
    ASSERT_EQ(before.ensure(net), "");
    ASSERT_EQ(before.attach(net.name, "team-a.docs.api.r1.0", "api", &first), "");
  }
  ASSERT_TRUE(std::filesystem::exists(first.netns_path));
  SiteNetworks after(dir, {});
  EXPECT_EQ(after.names(), std::vector<std::string>{"team-a.docs"});
  Attachment again;
  ASSERT_EQ(after.attach(net.name, "team-a.docs.api.r1.0", "api", &again), "");
  EXPECT_EQ(again.address, first.address);  // the same place, not a new one
  EXPECT_EQ(again.netns_path, first.netns_path);
  EXPECT_NE(again.hosts.find("\tapi\n"), std::string::npos) << again.hosts;
  EXPECT_EQ(again.nameservers, std::vector<std::string>{"10.0.2.3"});
  after.remove(net.name);
  EXPECT_FALSE(std::filesystem::exists(first.netns_path));
  EXPECT_TRUE(after.names().empty());

  // A runtime that stops cleanly removes its networks.
  ASSERT_EQ(runtime_->ensure_network(net), "");
  runtime_->shutdown();
  EXPECT_TRUE(runtime_->networks().empty());
}

}  // namespace
}  // namespace wok::runtime
