#pragma once
// `wok db dump|import|shell --kubeconfig`: a site's database on a cluster,
// through the engine's own client (render/database_client.h, what wok up
// and the backup Jobs run) started by pods/exec (kube/pod_exec.h) in the
// database's pod, with the member's own rights: reading the Site, its
// database Service and pods, the password Secret, and creating pods/exec
// (the developer and admin roles; a viewer gets the API server's 403).
// The client connects to 127.0.0.1 inside that pod (the database's
// NetworkPolicy admits the site's pods only) as the site's user, its
// password sent first on stdin, never on a command line.
#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "kube/client.h"
#include "kube/pod_exec.h"
#include "render/database_client.h"
#include "render/plan.h"

namespace wok::kube {

struct DatabasePod {
  render::DatabasePlan db;
  std::string pod, container;
  std::string password;  // the site's database Secret's `password`
};

// Site `name`'s database pod: the Site's plan names its Service (SITE-db),
// whose selector finds a running, ready pod (the StatefulSet's, or the
// one CloudNativePG or mariadb-operator runs), its container the one
// with the database's port. False and *error naming what is missing.
bool find_database_pod(KubeClient& client, const std::string& ns, const std::string& name,
                       DatabasePod* out, std::string* error);

// Pure: the argv run in that container: /bin/sh reads the password from the
// first line of stdin, then runs `action`'s client with DB_HOST 127.0.0.1
// and the plan's port, user and database, its stdin the next
// `input_bytes` bytes (kExec) or nothing (kDump): v4 of the exec protocol
// cannot close stdin, so the command must know where the input ends.
std::vector<std::string> database_exec_command(const render::DatabasePlan& db,
                                               render::DatabaseAction action, uint64_t input_bytes);

// Runs `action` (kDump: no input; kExec: `input`, read to its end first,
// into a temporary file, to know its length) in the pod `target`.
ExecResult run_database_client(KubeClient& client, const std::string& ns, const DatabasePod& target,
                               render::DatabaseAction action, std::istream* input,
                               const ExecStreams& sinks);

// `wok db VERB site NAME --kubeconfig` with the client: VERB "db-dump"
// (the dump on `out`), "db-import" (`file`, or `in` when "" or "-") or
// "db-shell" (`shell`, the CLI's loop, runs each statement through
// kExec); the client's stderr and "error: ..." on `err`. The exit code:
// 0, or 1 (the database not found or not reached, or its client failed).
using SqlShell = std::function<int(std::istream& in, std::ostream& err, const std::string& name,
                                   const std::function<int(const std::string& sql)>& run_sql)>;
int kube_db_command(KubeClient& client, const std::string& verb, const std::string& ns,
                    const std::string& name, const std::string& file, std::istream& in,
                    std::ostream& out, std::ostream& err, const SqlShell& shell);

}  // namespace wok::kube
