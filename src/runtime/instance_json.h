#pragma once
// InstanceSpec <-> JSON: kept next to each bundle (spec.json) so that a new
// wok process can adopt, and later relaunch, what an earlier one started.
#include <nlohmann/json_fwd.hpp>

#include "runtime/bundle.h"
#include "runtime/instance.h"

namespace wok::runtime {

nlohmann::json spec_to_json(const InstanceSpec& spec);
bool spec_from_json(const nlohmann::json& j, InstanceSpec* spec);
nlohmann::json rootfs_to_json(const RootFs& root);
RootFs rootfs_from_json(const nlohmann::json& j);

}  // namespace wok::runtime
