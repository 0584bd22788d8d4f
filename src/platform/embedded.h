#pragma once
// `wok up`: the whole platform in one process — store, API server,
// controllers and router — under one data directory.
#include <string>
#include <vector>

#include "cmd/router_flags.h"

namespace wok::platform {

struct EmbeddedOptions {
  std::string data_dir = "./.wok-data";
  std::string listen = "127.0.0.1:8080";  // public HTTP (the router)
  // Public HTTPS (the router, certificates by SNI: docs/tls.md); "": none.
  std::string listen_tls = "127.0.0.1:8443";
  // An ACME CA for spec.tls mode auto (docs/tls.md): its directory URL
  // ("": the local CA for every host), the account's email, and a CA file
  // to trust its own HTTPS with (a test CA such as pebble's).
  std::string acme_directory, acme_email, acme_ca_file;
  // CAs to trust for the HTTPS of sites' OpenID providers (spec.access.oidc;
  // "": the system's).
  std::string oidc_ca_file;
  // The plain port also takes HTTP/2 from clients that start with its
  // preface (h2c with prior knowledge); on the TLS port ALPN decides.
  bool h2c = false;
  std::string api = "127.0.0.1:7070";
  bool demo = false;
  std::string examples_dir;  // where the demo's sources are
  std::string version;
  cmd::RouterLimitFlags router;  // the public router's limits
  // Where members' sites may read local sources (file:// and path git
  // URLs, oci:/dir:/... images); the demo adds its own. See docs/security.md.
  std::vector<std::string> allowed_local_sources;
  // Remote git fetches may reach loopback, link-local and private networks.
  bool allow_private_sources = false;
  // Site networks with egress reach public addresses only, and these
  // (--egress-allow): IPv4 addresses or CIDRs. See docs/security.md.
  std::vector<std::string> egress_allow;
  // Proxies in front of the router (--trusted-proxy, CIDRs): spec.access
  // judges their requests by X-Forwarded-For. See docs/access.md.
  std::vector<std::string> trusted_proxies;
  // Upper bounds on each site (--max-site-*): memory and cpu of an
  // instance as quantities, replicas of a component, storage (each volume
  // and their sum). See docs/security.md.
  std::string max_site_memory = "4Gi";
  std::string max_site_cpu = "4";
  int max_site_replicas = 20;
  std::string max_site_storage = "100Gi";
  // The disk one site's builds write on (checkout and cache), --max-build-disk.
  std::string max_build_disk = "2Gi";
  // Where backups go (--backup-repository): a restic repository per
  // project, "{project}" replaced by its name ("s3:https://host/bucket/{project}",
  // "/srv/backups/{project}"); "": DATA/backups/repos/PROJECT.
  std::string backup_repository;
};

// Runs until SIGINT or SIGTERM; returns the process exit code.
int run_embedded(const EmbeddedOptions& options);

}  // namespace wok::platform
