#pragma once
// A one-time restic repository served over restic's REST protocol (v1 and
// v2, the subset a `restic init` and a `restic copy` use), for a clone
// from another project on a cluster (docs/data.md): the clone's Job in the
// target namespace serves it from an emptyDir, a Job of the source
// namespace copies the one backup into it, and the clone restores from the
// directory, a repository in restic's local layout.
//
// What a hostile caller meets: every request needs the transfer's token
// (HTTP basic auth, any user name); names are 64 lowercase hex digits
// (restic's ids) or `config`, of the five types; a file is written once
// (never replaced) and only locks are deleted; a body is bounded.
// `POST /done` (the copier's last request) stops the server, once the
// repository holds a snapshot.
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "http/message.h"

namespace wok::platform {

// The handler of the repository in `dir` (made by `POST /?create=true`);
// `done` called once a `POST /done` is answered.
http::Handler restic_repository_handler(const std::filesystem::path& dir, std::string token,
                                        std::function<void()> done);

struct ReceiveOptions {
  std::filesystem::path dir;
  std::string host = "0.0.0.0";
  uint16_t port = 8000;
  std::string token;
  std::chrono::seconds timeout{3600};
};

// Serves until `POST /done` (0) or the timeout (1, "error: ..." on err).
// Says where it listens on err first (the port, when 0 was asked).
int receive_repository(const ReceiveOptions& options, std::ostream& out, std::ostream& err);

}  // namespace wok::platform
