#pragma once
// Writes the OCI bundle of one instance: config.json (OCI runtime spec 1.0.2)
// plus the small files the sandbox sees (a minimal /etc, /etc/wok/*).
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "runtime/instance.h"
#include "runtime/site_network.h"

namespace wok::runtime {

// Host-side paths of one instance, all under DATA/instances/ID.
struct InstancePaths {
  std::filesystem::path dir;
  std::filesystem::path bundle() const { return dir / "bundle"; }
  std::filesystem::path base_rootfs() const { return dir / "rootfs"; }  // base image only
  std::filesystem::path etc() const { return dir / "etc"; }             // passwd, group, hosts...
  std::filesystem::path files() const { return dir / "files"; }         // -> /etc/wok (read-only)
  std::filesystem::path run() const { return dir / "run"; }             // -> /run/wok (sockets)
  std::filesystem::path stdout_log() const { return dir / "stdout.log"; }
  std::filesystem::path stderr_log() const { return dir / "stderr.log"; }
  std::filesystem::path runc_log() const { return dir / "runc.log"; }
  std::filesystem::path spec_json() const { return dir / "spec.json"; }  // for adoption
};

// The root file system an instance runs on, and the image's process defaults.
struct RootFs {
  std::filesystem::path path;     // absolute; mounted read-only
  bool base_image = false;        // path is a per-instance dir to populate with binds
  std::vector<std::string> args;  // image entrypoint + cmd
  std::vector<std::string> env;   // "K=V"
  std::string cwd;
};

// Host directories the base image shares read-only; symlinks (merged /usr) are
// recreated as symlinks. Missing ones are skipped.
const std::vector<std::string>& default_base_dirs();

// config.json for the instance (pure: no I/O). `net`: its place in a site
// network (nullptr: a namespace of its own with loopback only).
nlohmann::json oci_config(const InstanceSpec& spec, uint32_t uid, const RootFs& root,
                          const InstancePaths& paths, const std::vector<std::string>& base_dirs,
                          const Attachment* net = nullptr);

// Creates the directories and files, writes config.json. "" or an error.
std::string write_bundle(const InstanceSpec& spec, uint32_t uid, const RootFs& root,
                         const InstancePaths& paths, const std::vector<std::string>& base_dirs,
                         const Attachment* net = nullptr);

}  // namespace wok::runtime
