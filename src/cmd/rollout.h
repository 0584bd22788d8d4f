#pragma once
// Waiting for sites to roll out (`wok apply --wait`, `wok rollout status`)
// and starting a new revision of the same content (`wok rollout restart`).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cmd/session.h"

namespace wok::cmd {

// The annotation `wok rollout restart` sets; the reconciler makes a new
// revision while it differs from status.restartedAt.
inline constexpr char kRestartedAtAnnotation[] = "wok.dev/restartedAt";

struct RolloutTarget {
  std::string project;
  std::string name;
  int64_t generation = 0;      // this spec generation (or a later one) must be observed
  int64_t after_revision = 0;  // the revision that serves must be newer than this
};

// Polls until every target's site serves a revision of its current spec and
// is Ready, printing each new step on stdout ("building commit ...",
// "waiting for a build slot ...", "1 of 2 instances running"). 0 when all
// rolled out; 1 when one failed (the failure and its build output's tail on
// stderr) or on timeout.
int wait_for_rollout(Session& session, const std::vector<RolloutTarget>& targets,
                     std::chrono::milliseconds timeout,
                     std::chrono::milliseconds poll = std::chrono::milliseconds(500));

// `wok apply -f ... --wait`: apply_command, then wait_for_rollout of every
// Site applied (at the generation the server answered with).
int apply_and_wait(Session& session, const std::vector<std::string>& inputs,
                   std::chrono::milliseconds timeout);

// `wok rollout status site NAME`: wait_for_rollout of its current generation.
int rollout_status_command(Session& session, const std::string& name,
                           std::chrono::milliseconds timeout);

// `wok rollout restart site NAME`: sets the restartedAt annotation to now.
int rollout_restart_command(Session& session, const std::string& name);

// "5m", "30s": the --timeout of apply --wait and rollout status; false if bad.
bool parse_timeout(const std::string& text, std::chrono::milliseconds* out);

}  // namespace wok::cmd
