#pragma once
// spec.access on the router: which clients may reach a site. Parsed once,
// when the site's routes are published (never per request), and matched
// against the client's address (the connection's peer: wok up's router is
// the edge). A match in `deny`, or a non-empty `allow` without a match, is
// a 403 before anything of the site runs.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/cidr.h"

namespace wok::router {

struct AccessRules {
  std::vector<base::Cidr> allow, deny;
  bool allows(std::string_view remote_addr) const;
};

// The rules of the plan's lists (render::SitePlan::ip_allow, ip_deny);
// null when both are empty. Entries the validator would refuse are skipped.
std::shared_ptr<const AccessRules> make_access_rules(const std::vector<std::string>& allow,
                                                     const std::vector<std::string>& deny);

}  // namespace wok::router
