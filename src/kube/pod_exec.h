#pragma once
// `kubectl exec` for the CLI: a command in a container of a pod, its stdin,
// stdout and stderr streamed over a WebSocket upgrade of
// GET .../pods/NAME/exec (the channel protocols v5.channel.k8s.io and
// v4.channel.k8s.io: each binary message starts with its stream: 0 stdin,
// 1 stdout, 2 stderr, 3 the end as a Status, 255 a stream closed, v5). The
// member's own right to create pods/exec is what lets it through.
#include <functional>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "kube/client.h"

namespace wok::kube {

struct ExecStreams {
  std::string first;           // sent on stdin first
  std::istream* in = nullptr;  // then this, to its end (neither: no stdin)
  // Called with each piece of the command's stdout and stderr; false stops.
  std::function<bool(std::string_view)> out, err;
};

struct ExecResult {
  bool ran = false;    // the command ran to its end (exit_code is its own)
  int exit_code = -1;  // 0 success
  std::string error;   // !ran: why ("403 Forbidden: ...", "no status")
};

// Runs `command` (argv, no shell) in `container` of pod `pod`. Without v5,
// the server cannot be told that stdin ended: a command reading stdin to
// its end must know its length (kube/site_database.h sends it first).
ExecResult pod_exec(KubeClient& client, const std::string& ns, const std::string& pod,
                    const std::string& container, const std::vector<std::string>& command,
                    const ExecStreams& streams);

// The exit code a pods/exec Status (channel 3) says: 0 for Success, N for
// NonZeroExitCode's ExitCode cause; -1 and *error for any other failure.
int exec_status_code(std::string_view status_json, std::string* error);

}  // namespace wok::kube
