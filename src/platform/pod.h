#pragma once
// The work of the commands the wok image runs inside a site's pod on
// Kubernetes (see src/render; their flags are in src/cmd/pod_commands.cc):
// `wok fetch` (init container: source into the workspace) and `wok serve`
// (the site's web front). The same code as `wok up` underneath:
// git::fetch/checkout and the router.
#include "cmd/cli.h"

namespace wok::platform {

int run_fetch(const cmd::FetchOptions& options);
int run_serve(const cmd::ServeOptions& options);

}  // namespace wok::platform
