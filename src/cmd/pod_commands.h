#pragma once
// `wok serve`, `wok fetch` and `wok backup-job`: the commands the wok image runs inside a
// site's pod on Kubernetes (see src/render). Their flags live here, in the one
// command tree, so that `wok --help` lists them; their work is
// src/platform/pod.cc.
#include "cmd/cli.h"

namespace CLI {
class App;
}

namespace wok::cmd {

struct PodCommands {
  CLI::App* serve;
  CLI::App* fetch;
  CLI::App* backup_job;
};

PodCommands add_pod_commands(CLI::App& app, ServeOptions& serve, FetchOptions& fetch,
                             BackupJobOptions& backup);

}  // namespace wok::cmd
