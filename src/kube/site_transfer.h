#pragma once
// A clone from another project on a cluster, its data side (docs/data.md,
// "Clones from another project"): the clone's Job (render_restore_job with
// its source project) receives one backup into a one-time repository; this
// makes what carries it there (render/transfer.h): the transfer's key, the
// Service and policy in front of the receiver, all owned by that Job, and
// the Job of the source project that copies the backup, with its key and
// its way out. Nothing of either project's repository is handed over.
#include <nlohmann/json.hpp>
#include <string>

#include "kube/client.h"
#include "render/render.h"

namespace wok::kube {

// Makes (once) what carries `backup` of `from_project`'s site `from` to the
// clone's Job `job_name` of `site`, which exists. "" or why not.
std::string start_transfer(KubeClient& client, const nlohmann::json& site,
                           const std::string& job_name, const std::string& from_project,
                           const std::string& from, const std::string& backup,
                           const render::PlatformSettings& settings);

// Why the copy failed (its Job in from_project failed), "" while it has
// not (running, done, or gone after its time to live).
std::string transfer_failed(KubeClient& client, const std::string& ns, const std::string& job_name,
                            const std::string& from_project);

}  // namespace wok::kube
