// wok secret set|get|delete, wok get secrets: a project's Secrets
// (api/secret.h). Values are shown only with --show-values, and only to
// the project's developers and admins (the server decides).
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "api/base64.h"
#include "api/codec.h"
#include "api/secret.h"
#include "cmd/commands.h"
#include "cmd/fields.h"
#include "cmd/table.h"

namespace wok::cmd {
namespace {

using nlohmann::json;

// Secrets are named within their project: -n is required.
bool require_project(Session& session, const std::string& name, int* exit_code) {
  if (session.project.empty()) {
    *exit_code = session.fail("a secret is named within its project: pass -n PROJECT");
    return false;
  }
  for (const std::string& n : {session.project, name}) {
    if (!n.empty() && !api::is_dns_label(n)) {
      *exit_code =
          session.fail("\"" + n + "\" is not a valid name (lowercase letters, digits, '-')");
      return false;
    }
  }
  return true;
}

std::string secret_path(const std::string& project, const std::string& name) {
  return std::string(kApiBase) + "/namespaces/" + project + "/secrets" +
         (name.empty() ? "" : "/" + name);
}

std::string not_found(const std::string& project, const std::string& name) {
  return "secret \"" + name + "\" not found in project \"" + project + "\"";
}

// "KEY=VALUE" -> (KEY, VALUE); the key is checked here so that a mistyped
// pair is reported before anything is sent, and never echoes the value.
bool split_pair(const std::string& pair, const char* what, std::string* key, std::string* value,
                std::string* error) {
  size_t eq = pair.find('=');
  if (eq == std::string::npos || eq == 0) {
    *error = std::string(what) +
             " must be KEY=" + (std::string(what) == "--from-file" ? "PATH" : "VALUE") +
             " (argument " + (eq == 0 ? "starts with '='" : "has no '='") + ")";
    return false;
  }
  *key = pair.substr(0, eq);
  *value = pair.substr(eq + 1);
  if (!api::is_secret_key(*key)) {
    *error = "\"" + *key + "\" is not a valid key ([-._a-zA-Z0-9]+, at most 253 characters)";
    return false;
  }
  return true;
}

}  // namespace

int secret_set_command(Session& session, const std::string& name,
                       const std::vector<std::string>& pairs,
                       const std::vector<std::string>& files) {
  int code = 1;
  if (!require_project(session, name, &code)) return code;
  if (pairs.empty() && files.empty())
    return session.fail("give at least one KEY=VALUE or --from-file KEY=PATH");
  json data = json::object();
  for (const auto& p : pairs) {
    std::string key, value, error;
    if (!split_pair(p, "KEY=VALUE", &key, &value, &error)) return session.fail(error);
    data[key] = api::base64_encode(value);
  }
  for (const auto& f : files) {
    std::string key, path, error;
    if (!split_pair(f, "--from-file", &key, &path, &error)) return session.fail(error);
    std::ifstream in(path, std::ios::binary);
    if (!in) return session.fail("cannot read " + path + " (--from-file " + key + ")");
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().size() > api::kMaxSecretBytes)
      return session.fail(path + " is larger than 1 MiB");
    data[key] = api::base64_encode(text.str());
  }
  json body = {{"apiVersion", kApiVersion},
               {"kind", "Secret"},
               {"metadata", {{"name", name}, {"namespace", session.project}}},
               {"data", data}};
  HttpResponse response =
      session.client.request("PATCH", secret_path(session.project, name), &body);
  if (response.status / 100 != 2) return session.fail(response);
  session.io.out << "secret/" << name << (response.status == 201 ? " created" : " configured")
                 << " (keys: ";
  std::string sep;
  for (auto it = data.begin(); it != data.end(); ++it, sep = ", ")
    session.io.out << sep << it.key();
  session.io.out << ")\n";
  return 0;
}

int secret_get_command(Session& session, const std::string& name, const std::string& output,
                       bool show_values) {
  int code = 1;
  if (!require_project(session, name, &code)) return code;
  if (output.rfind("jsonpath=", 0) == 0 || output == "wide") {
    return session.fail("-o " + output.substr(0, output.find('=')) +
                        " is not available for secrets: json, yaml or name");
  }
  std::string path =
      secret_path(session.project, name) + (show_values && !name.empty() ? "?showValues=true" : "");
  HttpResponse response = session.client.request("GET", path);
  if (response.status != 200)
    return session.fail(response, name.empty() ? "" : not_found(session.project, name));
  json doc;
  if (!parse_json_body(response.body, &doc) || !doc.is_object()) {
    return session.fail("the server answered with something that is not a Secret");
  }
  if (output == "json") {
    session.io.out << doc.dump(2) << "\n";
    return 0;
  }
  if (output == "yaml") {
    session.io.out << api::to_yaml(doc);
    return 0;
  }
  if (!name.empty() && show_values) {  // KEY=VALUE, decoded, as a .env file
    const json data = doc.value("data", json::object());
    for (auto it = data.begin(); it != data.end(); ++it) {
      std::string text = it.value().is_string() ? it.value().get<std::string>() : std::string();
      session.io.out << it.key() << "=" << api::base64_decode(text).value_or("") << "\n";
    }
    return 0;
  }
  json items = name.empty() ? doc.value("items", json::array()) : json::array({doc});
  if (items.empty()) {
    session.io.err << "No secrets found in project " << session.project << ".\n";
    return 0;
  }
  if (output == "name") {
    for (const auto& s : items)
      session.io.out << "secret/" << text_at(s, {"metadata", "name"}) << "\n";
    return 0;
  }
  auto now = std::chrono::system_clock::now();
  std::vector<std::vector<std::string>> rows = {{"NAME", "TYPE", "DATA", "KEYS", "AGE"}};
  for (const auto& s : items) {
    const json* keys = find_at(s, {"keys"});
    std::string list;
    for (size_t i = 0; keys && keys->is_array() && i < keys->size(); ++i) {
      list += (i ? "," : "") + (*keys)[i].get<std::string>();
    }
    rows.push_back({text_at(s, {"metadata", "name"}), "Opaque",
                    std::to_string(keys && keys->is_array() ? keys->size() : 0), list,
                    age_since(text_at(s, {"metadata", "creationTimestamp"}), now)});
  }
  session.io.out << format_table(rows);
  return 0;
}

int secret_delete_command(Session& session, const std::string& name) {
  int code = 1;
  if (!require_project(session, name, &code)) return code;
  HttpResponse response = session.client.request("DELETE", secret_path(session.project, name));
  if (response.status / 100 != 2) return session.fail(response, not_found(session.project, name));
  session.io.out << "secret/" << name << " deleted\n";
  return 0;
}

}  // namespace wok::cmd
