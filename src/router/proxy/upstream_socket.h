#pragma once
// Opens a non-blocking connection to an upstream (TCP or unix socket).
// Numeric addresses only: a DNS lookup would block the loop. An address
// with a netns gets its socket from inside that namespace (base/netns_socket.h).
#include "router/proxy/upstream_pool.h"

namespace wok::router {

struct ConnectResult {
  int fd = -1;               // -1: failed at once (errno-style reason in error)
  bool in_progress = false;  // wait for writability, then check connect_error()
  int error = 0;
};

ConnectResult connect_upstream(const UpstreamAddress& address);
// The outcome of an in-progress connect (0: connected).
int connect_error(int fd);

}  // namespace wok::router
