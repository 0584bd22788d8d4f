#include "controllers/workloads.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "api/validation.h"
#include "controllers/route_publisher.h"
#include "controllers/tree_paths.h"
#include "render/plan.h"
#include "router/route_table.h"
#include "runtime/log_files.h"
#include "runtime/php_fpm.h"
#include "runtime/runtime.h"

namespace wok::controllers {

namespace fs = std::filesystem;
using nlohmann::json;
using runtime::InstanceSpec;
using runtime::InstanceStatus;
using runtime::Phase;

namespace {

constexpr const char* kSiteMount = "/srv/site";  // php: the revision's files
constexpr const char* kAppMount = "/srv/app";    // app commands: the revision's files

std::string joined(const std::string& base, const std::string& rel) {
  return rel.empty() ? base : (fs::path(base) / rel).lexically_normal().string();
}

// The plan's limits of a component ("" = the runtime's defaults).
runtime::Resources resources_of(const render::ComponentPlan& c) {
  runtime::Resources r;
  if (!c.memory.empty()) r.memory_bytes = api::parse_memory_bytes(c.memory);
  if (!c.cpu.empty()) r.cpu_millis = api::parse_cpu_millis(c.cpu);
  return r;
}

// The plan of revision `revision` (0: none) of site ns/site with `spec`.
render::SitePlan site_plan(const std::string& ns, const std::string& site, const json& spec,
                           int64_t revision = 0) {
  return render::plan_site({{"metadata", {{"name", site}, {"namespace", ns}}},
                            {"spec", spec},
                            {"status", {{"revision", revision}}}});
}

std::map<std::string, std::string> labels_of(const std::string& uid, int64_t revision) {
  return {{"wok.dev/site-uid", uid}, {"wok.dev/revision", std::to_string(revision)}};
}

// Ready: the runtime's probe reached the instance's port (php-fpm's too).
bool is_ready(runtime::Runtime& rt, const std::string& id, bool /*php*/) {
  auto st = rt.status(id);
  return st && st->phase == Phase::Ready;
}

// The sizes of the regular files under `dir`; links are not followed.
uint64_t bytes_under(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    std::error_code ignored;
    if (it->is_regular_file(ignored) && !it->is_symlink(ignored)) bytes += it->file_size(ignored);
  }
  return bytes;
}

}  // namespace

std::string instance_id(const std::string& ns, const std::string& site,
                        const std::string& component, int64_t revision, int replica) {
  return ns + "." + site + "." + component + ".r" + std::to_string(revision) + "." +
         std::to_string(replica);
}

std::optional<InstanceName> parse_instance_id(const std::string& id) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = id.find('.', start);
    parts.push_back(id.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 5 || parts[3].size() < 2 || parts[3][0] != 'r') return std::nullopt;
  auto number = [](const std::string& s, long long* out) {
    if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string::npos)
      return false;
    *out = std::stoll(s);
    return true;
  };
  long long rev = 0, replica = 0;
  if (!number(parts[3].substr(1), &rev) || !number(parts[4], &replica)) return std::nullopt;
  return InstanceName{parts[0], parts[1], parts[2], rev, static_cast<int>(replica)};
}

runtime::NetworkSpec site_network(const std::string& ns, const std::string& site, const json& spec,
                                  bool egress) {
  runtime::NetworkSpec net;
  net.name = ns + "." + site;
  net.egress = egress;
  const render::SitePlan p = site_plan(ns, site, spec);
  for (const auto& c : p.components)
    if (!c.service_names.empty()) net.services[c.name] = {c.service_names, c.port};
  if (p.database.enabled()) net.services["db"] = {{"db", p.database.host}, p.database.port};
  for (const auto& s : p.services) net.services[s.name] = {{s.name, s.host}, s.port};
  return net;
}

std::string service_dir(const std::string& storage_dir, const std::string& name) {
  return (fs::path(storage_dir).parent_path() / "services" / name).string();
}

std::string database_dir(const std::string& storage_dir) {
  return (fs::path(storage_dir).parent_path() / "database").string();
}

namespace {

// A server of spec.database or spec.services, but for its password
// (add_secret_env): its volume under `dir`, reachable as `service`.
void plan_server(const render::SitePlan& site_p, const std::string& uid, const std::string& name,
                 const std::string& memory, const std::string& cpu, const std::string& dir,
                 const std::string& secret_name, const std::string& storage_name,
                 runtime::DatabaseServer server, uint32_t sandbox_uid, WorkloadPlan& plan) {
  InstanceSpec s;
  s.id = instance_id(site_p.ns, site_p.name, name, 0, 0);
  s.project = site_p.ns;
  s.uid = sandbox_uid;
  s.resources.memory_bytes = api::parse_memory_bytes(memory);
  if (!cpu.empty()) s.resources.cpu_millis = api::parse_cpu_millis(cpu);
  s.labels = labels_of(uid, 0);
  s.network = plan.network.name;
  s.service = name;
  s.grace = std::chrono::seconds(30);  // a clean shutdown flushes its logs
  s.volumes.push_back({(fs::path(dir) / "data").string(), runtime::kDatabaseMount, false});
  server.memory_bytes = s.resources.memory_bytes;
  plan.servers.push_back({s.id, secret_name, storage_name, server});
  plan.gating.insert(s.id);
  plan.instances.push_back(std::move(s));
}

void plan_servers(const render::SitePlan& site_p, const std::string& uid,
                  const std::string& storage_dir, uint32_t sandbox_uid, WorkloadPlan& plan) {
  if (const render::DatabasePlan& db = site_p.database; db.enabled()) {
    plan_server(site_p, uid, "db", db.memory, db.cpu, database_dir(storage_dir), db.secret_name,
                "database", {db.engine, db.port, db.database, db.user, "", 0, db.version},
                sandbox_uid, plan);
    plan.database_id = plan.servers.back().id;
  }
  for (const auto& s : site_p.services)
    plan_server(site_p, uid, s.name, s.memory, s.cpu, service_dir(storage_dir, s.name),
                s.secret_name, "service:" + s.name, {s.engine, s.port, "", s.user, "", 0, ""},
                sandbox_uid, plan);
}

}  // namespace

WorkloadPlan plan_workloads(const std::string& ns, const std::string& site, const std::string& uid,
                            const json& spec, int64_t revision, const std::string& root,
                            const std::string& storage_dir, uint32_t sandbox_uid, bool egress) {
  WorkloadPlan plan;
  plan.network = site_network(ns, site, spec, egress);
  const render::SitePlan site_p = site_plan(ns, site, spec, revision);
  const std::string& mode = site_p.mode;
  plan.max_body_bytes = site_p.max_body_bytes;
  if (mode == "php") {
    plan.php = true;
    plan.docroot = site_p.php.docroot;
    plan.front_controller = site_p.php.front_controller;
    plan.serve_dot_files = site_p.serve_dot_files;
    plan.php_timeout_ms = site_p.php.timeout_ms;
    InstanceSpec s;
    s.id = instance_id(ns, site, "php", revision, 0);
    s.project = ns;
    s.uid = sandbox_uid;
    s.resources =
        site_p.components.empty() ? runtime::Resources{} : resources_of(site_p.components[0]);
    s.labels = labels_of(uid, site_p.revision);
    s.network = plan.network.name;
    s.volumes.push_back({root, kSiteMount, true});
    for (const auto& v : site_p.volumes) {
      std::string host = (fs::path(storage_dir) / v.name).string();
      const std::string& path = v.path;
      s.volumes.push_back({host, joined(kSiteMount, path), false});
      // Under the document root, the router serves the volume's files itself.
      std::string rel =
          fs::path(path).lexically_relative(plan.docroot.empty() ? "." : plan.docroot).string();
      if (!rel.empty() && rel != "." && !rel.starts_with("..")) {
        plan.static_mounts.push_back({"/" + rel + "/", host});
      }
    }
    runtime::PhpPool pool;
    pool.docroot = joined(kSiteMount, plan.docroot);
    pool.ini = render::php_admin_values(site_p.php);  // the same as the render's
    pool.request_timeout = std::chrono::seconds(plan.php_timeout_ms / 1000);
    if (!site_p.components.empty()) s.env = site_p.components[0].env;  // the database's
    if (!runtime::configure_php_fpm(pool, &s, &plan.error)) return plan;
    plan.gating.insert(s.id);
    plan.routed.push_back(s.id);
    plan.instances.push_back(std::move(s));
    plan_servers(site_p, uid, storage_dir, sandbox_uid, plan);
    return plan;
  }
  if (mode != "app") {
    plan.error = "mode \"" + mode + "\" runs no instances";
    return plan;
  }
  for (const auto& c : site_p.components) {
    if (c.routed) {
      plan.port = c.port;
      plan.least_connections = c.balance == "least-connections";
    }
    for (int i = 0; i < c.replicas; ++i) {
      InstanceSpec s;
      s.id = instance_id(ns, site, c.name, revision, i);
      s.project = ns;
      s.uid = sandbox_uid;
      s.resources = resources_of(c);
      s.labels = labels_of(uid, site_p.revision);
      s.port = c.port;
      s.network = plan.network.name;
      if (!c.service_names.empty()) s.service = c.name;
      s.env = c.env;
      s.health_path = c.health_path;
      if (!c.image.empty()) {
        s.image = c.image;
      } else {
        s.command = c.command;
        s.volumes.push_back({root, kAppMount, true});
        s.workdir = kAppMount;
      }
      // After the revision's files: a volume under /srv/app lies over them.
      for (const auto& v : site_p.volumes)
        s.volumes.push_back({(fs::path(storage_dir) / v.name).string(),
                             render::volume_mount_path(c, v, kAppMount), false});
      if (c.port) plan.gating.insert(s.id);
      if (c.routed) plan.routed.push_back(s.id);
      plan.instances.push_back(std::move(s));
    }
  }
  plan_servers(site_p, uid, storage_dir, sandbox_uid, plan);
  return plan;
}

bool runs_from_source(const json& spec) {
  for (const auto& c : site_plan("", "", spec).components)
    if (c.image.empty()) return true;
  return false;
}

std::string prepare_storage(const json& spec, const std::string& root,
                            const std::string& storage_dir, bool mount_points) {
  std::error_code ec;
  for (const auto& v : site_plan("", "", spec).volumes) {
    const std::string &name = v.name, &rel = v.path;
    fs::path host = fs::path(storage_dir) / name;
    fs::create_directories(host, ec);
    if (ec) return "cannot create storage " + host.string() + ": " + ec.message();
    if (!mount_points) continue;
    // The mount point is made in the site's files from directory descriptors:
    // a symlink there (to /, to another site) is refused, never followed.
    if (std::string err = check_directory_beneath(root, rel, true); !err.empty()) {
      return "storage \"" + name + "\": path \"" + rel + "\": " + err;
    }
  }
  return "";
}

std::string mount_storage(const json& spec, const std::string& storage_dir, unsigned uid,
                          const runtime::VolumeChange& change) {
  const render::SitePlan p = site_plan("", "", spec);
  if (p.database.enabled()) {
    int64_t bytes = api::parse_memory_bytes(p.database.size);
    if (bytes <= 0) return "database: size is not a size";
    std::string err = runtime::ensure_sized_volume(database_dir(storage_dir), "data",
                                                   static_cast<uint64_t>(bytes), uid, change);
    if (!err.empty()) return "database: " + err;
  }
  for (const auto& s : p.services) {
    int64_t bytes = api::parse_memory_bytes(s.size);
    if (bytes <= 0) return "service \"" + s.name + "\": size is not a size";
    std::string err = runtime::ensure_sized_volume(service_dir(storage_dir, s.name), "data",
                                                   static_cast<uint64_t>(bytes), uid, change);
    if (!err.empty()) return "service \"" + s.name + "\": " + err;
  }
  for (const auto& v : p.volumes) {
    int64_t bytes = api::parse_memory_bytes(v.size);
    if (bytes <= 0) return "storage \"" + v.name + "\": size is not a size";
    std::string err = runtime::ensure_sized_volume(storage_dir, v.name,
                                                   static_cast<uint64_t>(bytes), uid, change);
    if (!err.empty()) return err;
  }
  return "";
}

bool storage_mounted(const json& spec, const std::string& storage_dir) {
  const render::SitePlan p = site_plan("", "", spec);
  if (p.database.enabled() && !runtime::is_volume_mounted(database_dir(storage_dir), "data"))
    return false;
  for (const auto& s : p.services)
    if (!runtime::is_volume_mounted(service_dir(storage_dir, s.name), "data")) return false;
  for (const auto& v : p.volumes)
    if (!runtime::is_volume_mounted(storage_dir, v.name)) return false;
  return true;
}

std::string describe_failure(const InstanceStatus& st) {
  std::string s = runtime::phase_name(st.phase);
  if (st.restarts > 0) s += ", " + std::to_string(st.restarts) + " restarts";
  if (st.oom_killed)
    s += ", killed for lack of memory (OOM)";
  else if (st.last_exit_code >= 0)
    s += ", last exit code " + std::to_string(st.last_exit_code);
  else if (st.last_signal > 0)
    s += ", killed by signal " + std::to_string(st.last_signal);
  if (!st.last_error.empty()) s += ": " + st.last_error;
  return s;
}

std::string Workloads::roll_out(const WorkloadPlan& plan) {
  if (!plan.error.empty()) return plan.error;
  if (std::string err = runtime_.ensure_network(plan.network); !err.empty()) return err;
  // What ran before (the database, instances of this revision already up)
  // keeps running when the revision fails.
  std::set<std::string> started;
  auto stop_all = [&] {
    for (const auto& id : started) runtime_.stop(id);
  };
  for (const auto& s : plan.instances) {
    auto before = runtime_.status(s.id);
    bool running = before && before->phase != Phase::Stopped;
    std::string error;
    bool ok = runtime_.start(s, &error);
    bool server = false;
    for (const auto& d : plan.servers) server = server || d.id == s.id;
    if (!ok && running && server) {
      // The revision changes a server's settings (memory, password):
      // it restarts with them, as a StatefulSet's pod would.
      spdlog::info("instance {}: restarting with the revision's settings", s.id);
      runtime_.stop(s.id);
      running = false;
      ok = runtime_.start(s, &error);
    }
    if (!ok) {
      stop_all();
      return "instance " + s.id + " cannot start: " + error;
    }
    if (!running) started.insert(s.id);
  }
  bool php = plan.php;
  auto deadline = std::chrono::steady_clock::now() + ready_timeout_;
  while (true) {
    std::string waiting, failing;
    for (const auto& id : plan.gating) {
      if (is_ready(runtime_, id, php)) continue;
      auto st = runtime_.status(id);
      if (st && st->phase == Phase::CrashLoopBackOff && failing.empty()) {
        failing = "instance " + id + ": " + describe_failure(*st);
        // A server's start script says why it gave up (a database's
        // upgrade without room, data of a newer version) as "error: ...".
        for (const auto& d : plan.servers) {
          if (d.id != id) continue;
          auto lines = runtime::tail_lines(runtime_.log_path(id, runtime::LogStream::Stderr), 20);
          for (auto it = lines.rbegin(); it != lines.rend(); ++it)
            if (it->starts_with("error: ")) {
              failing += " (" + it->substr(0, 300) + ")";
              break;
            }
        }
      }
      if (waiting.empty())
        waiting = "instance " + id + ": " + (st ? describe_failure(*st) : "unknown");
    }
    // A crash loop will not heal by waiting: fail at once.
    if (waiting.empty() || !failing.empty() || std::chrono::steady_clock::now() >= deadline) {
      if (waiting.empty()) return "";
      stop_all();
      if (!failing.empty()) return failing;
      return "not ready after " + std::to_string(ready_timeout_.count() / 1000) + "s: " + waiting +
             (plan.instances[0].health_path.empty()
                  ? ""
                  : " (health check " + plan.instances[0].health_path + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void Workloads::publish(const std::string& ns, const std::string& site,
                        const std::vector<std::string>& hosts, const WorkloadPlan& plan,
                        const std::string& root) {
  // A plan that cannot start instances (a secret deleted since they
  // started) starts none, and keeps routing to those that run.
  if (plan.error.empty()) {
    if (std::string err = runtime_.ensure_network(plan.network); !err.empty()) {
      spdlog::warn("site {}/{}: {}", ns, site, err);
      return;
    }
    for (const auto& s : plan.instances) {  // idempotent; adopts after a restart of wok
      std::string error;
      if (!runtime_.start(s, &error)) spdlog::warn("instance {}: {}", s.id, error);
    }
  }
  bool php = plan.php;
  std::string signature;
  std::vector<router::UpstreamAddress> upstreams;
  for (const auto& id : plan.routed) {
    if (!is_ready(runtime_, id, php)) continue;
    auto st = runtime_.status(id);
    if (!st || st->pid <= 0) continue;
    signature += id + "=" + std::to_string(st->pid) + ";";
    upstreams.push_back(
        {"127.0.0.1", plan.port, "", "/proc/" + std::to_string(st->pid) + "/ns/net"});
  }
  for (const auto& h : hosts) signature += h + ",";
  signature += root + ";" + std::to_string(plan.max_body_bytes) +
               (plan.least_connections ? ";lc" : ";rr") + (plan.serve_dot_files ? ";dot" : "") +
               ";t" + std::to_string(plan.php_timeout_ms);
  {
    std::lock_guard lock(mu_);
    std::string& last = published_[ns + "/" + site];
    // Nothing ready: keep whatever the route has (the runtime restarts crashes).
    if (upstreams.empty() || last == signature) return;
    last = signature;
  }
  if (php) {
    router::FastCgiTarget target{"",
                                 joined(kSiteMount, plan.docroot),
                                 plan.front_controller,
                                 plan.static_mounts,
                                 upstreams[0].netns,
                                 runtime::kPhpPort,
                                 plan.php_timeout_ms};
    routes_.set_php(ns, site, hosts, joined(root, plan.docroot), target, plan.max_body_bytes,
                    plan.serve_dot_files);
  } else {
    auto policy = plan.least_connections ? router::BalancePolicy::kLeastConnections
                                         : router::BalancePolicy::kRoundRobin;
    routes_.set_proxy(ns, site, hosts,
                      std::make_shared<const router::UpstreamPool>(std::move(upstreams), policy),
                      plan.max_body_bytes);
  }
}

void Workloads::forget_route(const std::string& ns, const std::string& site) {
  std::lock_guard lock(mu_);
  published_.erase(ns + "/" + site);
}

void Workloads::stop_others(const std::string& ns, const std::string& site,
                            const std::set<std::string>& keep, std::chrono::milliseconds drain) {
  std::vector<std::string> doomed;
  for (const auto& st : runtime_.list()) {
    auto name = parse_instance_id(st.id);
    if (name && name->ns == ns && name->site == site && !keep.count(st.id) &&
        st.phase != Phase::Stopped) {
      doomed.push_back(st.id);
    }
  }
  if (doomed.empty()) return;
  // In-flight requests of the old revision finish before it goes.
  if (drain.count() > 0) std::this_thread::sleep_for(drain);
  std::vector<std::thread> stoppers;
  for (const auto& id : doomed) {
    stoppers.emplace_back([this, id] {
      runtime_.stop(id);
      runtime_.forget(id);
    });
  }
  for (auto& t : stoppers) t.join();
}

void Workloads::sweep(const std::set<std::string>& sites) {
  for (const auto& st : runtime_.list()) {
    auto name = parse_instance_id(st.id);
    if (!name || sites.count(name->ns + "/" + name->site)) continue;
    spdlog::info("stopping instance {}: its site no longer exists", st.id);
    runtime_.stop(st.id);
    runtime_.forget(st.id);
  }
  for (const auto& net : runtime_.networks()) {
    auto dot = net.find('.');
    if (dot != std::string::npos && sites.count(net.substr(0, dot) + "/" + net.substr(dot + 1)))
      continue;
    runtime_.remove_network(net);
  }
}

json Workloads::observe(const WorkloadPlan& plan, std::string* problem) const {
  json out = json::array();
  for (const auto& s : plan.instances) {
    auto st = runtime_.status(s.id);
    if (!st) continue;
    auto name = parse_instance_id(s.id);
    out.push_back({{"name", s.id},
                   {"component", name ? name->component : ""},
                   {"phase", runtime::phase_name(st->phase)},
                   {"restarts", st->restarts},
                   {"lastExitCode", st->last_exit_code},
                   {"lastSignal", st->last_signal},
                   {"lastError", st->last_error},
                   {"oomKilled", st->oom_killed}});
    if (problem->empty() && (st->phase == Phase::CrashLoopBackOff || st->oom_killed)) {
      *problem = "instance " + s.id + ": " + describe_failure(*st);
    }
  }
  return out;
}

json Workloads::storage_use(const WorkloadPlan& plan) {
  json out = json::array();
  std::set<std::string> seen;
  auto now = std::chrono::steady_clock::now();
  for (const auto& s : plan.instances) {
    for (const auto& v : s.volumes) {
      if (v.read_only || !seen.insert(v.host_path).second) continue;
      std::optional<uint64_t> bytes;
      {
        std::lock_guard lock(mu_);
        auto it = storage_bytes_.find(v.host_path);
        if (it != storage_bytes_.end() && now - it->second.first < std::chrono::seconds(30))
          bytes = it->second.second;
      }
      if (!bytes) {  // outside the lock: a large directory takes a while
        bytes = bytes_under(v.host_path);
        std::lock_guard lock(mu_);
        storage_bytes_[v.host_path] = {now, *bytes};
      }
      std::string name = fs::path(v.host_path).filename().string();
      for (const auto& server : plan.servers)
        if (server.id == s.id) name = server.storage_name;
      out.push_back({{"name", name}, {"path", v.container_path}, {"bytes", *bytes}});
    }
  }
  return out;
}

bool Workloads::answers(const WorkloadPlan& plan) const {
  for (const auto& id : plan.routed)
    if (is_ready(runtime_, id, plan.php)) return true;
  return plan.routed.empty();
}

}  // namespace wok::controllers
