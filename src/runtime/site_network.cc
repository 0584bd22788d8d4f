#include "runtime/site_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/assert.h"
#include "base/cidr.h"
#include "runtime/subprocess.h"

extern char** environ;

namespace wok::runtime {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Every site uses the same plan: its bridge is a world of its own.
constexpr const char* kGateway = "10.89.0.1";
constexpr const char* kInstancePrefix = "10.89.";  // 10.89.0.2 ... 10.89.255.254, /16
constexpr const char* kServiceRange = "10.96.0.0/16";
constexpr const char* kServicePrefix = "10.96.0.";  // 10.96.0.10 ... 10.96.0.250
constexpr const char* kSlirpDns = "10.0.2.3";  // slirp4netns's resolver (forwards to the host's)
constexpr int kMaxAttachments = 65000;

std::string address_of(int index) {  // index >= 2
  // Not the gateway, nor a .0 or .255 of the /16, nor past it.
  WOK_ASSERT(index >= 2 && index <= kMaxAttachments && index % 256 != 0 && index % 256 != 255,
             "an instance address outside the site network's free range");
  return kInstancePrefix + std::to_string(index / 256) + "." + std::to_string(index % 256);
}

// The instance's MAC address, from its IP address (02:42 and the four
// bytes, Docker's way): an address given again (a server restarted with a
// new spec is attached anew) keeps its MAC, so the other instances' ARP
// caches stay right instead of sending to a MAC gone for seconds.
std::string mac_of(int index) {
  char mac[18];
  std::snprintf(mac, sizeof mac, "02:42:0a:59:%02x:%02x", (index / 256) & 0xff, index % 256);
  return mac;
}

std::string run(const std::vector<std::string>& argv, const std::string& what) {
  CommandResult r = run_command(argv, std::chrono::seconds(20));
  return r.ok() ? "" : r.describe(what);
}

fs::path netns_file(const std::string& name) { return fs::path("/run/netns") / name; }

// A namespace file that still holds a namespace (after a reboot the file of
// a persistent /run may be left with nothing mounted on it).
bool netns_alive(const std::string& name) {
  struct statfs st {};
  return ::statfs(netns_file(name).c_str(), &st) == 0 && st.f_type == NSFS_MAGIC;
}

std::string add_netns(const std::string& name) {
  if (netns_alive(name)) return "";
  run({"ip", "netns", "delete", name}, "ip netns delete");  // a dead file, if any
  return run({"ip", "netns", "add", name}, "ip netns add " + name);
}

void delete_netns(const std::string& name) {
  if (!fs::exists(netns_file(name))) return;
  if (std::string err = run({"ip", "netns", "delete", name}, "ip netns delete"); !err.empty())
    spdlog::warn("network: {}", err);
}

// `ip -n NS -batch FILE`: several changes in one process.
std::string ip_batch(const std::string& ns, const fs::path& file,
                     const std::vector<std::string>& lines) {
  {
    std::ofstream out(file, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
    if (!out) return "cannot write " + file.string();
  }
  std::string err = run({"ip", "-n", ns, "-batch", file.string()}, "ip -batch in " + ns);
  std::error_code ec;
  fs::remove(file, ec);
  return err;
}

std::string joined(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

struct SiteNetworks::Net {
  struct Link {
    int index = 0;  // address 10.89.x.y and veth "v<index>" in the site's namespace
    std::string service;
  };
  std::string name, ns, prefix;
  bool egress = false;
  std::map<std::string, ServiceSpec> services;
  std::map<std::string, std::string> vips;  // service -> 10.96.0.N
  std::map<std::string, Link> links;        // instance id -> link
  std::set<std::string> ready;              // attached ids that are Ready (service backends)
  std::string rules;                        // last applied
  std::string saved;                        // last written state
  pid_t slirp = 0;
  int slirp_exit = -1;  // closing it ends slirp4netns (--exit-fd)
  Clock::time_point next_slirp{};

  // Instance ids are unique per runtime: the network's name is not needed
  // (and would make the name too long for a file).
  std::string instance_ns(const std::string& id) const { return prefix + "-i-" + id; }
};

std::vector<std::string> blocked_destinations(const std::vector<std::string>& host_addresses) {
  // RFC 6890 special-purpose ranges: this network, private, shared (CGNAT),
  // loopback, link-local (cloud metadata at 169.254.169.254), IETF, the
  // documentation nets, 6to4 relay, benchmarking, multicast, reserved.
  std::vector<std::string> out = {
      "0.0.0.0/8",     "10.0.0.0/8",      "100.64.0.0/10",  "127.0.0.0/8",    "169.254.0.0/16",
      "172.16.0.0/12", "192.0.0.0/24",    "192.0.2.0/24",   "192.88.99.0/24", "192.168.0.0/16",
      "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",    "240.0.0.0/4"};
  for (const auto& a : host_addresses) out.push_back(a);
  return out;
}

std::vector<std::string> host_ipv4_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) out.push_back(buf);
  }
  ::freeifaddrs(list);
  return out;
}

std::string check_ipv4_cidr(const std::string& cidr) {
  // The one CIDR parser (base/cidr.h), IPv4 only: nftables' ipv4_addr sets
  // take no IPv6 (nor an IPv4-mapped one) and no host bits past the prefix.
  std::string error;
  auto parsed = base::parse_cidr(cidr, &error);
  if (!parsed || parsed->network.v6 || cidr.find(':') != std::string::npos)
    return "\"" + cidr + "\" is not an IPv4 address or CIDR with no host bits set (10.1.2.0/24)";
  return "";
}

std::string nft_ruleset(const RulesetInput& in) {
  std::string r = "flush ruleset\ntable inet wok {\n";
  if (!in.blocked.empty())
    r += "  set blocked {\n    type ipv4_addr; flags interval; auto-merge;\n    elements = { " +
         joined(in.blocked, ", ") + " }\n  }\n";
  if (!in.allowed.empty())
    r += "  set allowed {\n    type ipv4_addr; flags interval; auto-merge;\n    elements = { " +
         joined(in.allowed, ", ") + " }\n  }\n";
  // Services: the virtual address, on the component's port and on 80,
  // spread round robin over the Ready instances (the port is kept).
  r += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n";
  for (const auto& [service, vip] : in.vips) {
    auto port = in.ports.find(service);
    auto eps = in.endpoints.find(service);
    if (port == in.ports.end() || port->second == 0 || eps == in.endpoints.end() ||
        eps->second.empty())
      continue;
    std::string p = std::to_string(port->second);
    std::string ports = port->second == 80 ? "80" : "{ 80, " + p + " }";
    std::string map;
    for (size_t i = 0; i < eps->second.size(); ++i)
      map += (i ? ", " : "") + std::to_string(i) + " : " + eps->second[i];
    r += "    ip daddr " + vip + " tcp dport " + ports + " dnat ip to numgen inc mod " +
         std::to_string(eps->second.size()) + " map { " + map + " } : " + p + "\n";
  }
  r += "  }\n";
  r += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  if (in.egress) r += "    oifname \"tap0\" masquerade\n";
  // A service's reply must come back through here to be un-NATed, even when
  // the caller and the backend share the bridge (or are the same instance).
  r += "    oifname \"br0\" ct status dnat masquerade\n  }\n";
  r += "  chain forward {\n    type filter hook forward priority filter; policy drop;\n"
       "    ct state established,related accept\n"
       "    iifname \"br0\" oifname \"br0\" ct status dnat accept\n";
  // A service with no Ready instance: refused at once, as on a cluster.
  r += std::string("    ip daddr ") + kServiceRange + " meta l4proto tcp reject with tcp reset\n" +
       "    ip daddr " + kServiceRange + " reject\n";
  if (in.egress) {
    r += std::string("    iifname \"br0\" oifname \"tap0\" ip daddr ") + kSlirpDns +
         " meta l4proto { tcp, udp } th dport 53 accept\n";
    if (!in.allowed.empty()) r += "    iifname \"br0\" oifname \"tap0\" ip daddr @allowed accept\n";
    if (!in.blocked.empty())
      r += "    iifname \"br0\" oifname \"tap0\" ip daddr @blocked reject with icmpx type "
           "admin-prohibited\n";
    r += "    iifname \"br0\" oifname \"tap0\" meta nfproto ipv4 accept\n";
  }
  r += "    reject with icmpx type admin-prohibited\n  }\n";
  // Nothing of the site's own namespace answers its instances.
  r += "  chain input {\n    type filter hook input priority filter; policy drop;\n"
       "    ct state established,related accept\n    iifname \"lo\" accept\n"
       "    reject with icmpx type admin-prohibited\n  }\n}\n";
  return r;
}

namespace {

// slirp4netns in the site's namespace, its stdout/stderr to `log`. Its
// sandbox (--enable-sandbox) pivots into an empty root in a new mount
// namespace; started from a private one (unshare), or the unmounts reach
// the host's /run/netns through shared propagation.
pid_t start_slirp(const std::string& ns, const fs::path& log, int* exit_fd, std::string* error) {
  int exit_pipe[2], ready_pipe[2];
  if (::pipe2(exit_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return 0;
  }
  if (::pipe2(ready_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    ::close(exit_pipe[0]);
    ::close(exit_pipe[1]);
    return 0;
  }
  std::vector<std::string> args = {"unshare",
                                   "--mount",
                                   "--propagation",
                                   "private",
                                   "slirp4netns",
                                   "--configure",
                                   "--mtu=65520",
                                   "--disable-host-loopback",
                                   "--enable-sandbox",
                                   "--enable-seccomp",
                                   "--exit-fd=3",
                                   "--ready-fd=4",
                                   "--netns-type=path",
                                   netns_file(ns).string(),
                                   "tap0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_adddup2(&fa, exit_pipe[0], 3);
  posix_spawn_file_actions_adddup2(&fa, ready_pipe[1], 4);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "unshare", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(exit_pipe[0]);
  ::close(ready_pipe[1]);
  if (rc != 0) {
    *error = std::string("cannot start slirp4netns: ") + std::strerror(rc);
    ::close(exit_pipe[1]);
    ::close(ready_pipe[0]);
    return 0;
  }
  // It writes "1" once tap0 is configured.
  pollfd p{ready_pipe[0], POLLIN, 0};
  char c = 0;
  bool ready = ::poll(&p, 1, 10000) == 1 && ::read(ready_pipe[0], &c, 1) == 1 && c == '1';
  ::close(ready_pipe[0]);
  if (!ready) {
    *error = "slirp4netns did not come up (see " + log.string() + ")";
    ::close(exit_pipe[1]);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return 0;
  }
  *exit_fd = exit_pipe[1];
  return pid;
}

void stop_slirp(pid_t* pid, int* exit_fd) {
  if (*exit_fd >= 0) ::close(*exit_fd);
  *exit_fd = -1;
  if (*pid <= 0) return;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(*pid, nullptr, WNOHANG) != 0) {
      *pid = 0;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(*pid, SIGKILL);
  ::waitpid(*pid, nullptr, 0);
  *pid = 0;
}

std::string hash_hex(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: a stable name, not a secret
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 8);
}

}  // namespace

SiteNetworks::SiteNetworks(fs::path state_dir, EgressPolicy policy)
    : state_dir_(std::move(state_dir)), policy_(std::move(policy)) {
  blocked_ = blocked_destinations(host_ipv4_addresses());
  std::error_code ec;
  fs::create_directories(state_dir_, ec);
  prefix_ = "wok" + hash_hex(fs::absolute(state_dir_).lexically_normal().string());
  std::lock_guard lock(mu_);
  for (const auto& entry : fs::directory_iterator(state_dir_, ec)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("name")) continue;
    auto net = std::make_unique<Net>();
    net->name = j["name"];
    net->ns = prefix_ + "-" + net->name;
    net->prefix = prefix_;
    json links = j.contains("links") && j["links"].is_object() ? j["links"] : json::object();
    json services =
        j.contains("services") && j["services"].is_object() ? j["services"] : json::object();
    if (!netns_alive(net->ns)) {  // rebooted: its instances are gone too
      for (auto it = links.begin(); it != links.end(); ++it)
        delete_netns(net->instance_ns(it.key()));
      delete_netns(net->ns);
      fs::remove(entry.path(), ec);
      continue;
    }
    for (auto it = services.begin(); it != services.end(); ++it)
      net->services[it.key()] = {it->value("names", std::vector<std::string>{}),
                                 it->value("port", uint16_t{0})};
    net->vips = j.value("vips", std::map<std::string, std::string>{});
    for (auto it = links.begin(); it != links.end(); ++it) {
      if (netns_alive(net->instance_ns(it.key())))
        net->links[it.key()] = {it->value("index", 0), it->value("service", "")};
    }
    net->egress = false;
    bool egress = j.value("egress", false);
    std::string name = net->name;
    nets_[name] = std::move(net);
    Net& n = *nets_[name];
    if (egress) {
      std::string err;
      n.slirp = start_slirp(n.ns, state_dir_ / (name + ".slirp.log"), &n.slirp_exit, &err);
      if (n.slirp)
        n.egress = true;
      else
        spdlog::warn("network {}: {}", name, err);
    }
    if (std::string err = apply_rules(n); !err.empty()) spdlog::warn("network {}: {}", name, err);
    spdlog::info("network: adopted {} ({} attached)", name, n.links.size());
  }
}

SiteNetworks::~SiteNetworks() {
  std::lock_guard lock(mu_);
  for (auto& [_, net] : nets_) stop_slirp(&net->slirp, &net->slirp_exit);
}

void SiteNetworks::save(Net& net) const {
  json services = json::object(), links = json::object();
  for (const auto& [k, s] : net.services) services[k] = {{"names", s.names}, {"port", s.port}};
  for (const auto& [id, l] : net.links) links[id] = {{"index", l.index}, {"service", l.service}};
  json j = {{"name", net.name},
            {"egress", net.egress},
            {"services", services},
            {"vips", net.vips},
            {"links", links}};
  std::string text = j.dump(2);
  if (text == net.saved) return;  // ensure() runs at every resync of a site
  fs::path file = state_dir_ / (net.name + ".json"), tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (!ec) net.saved = text;
}

std::string SiteNetworks::apply_rules(Net& net) {
  RulesetInput in;
  in.egress = net.egress;
  in.vips = net.vips;
  for (const auto& [k, s] : net.services) in.ports[k] = s.port;
  for (const auto& [id, l] : net.links)
    if (!l.service.empty() && net.ready.count(id))
      in.endpoints[l.service].push_back(address_of(l.index));
  in.blocked = blocked_;
  in.allowed = policy_.allowed;
  std::string rules = nft_ruleset(in);
  if (rules == net.rules) return "";
  fs::path file = state_dir_ / (net.name + ".nft");
  {
    std::ofstream out(file, std::ios::trunc);
    out << rules;
  }
  std::string err =
      run({"ip", "netns", "exec", net.ns, "nft", "-f", file.string()}, "nft -f " + file.string());
  if (err.empty()) net.rules = rules;
  return err;
}

std::string SiteNetworks::ensure(const NetworkSpec& spec) {
  if (spec.name.empty() || spec.name.size() > 128 ||
      spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos)
    return "network name \"" + spec.name + "\" must be [a-z0-9.-], at most 128 characters";
  std::lock_guard lock(mu_);
  auto& slot = nets_[spec.name];
  bool fresh = !slot;
  if (fresh) {
    slot = std::make_unique<Net>();
    slot->name = spec.name;
    slot->ns = prefix_ + "-" + spec.name;
    slot->prefix = prefix_;
  }
  Net& net = *slot;
  if (fresh || !netns_alive(net.ns)) {
    auto fail = [&](const std::string& err) {
      delete_netns(net.ns);
      nets_.erase(spec.name);
      return "network " + spec.name + ": " + err;
    };
    if (std::string err = add_netns(net.ns); !err.empty()) return fail(err);
    std::string err =
        ip_batch(net.ns, state_dir_ / (spec.name + ".ip"),
                 {"link set lo up", "link add br0 type bridge",
                  "addr add " + std::string(kGateway) + "/16 dev br0", "link set br0 up",
                  "route add " + std::string(kServiceRange) + " dev br0"});
    if (err.empty())
      err = run({"ip", "netns", "exec", net.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
                "sysctl ip_forward");
    if (!err.empty()) return fail(err);
  }
  // Services are added or updated, never dropped: a revision being built or
  // rolled out and the live one share the network, and the live one's
  // instances keep the names they were given.
  for (const auto& [name, service] : spec.services) net.services[name] = service;
  for (const auto& [name, _] : spec.services) {
    if (net.vips.count(name)) continue;
    std::set<std::string> used;
    for (const auto& [k, v] : net.vips) used.insert(v);
    for (int i = 10; i < 250; ++i) {
      std::string vip = kServicePrefix + std::to_string(i);
      if (!used.count(vip)) {
        net.vips[name] = vip;
        break;
      }
    }
    if (!net.vips.count(name)) return "network " + spec.name + ": more than 240 services";
  }
  if (spec.egress && net.slirp == 0) {
    std::string err;
    net.slirp = start_slirp(net.ns, state_dir_ / (spec.name + ".slirp.log"), &net.slirp_exit, &err);
    if (!net.slirp) return "network " + spec.name + ": " + err;
  } else if (!spec.egress && net.slirp) {
    stop_slirp(&net.slirp, &net.slirp_exit);
  }
  net.egress = spec.egress;
  save(net);
  if (std::string err = apply_rules(net); !err.empty()) return "network " + spec.name + ": " + err;
  return "";
}

std::string SiteNetworks::attach(const std::string& network, const std::string& id,
                                 const std::string& service, Attachment* out) {
  std::lock_guard lock(mu_);
  auto it = nets_.find(network);
  if (it == nets_.end()) return "network " + network + " is not set up";
  Net& net = *it->second;
  std::string ins = net.instance_ns(id);
  auto link = net.links.find(id);
  if (link == net.links.end() || !netns_alive(ins)) {
    std::set<int> used;
    for (const auto& [_, l] : net.links) used.insert(l.index);
    int index = 2;
    while (used.count(index) || index % 256 == 0 || index % 256 == 255) ++index;
    if (index > kMaxAttachments) return "network " + network + ": no address left";
    std::string veth = "v" + std::to_string(index);
    delete_netns(ins);
    ip_batch(net.ns, state_dir_ / (network + ".ip"),
             {"link delete " + veth});  // a leftover, if any
    auto fail = [&](const std::string& err) {
      delete_netns(ins);
      return "network " + network + ": cannot attach " + id + ": " + err;
    };
    if (std::string err = add_netns(ins); !err.empty()) return fail(err);
    std::string err = ip_batch(
        net.ns, state_dir_ / (network + ".ip"),
        {"link add " + veth + " type veth peer name eth0 netns " + ins,
         "link set " + veth + " master br0", "link set " + veth + " type bridge_slave hairpin on",
         "link set " + veth + " up"});
    if (err.empty())
      err = ip_batch(ins, state_dir_ / (network + ".ip"),
                     {"link set lo up", "link set eth0 address " + mac_of(index),
                      "addr add " + address_of(index) + "/16 dev eth0", "link set eth0 up",
                      "route add default via " + std::string(kGateway)});
    if (!err.empty()) return fail(err);
    net.links[id] = {index, service};
    link = net.links.find(id);
    save(net);
  }
  out->netns_path = netns_file(ins).string();
  out->address = address_of(link->second.index);
  out->hosts.clear();
  for (const auto& [name, s] : net.services) {
    auto vip = net.vips.find(name);
    if (vip == net.vips.end()) continue;
    out->hosts += vip->second + "\t" + joined(s.names, " ") + "\n";
  }
  out->nameservers.clear();
  if (net.egress) out->nameservers.push_back(kSlirpDns);
  return "";
}

void SiteNetworks::detach(const std::string& network, const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = nets_.find(network);
  if (it == nets_.end()) return;
  Net& net = *it->second;
  auto link = net.links.find(id);
  if (link == net.links.end()) return;
  // The veth pair goes with the namespace.
  delete_netns(net.instance_ns(id));
  net.links.erase(link);
  net.ready.erase(id);
  save(net);
  if (std::string err = apply_rules(net); !err.empty())
    spdlog::warn("network {}: {}", network, err);
}

void SiteNetworks::sync(const std::set<std::string>& ready) {
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  for (auto& [name, net] : nets_) {
    std::set<std::string> mine;
    for (const auto& [id, l] : net->links)
      if (!l.service.empty() && ready.count(id)) mine.insert(id);
    if (mine != net->ready) {
      net->ready = mine;
      if (std::string err = apply_rules(*net); !err.empty())
        spdlog::warn("network {}: {}", name, err);
    }
    if (net->egress && net->slirp > 0 && ::waitpid(net->slirp, nullptr, WNOHANG) == net->slirp) {
      spdlog::warn("network {}: slirp4netns exited; restarting it", name);
      ::close(net->slirp_exit);
      net->slirp = 0;
      net->slirp_exit = -1;
    }
    if (net->egress && net->slirp == 0 && now >= net->next_slirp) {
      std::string err;
      net->slirp = start_slirp(net->ns, state_dir_ / (name + ".slirp.log"), &net->slirp_exit, &err);
      if (!net->slirp) {
        spdlog::warn("network {}: {}", name, err);
        net->next_slirp = now + std::chrono::seconds(5);
      }
    }
  }
}

void SiteNetworks::remove(const std::string& network) {
  std::lock_guard lock(mu_);
  auto it = nets_.find(network);
  if (it == nets_.end()) return;
  Net& net = *it->second;
  stop_slirp(&net.slirp, &net.slirp_exit);
  for (const auto& [id, _] : net.links) delete_netns(net.instance_ns(id));
  delete_netns(net.ns);
  std::error_code ec;
  for (const char* ext : {".json", ".nft", ".slirp.log"})
    fs::remove(state_dir_ / (network + ext), ec);
  nets_.erase(it);
  spdlog::info("network: removed {}", network);
}

std::vector<std::pair<std::string, std::string>> SiteNetworks::attached() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, net] : nets_)
    for (const auto& [id, _] : net->links) out.emplace_back(name, id);
  return out;
}

std::vector<std::string> SiteNetworks::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, _] : nets_) out.push_back(name);
  return out;
}

}  // namespace wok::runtime
