#pragma once
// The `wok` command line: every client command (apply, get, describe, delete,
// rollout, refresh, token, version) and the parsing of `wok up`, whose work
// the caller supplies.
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli/router_flags.h"

namespace wok::cli {

struct UpOptions {
  std::string data_dir = "./.wok-data";
  std::string listen = "127.0.0.1:8080";
  std::string api = "127.0.0.1:7070";
  bool demo = false;
  RouterLimitFlags router;
  std::vector<std::string> allow_local_sources;  // --allow-local-source DIR (repeatable)
  bool allow_private_sources = false;
  std::vector<std::string> egress_allow;  // --egress-allow CIDR (repeatable)
  // --max-site-memory, --max-site-cpu, --max-site-replicas, --max-site-storage
  std::string max_site_memory = "4Gi";
  std::string max_site_cpu = "4";
  int max_site_replicas = 20;
  std::string max_site_storage = "100Gi";
  std::string max_build_disk = "2Gi";  // --max-build-disk: a site's builds' checkout and cache
};

using UpCommand = std::function<int(const UpOptions&)>;

// `wok operator`: the Kubernetes operator (src/kube), run by the caller.
struct OperatorOptions {
  std::string kubeconfig;  // empty: in-cluster credentials, else $KUBECONFIG, ~/.kube/config
  std::string context;
  std::string ns;  // where the leader Lease lives
  std::string metrics = "0.0.0.0:8081";
  std::string ingress_class = "nginx";
  std::string image, build_image, php_image;  // empty: the render defaults
  std::string ingress_namespace;             // allowed by NetworkPolicies; empty: default
  std::string log_level = "info";
  bool openshift = false;
  bool leader_elect = false;
  bool allow_private_sources = false;  // sites' fetches may reach private networks
  RouterLimitFlags serve_limits;        // --serve-max-body etc., as given
  std::vector<std::string> serve_args;  // the same, checked, for sites' `wok serve`
  // --max-site-memory, --max-site-cpu, --max-site-replicas, --max-site-storage
  std::string max_site_memory = "4Gi";
  std::string max_site_cpu = "4";
  int max_site_replicas = 20;
  std::string max_site_storage = "100Gi";
};

using OperatorCommand = std::function<int(const OperatorOptions&)>;

// Parses argv, runs the command and returns the exit code: 0 ok, 1 error
// (printed as "error: ..." on stderr), 2 usage error.
int run(int argc, char** argv);
int run(int argc, char** argv, UpCommand up, OperatorCommand op = nullptr);

// The same with explicit streams, for tests. args[0] is the program name.
int run(const std::vector<std::string>& args, UpCommand up, std::istream& in, std::ostream& out,
        std::ostream& err, OperatorCommand op = nullptr);

}  // namespace wok::cli
