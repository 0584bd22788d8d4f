#pragma once
// What a site's status change says happened (store/site_events.h): a
// condition that changed (a revision deployed, a build or a fetch that
// failed, hosts refused, a certificate or login problem), an instance that
// restarted or was killed for its memory, an autoscaler decision, a
// certificate issued. Pure: the old status and the patch about to replace
// it in, the events out.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/site_events.h"

namespace wok::store {

// `ready_base`: the Ready condition's message before what the instances
// add to it ("; instance ...: crashed"), so that a problem's changing words
// do not each make an event (the instance events say them).
std::vector<SiteEvent> status_events(const nlohmann::json& old_status, const nlohmann::json& patch,
                                     const std::string& ready_base);

}  // namespace wok::store
