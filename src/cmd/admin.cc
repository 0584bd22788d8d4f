// wok token create, wok version.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cmd/commands.h"
#include "cmd/fields.h"

#ifndef WOK_VERSION
#define WOK_VERSION "0.1.0"
#endif

namespace wok::cmd {

using nlohmann::json;

int token_create_command(Session& session, const std::string& user, const std::string& name) {
  json body = {{"user", user}};
  if (!name.empty()) body["name"] = name;
  HttpResponse response = session.client.request("POST", std::string(kApiBase) + "/tokens", &body);
  if (response.status / 100 != 2) return session.fail(response);
  json answer;
  std::string token;
  if (parse_json_body(response.body, &answer)) token = text_at(answer, {"token"});
  if (token.empty()) return session.fail("the server answered without a token");
  session.io.out << token << '\n';
  return 0;
}

int ca_command(Session& session) {
  HttpResponse response = session.client.request("GET", "/ca.crt");
  if (response.status != 200) return session.fail(response);
  session.io.out << response.body;
  return 0;
}

int version_command(Session& session) {
  session.io.out << "Client Version: " << WOK_VERSION << '\n';
  HttpResponse response = session.client.request("GET", "/version");
  json answer;
  std::string version;
  if (response.status == 200 && parse_json_body(response.body, &answer)) {
    version = text_at(answer, {"version"});
  }
  if (!version.empty()) {
    session.io.out << "Server Version: " << version << '\n';
  } else {
    // The client version alone is still an answer: no error exit.
    session.io.err << "Server Version: unavailable: "
                   << failure_message(response, session.client.server()) << "\n";
  }
  return 0;
}

}  // namespace wok::cmd
