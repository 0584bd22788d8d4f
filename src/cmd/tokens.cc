// wok token list, wok token revoke.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cmd/commands.h"
#include "cmd/fields.h"
#include "cmd/table.h"

namespace wok::cmd {

using nlohmann::json;

int token_list_command(Session& session) {
  HttpResponse response = session.client.request("GET", std::string(kApiBase) + "/tokens");
  if (response.status != 200) return session.fail(response);
  json list;
  if (!parse_json_body(response.body, &list) || !list.is_object()) {
    return session.fail("the server answered with something that is not a TokenList");
  }
  const json* items = find_at(list, {"items"});
  if (!items || !items->is_array() || items->empty()) {
    session.io.err << "No tokens.\n";
    return 0;
  }
  auto now = std::chrono::system_clock::now();
  std::vector<std::vector<std::string>> rows = {{"NAME", "USER", "ROLE", "CREATED", "LAST USED"}};
  for (const auto& t : *items) {
    std::string last = text_at(t, {"lastUsed"});
    const json* admin = find_at(t, {"platformAdmin"});
    rows.push_back({text_at(t, {"name"}), text_at(t, {"user"}),
                    admin && admin->is_boolean() && admin->get<bool>() ? "platform admin" : "user",
                    age_since(text_at(t, {"createdAt"}), now) + " ago",
                    last.empty() ? "never" : age_since(last, now) + " ago"});
  }
  session.io.out << format_table(rows);
  return 0;
}

int token_revoke_command(Session& session, const std::string& name) {
  HttpResponse response =
      session.client.request("DELETE", std::string(kApiBase) + "/tokens/" + name);
  if (response.status / 100 != 2) return session.fail(response);
  session.io.out << "token " << name << " revoked\n";
  return 0;
}

}  // namespace wok::cmd
