#pragma once
// The php and app modes' processes: which sandboxed instances a revision
// needs (plan_workloads, pure), starting them and waiting until they can take
// traffic (Workloads::roll_out), routing to the live revision's ready
// instances (Workloads::publish) and stopping what is no longer wanted.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/database.h"
#include "runtime/instance.h"
#include "runtime/site_network.h"
#include "runtime/volume.h"

namespace wok::runtime {
class Runtime;
}

namespace wok::controllers {

class RoutePublisher;

// "<ns>.<site>.<component>.r<revision>.<replica>"; php's component is "php".
std::string instance_id(const std::string& ns, const std::string& site,
                        const std::string& component, int64_t revision, int replica);
struct InstanceName {
  std::string ns, site, component;
  int64_t revision = 0;
  int replica = 0;
};
// Parses an id made by instance_id; nullopt for anything else.
std::optional<InstanceName> parse_instance_id(const std::string& id);

struct WorkloadPlan {
  std::vector<runtime::InstanceSpec> instances;
  std::set<std::string> gating;  // ids that must be Ready before the route switches
  std::vector<std::string>
      routed;         // ids the route points at (php: one; app: the routed component's)
  uint16_t port = 0;  // app: the routed component's port
  bool least_connections = false;  // app: the routed component's balance
  bool php = false;
  std::string docroot;           // php: relative docroot ("" = the revision root)
  std::string front_controller;  // php
  std::vector<std::pair<std::string, std::string>>
      static_mounts;             // php: "/uploads/" -> storage dir
  uint64_t max_body_bytes = 0;   // spec.maxBodySize; 0: the router's limit
  bool serve_dot_files = false;  // php: spec.serveDotFiles
  int64_t php_timeout_ms = 0;    // php: spec.php.timeout (php-fpm's limit and the router's)
  runtime::NetworkSpec network;  // the site's network, which every instance joins
  // spec.database and spec.services: their servers, instances of revision 0
  // ("NS.SITE.db.r0.0", "NS.SITE.queue.r0.0") kept across revisions, among
  // `instances` and gating; their command and files come with their
  // password (add_secret_env, configure_database).
  struct DataServer {
    std::string id;
    std::string secret_name;   // key `password`
    std::string storage_name;  // status.storage: "database", "service:NAME"
    runtime::DatabaseServer server;
  };
  std::vector<DataServer> servers;  // the database first
  std::string database_id;          // spec.database's ("" when none)
  std::string error;                // non-empty: the spec cannot run
};

// Pure: the network of a site (site_network.h): "NS.SITE", each app
// component with a port reachable as "COMPONENT" and "SITE-COMPONENT" (the
// Service name the Kubernetes render gives it), egress as the project says.
runtime::NetworkSpec site_network(const std::string& ns, const std::string& site,
                                  const nlohmann::json& spec, bool egress);

// Pure: the instances of revision `revision` of a php or app site whose spec
// is `spec`, its files at `root` and its storage volumes under `storage_dir`,
// run as `sandbox_uid`, the project's (Store::project_uid; 0 lets the runtime
// derive one from the project's name, for tests only: names may collide).
WorkloadPlan plan_workloads(const std::string& ns, const std::string& site, const std::string& uid,
                            const nlohmann::json& spec, int64_t revision, const std::string& root,
                            const std::string& storage_dir, uint32_t sandbox_uid = 0,
                            bool egress = true);

// Creates the mount points of spec.storage inside a revision's files (before
// they are published read-only) and the host directories; "" or why not.
// `mount_points` false: the host directories only (an app whose components
// all come from images sees its volumes at "/" + path, not in the files).
std::string prepare_storage(const nlohmann::json& spec, const std::string& root,
                            const std::string& storage_dir, bool mount_points = true);
// Whether an app site has a component run from its source (a `command`).
bool runs_from_source(const nlohmann::json& spec);

// The host directory of a site's database volume: "database/data" beside
// `storage_dir` (the site's storage/), never among spec.storage's names;
// a service's: "services/NAME/data".
std::string database_dir(const std::string& storage_dir);
std::string service_dir(const std::string& storage_dir, const std::string& name);

// Makes each spec.storage volume under `storage_dir`, and the database's
// (database_dir), a file system of its declared size owned by `uid`
// (runtime/volume.h): made, mounted again or grown. Instances never start
// before it says "": a bare directory has no size.
std::string mount_storage(const nlohmann::json& spec, const std::string& storage_dir, unsigned uid,
                          const runtime::VolumeChange& change = {});
// Whether every volume of spec.storage is mounted (maybe at another size).
bool storage_mounted(const nlohmann::json& spec, const std::string& storage_dir);

class Workloads {
 public:
  Workloads(runtime::Runtime& runtime, RoutePublisher& routes,
            std::chrono::milliseconds ready_timeout)
      : runtime_(runtime), routes_(routes), ready_timeout_(ready_timeout) {}

  // Starts the plan's instances and waits until the gating ones are ready.
  // "" on success; else why, with the new instances stopped.
  std::string roll_out(const WorkloadPlan& plan);
  // Starts the plan (idempotent) and routes `hosts` to its ready instances
  // when that set changed since the last call for this site.
  void publish(const std::string& ns, const std::string& site,
               const std::vector<std::string>& hosts, const WorkloadPlan& plan,
               const std::string& root);
  // Stops this site's instances that are not in `keep` (after `drain`).
  void stop_others(const std::string& ns, const std::string& site,
                   const std::set<std::string>& keep, std::chrono::milliseconds drain = {});
  // Stops every instance whose site is not in `sites` ("ns/name"), and
  // removes those sites' networks.
  void sweep(const std::set<std::string>& sites);
  // status.instances, and a problem worth the Ready condition's message ("" if none).
  nlohmann::json observe(const WorkloadPlan& plan, std::string* problem) const;
  // status.storage: [{name, path, bytes}], the bytes of the files under each
  // storage directory of the plan, measured at most every 30 s each.
  nlohmann::json storage_use(const WorkloadPlan& plan);
  // Whether any instance the route points at answers (its probe passed):
  // a site whose instances all fail is not Ready, whatever revision is live.
  bool answers(const WorkloadPlan& plan) const;
  void forget_route(const std::string& ns, const std::string& site);

 private:
  runtime::Runtime& runtime_;
  RoutePublisher& routes_;
  std::chrono::milliseconds ready_timeout_;
  std::mutex mu_;
  std::map<std::string, std::string> published_;  // "ns/site" -> what the route last pointed at
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, uint64_t>>
      storage_bytes_;  // by host dir
};

// Why an instance is not healthy, from its status ("CrashLoopBackOff, last exit code 1").
std::string describe_failure(const runtime::InstanceStatus& status);

}  // namespace wok::controllers
