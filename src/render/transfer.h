#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "render/render.h"

namespace wok::render {

// A clone from another project (docs/data.md, "Clones from another
// project"): what carries one backup of `from_project`'s site `from` into
// the clone's Job `job_name` of `site`'s namespace. Its token and password
// are the transfer's own (the operator makes them once).
struct TransferObjects {
  // In the clone's namespace, owned by its Job: the key, the Service in
  // front of the Job's receiver, the policy letting the copy in.
  nlohmann::json target_secret, service, target_policy;
  // In from_project: the Job that copies, and (owned by it) the key and
  // the policy letting it out to the receiver only.
  nlohmann::json copy_job, source_secret, source_policy;
};
TransferObjects render_transfer(const nlohmann::json& site, const PlatformSettings& settings,
                                const std::string& job_name, const std::string& from_project,
                                const std::string& from, const std::string& backup,
                                const std::string& token, const std::string& password);
// The Secret of the transfer's key in the clone's namespace, and the copy
// Job's name in the source's.
std::string transfer_secret_name(const std::string& job_name);
std::string transfer_copy_job_name(const std::string& ns, const std::string& job_name);

}  // namespace wok::render
