// wok apply -f: create what is missing, replace what differs, leave the rest.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/validation.h"
#include "cli/commands.h"
#include "cli/manifest.h"

namespace wok::cli {
namespace {

using nlohmann::json;

enum class Outcome { kCreated, kConfigured, kUnchanged, kFailed, kAbort };

json field_or_empty(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return json::object();
  return *it;
}

// What the user controls: spec, labels, annotations. Absent and empty are the
// same, and so are an omitted field and the default the server stores for it.
bool same_content(const json& wanted, const json& live) {
  json wanted_spec = field_or_empty(wanted, "spec");
  if (wanted["kind"] == "Site") {
    json defaulted = {{"spec", wanted_spec}};
    api::default_site(defaulted);
    wanted_spec = defaulted["spec"];
  }
  if (wanted_spec != field_or_empty(live, "spec")) return false;
  json wanted_meta = field_or_empty(wanted, "metadata");
  json live_meta = field_or_empty(live, "metadata");
  return field_or_empty(wanted_meta, "labels") == field_or_empty(live_meta, "labels") &&
         field_or_empty(wanted_meta, "annotations") == field_or_empty(live_meta, "annotations");
}

// Connection failures and a refused token fail every request alike: stop there.
bool is_fatal(const HttpResponse& response) {
  return response.status == 0 || response.status == 401;
}

Outcome apply_object(Session& session, const json& object) {
  Kind kind = object["kind"] == "Project" ? Kind::kProject : Kind::kSite;
  const json& metadata = object["metadata"];
  std::string name = metadata["name"].get<std::string>();
  std::string project = kind == Kind::kSite ? metadata["namespace"].get<std::string>() : "";
  std::string what = describe_object(kind, project, name);
  auto failed = [&](const HttpResponse& response) {
    if (is_fatal(response)) {
      session.fail(response);
      return Outcome::kAbort;
    }
    session.fail(what + ": " + failure_message(response, session.client.server()));
    return Outcome::kFailed;
  };

  HttpResponse current = session.client.request("GET", object_path(kind, project, name));
  if (current.status == 404) {
    HttpResponse created = session.client.request("POST", collection_path(kind, project), &object);
    if (created.status / 100 != 2) return failed(created);
    session.io.out << qualified_name(kind, name) << " created\n";
    return Outcome::kCreated;
  }
  if (current.status != 200) return failed(current);
  json live;
  if (!parse_json_body(current.body, &live) || !live.is_object()) {
    session.fail(what + ": the server answered with something that is not a JSON object");
    return Outcome::kFailed;
  }
  if (same_content(object, live)) {
    session.io.out << qualified_name(kind, name) << " unchanged\n";
    return Outcome::kUnchanged;
  }
  json replacement = object;
  replacement["metadata"].erase("resourceVersion");  // the file wins: unconditional
  HttpResponse replaced =
      session.client.request("PUT", object_path(kind, project, name), &replacement);
  if (replaced.status / 100 != 2) return failed(replaced);
  session.io.out << qualified_name(kind, name) << " configured\n";
  return Outcome::kConfigured;
}

}  // namespace

int apply_command(Session& session, const std::vector<std::string>& inputs) {
  Manifest manifest;
  std::string error;
  if (!load_manifest(inputs, session.io.in, &manifest, &error) ||
      !check_manifest(&manifest, session.project, &error)) {
    return session.fail(error);
  }
  // Projects first: their Sites cannot exist without them.
  std::vector<const json*> order;
  for (const auto& object : manifest.objects) order.push_back(&object);
  std::stable_partition(order.begin(), order.end(),
                        [](const json* object) { return (*object)["kind"] == "Project"; });
  bool any_failed = false;
  for (const json* object : order) {
    Outcome outcome = apply_object(session, *object);
    if (outcome == Outcome::kAbort) return 1;
    any_failed = any_failed || outcome == Outcome::kFailed;
  }
  return any_failed ? 1 : 0;
}

}  // namespace wok::cli
