#include "router/access_rules.h"

namespace wok::router {

bool AccessRules::allows(std::string_view remote_addr) const {
  auto address = base::parse_ip(remote_addr);
  if (!address) return false;  // no address known: not one the rules allow
  for (const auto& c : deny)
    if (c.contains(*address)) return false;
  if (allow.empty()) return true;
  for (const auto& c : allow)
    if (c.contains(*address)) return true;
  return false;
}

std::shared_ptr<const AccessRules> make_access_rules(const std::vector<std::string>& allow,
                                                     const std::vector<std::string>& deny) {
  if (allow.empty() && deny.empty()) return nullptr;
  auto rules = std::make_shared<AccessRules>();
  std::string error;
  for (const auto& text : allow)
    if (auto c = base::parse_cidr(text, &error)) rules->allow.push_back(*c);
  for (const auto& text : deny)
    if (auto c = base::parse_cidr(text, &error)) rules->deny.push_back(*c);
  // An allow list that parsed to nothing must still refuse everyone.
  if (!allow.empty() && rules->allow.empty()) {
    rules->deny.push_back(*base::parse_cidr("0.0.0.0/0", &error));
    rules->deny.push_back(*base::parse_cidr("::/0", &error));
  }
  return rules;
}

}  // namespace wok::router
