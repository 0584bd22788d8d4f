#pragma once
// libgit2's plain TCP stream, replaced for the whole process: the one under
// http://, git://, under TLS (https://) and under ssh. A connection made for
// a wok fetch is checked against the fetch's FetchLimits where it is made,
// on the address it is made to (so a DNS answer that changes after
// check_destination, or a redirect, cannot reach loopback or the metadata
// address), and every connect, read and write waits at most until the
// fetch's deadline (libgit2 1.5 has no timeout of its own: a server that
// accepts and then says nothing would hold the fetch forever). Over ssh,
// libssh2 reads and writes the socket itself after the connect: the address
// is checked, but a stalled ssh server is not bounded.
#include <git2.h>
#include <git2/sys/stream.h>

#include <chrono>
#include <string>

#include "git/fetch_limits.h"

namespace wok::git {

struct ConnectionPolicy {
  FetchLimits limits;
  std::chrono::steady_clock::time_point deadline;
  std::string stopped;  // the first refusal or timeout: the fetch's error
};

// Makes `policy` the calling thread's for the scope's lifetime; streams
// opened outside any scope are unrestricted (plain libgit2 behaviour).
class ConnectionPolicyScope {
 public:
  explicit ConnectionPolicyScope(ConnectionPolicy& policy);
  ~ConnectionPolicyScope();
  ConnectionPolicyScope(const ConnectionPolicyScope&) = delete;
  ConnectionPolicyScope& operator=(const ConnectionPolicyScope&) = delete;

 private:
  ConnectionPolicy* previous_;
};

// Registers open_checked_stream with libgit2, once per process. False when
// this libgit2 may lay out its socket streams differently (its ssh
// transport reads the socket out of them): the checks before connecting and
// the progress callbacks remain.
bool install_checked_stream();

// The registration's constructor (tests call it directly).
int open_checked_stream(git_stream** out, const char* host, const char* port);

}  // namespace wok::git
