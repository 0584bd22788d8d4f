#pragma once
// A network per site, what a Kubernetes namespace with a default-deny
// NetworkPolicy and one Service per component gives a site on a cluster:
//
//   instance netns (eth0 10.89.0.N) ─veth─┐
//   instance netns (eth0 10.89.0.M) ─veth─┤ br0 10.89.0.1 ── nftables ── tap0 ── slirp4netns ──
//   internet build netns    (eth0 10.89.0.K) ─veth─┘      (the site's own netns)          (host
//   process, no root)
//
// - Each site has its own network namespace holding a bridge; each instance
//   (and each build) of the site gets a namespace of its own joined to that
//   bridge by a veth pair. Every site uses the same addresses: two sites'
//   bridges are separate worlds, so no route between projects exists at all.
// - Components reach each other by name: "api" and "SITE-api" (the name the
//   Kubernetes render gives the Service) resolve in /etc/hosts to a virtual
//   address 10.96.0.N whose port (the component's $PORT, and 80 as on the
//   cluster) nftables spreads over the component's Ready instances.
// - Egress, when the project allows it, leaves through slirp4netns: a
//   user-mode TCP/IP stack in a host process, so the host needs no bridge,
//   no forwarding and no firewall change. nftables in the site's namespace
//   lets through only public addresses: never the host's own addresses, its
//   loopback (slirp4netns --disable-host-loopback), private, link-local,
//   shared, multicast or reserved ranges, unless the admin allows a range.
//   Without egress there is no route out at all.
// - Nothing listens in the site's namespace itself and its input is closed:
//   the router reaches instances by creating sockets inside their namespace
//   (netns.h), never through this network.
//
// Namespaces are files under /run/netns (iproute2's), named from a hash of
// the runtime's data directory, so two wok processes never share one.
// State is kept under DATA/networks/NAME.json so that a restarted wok adopts
// its networks with the instances that run in them.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace wok::runtime {

// One component reachable by name from the other instances of its site.
struct ServiceSpec {
  std::vector<std::string> names;  // host names: the component's, "SITE-COMPONENT"
  uint16_t port = 0;               // the component's $PORT; the service answers on it and on 80
};

struct NetworkSpec {
  std::string name;  // unique per runtime: "team-a.blog" ([a-z0-9.-], at most 128)
  bool egress = true;
  std::map<std::string, ServiceSpec> services;  // by component name
};

// What the admin decides for every network: destinations reachable even
// though they are private or the host's (`wok up --egress-allow CIDR`).
struct EgressPolicy {
  std::vector<std::string> allowed;  // IPv4 CIDRs or addresses
};

// Where an instance plugs in.
struct Attachment {
  std::string netns_path;                // the instance's namespace, for runc's config.json
  std::string address;                   // its eth0 address
  std::string hosts;                     // lines for /etc/hosts: every service of the network
  std::vector<std::string> nameservers;  // "" when the network has no egress
};

// The destinations no site reaches (before the admin's exceptions): every
// special-purpose IPv4 range, and the host's own addresses.
std::vector<std::string> blocked_destinations(const std::vector<std::string>& host_addresses);
// The host's IPv4 addresses (every interface), for blocked_destinations.
std::vector<std::string> host_ipv4_addresses();
// "" when `cidr` is an IPv4 address or CIDR nftables accepts, else why not.
std::string check_ipv4_cidr(const std::string& cidr);

// Pure: the nftables ruleset of a site's namespace. `endpoints`: the
// addresses of each service's Ready instances.
struct RulesetInput {
  bool egress = true;
  std::map<std::string, std::string> vips;  // service -> virtual address
  std::map<std::string, uint16_t> ports;    // service -> port
  std::map<std::string, std::vector<std::string>> endpoints;
  std::vector<std::string> blocked, allowed;
};
std::string nft_ruleset(const RulesetInput& in);

class SiteNetworks {
 public:
  // Loads the networks a previous wok process left (their namespaces still
  // there) and restarts their egress; forgets those whose namespace is gone
  // (a reboot).
  SiteNetworks(std::filesystem::path state_dir, EgressPolicy policy);
  ~SiteNetworks();  // stops the egress helpers; namespaces stay for adoption
  SiteNetworks(const SiteNetworks&) = delete;
  SiteNetworks& operator=(const SiteNetworks&) = delete;

  // Creates the network or brings it to `spec`: egress on or off, services
  // added or their port changed (never dropped: the live revision and the
  // next one share the network; a service's address never changes).
  // "" or why not.
  std::string ensure(const NetworkSpec& spec);
  // Plugs instance `id` into `network` (which must have been ensured) as a
  // backend of `service` ("" = none) once it is Ready. Idempotent.
  std::string attach(const std::string& network, const std::string& id, const std::string& service,
                     Attachment* out);
  void detach(const std::string& network, const std::string& id);
  // Level-based, called by the supervisor loop: the Ready instance ids;
  // reloads a network's rules when its services' backends changed, and
  // restarts an egress helper that died.
  void sync(const std::set<std::string>& ready);
  // Deletes a network and what is attached to it.
  void remove(const std::string& network);
  std::vector<std::string> names() const;
  // (network, instance id) of everything attached.
  std::vector<std::pair<std::string, std::string>> attached() const;
  // The admin's policy, for tests and status.
  const EgressPolicy& policy() const { return policy_; }

  struct Net;

 private:
  std::string apply_rules(Net& net);  // mu_ held
  void save(Net& net) const;
  std::filesystem::path state_dir_;
  EgressPolicy policy_;
  std::vector<std::string> blocked_;
  std::string prefix_;  // of namespace names
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Net>> nets_;
};

}  // namespace wok::runtime
