// wok apply -f: create what is missing, replace what differs, leave the rest.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "api/validation.h"
#include "cmd/commands.h"
#include "cmd/manifest.h"
#include "cmd/rollout.h"

namespace wok::cmd {
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

// `*generation`: the spec generation the server holds afterwards (0 if unknown).
int64_t generation_of(const std::string& body) {
  json object;
  if (!parse_json_body(body, &object) || !object.is_object()) return 0;
  auto it = object.find("metadata");
  if (it == object.end() || !it->is_object()) return 0;
  return it->value("generation", int64_t{0});
}

// A Secret is written whole (PUT creates or replaces): the server never
// shows its values back, so there is nothing to compare with.
Outcome apply_secret(Session& session, const json& object) {
  const std::string name = object["metadata"]["name"], project = object["metadata"]["namespace"];
  HttpResponse r = session.client.request(
      "PUT", std::string(kApiBase) + "/namespaces/" + project + "/secrets/" + name, &object);
  if (r.status / 100 != 2) {
    if (is_fatal(r)) {
      session.fail(r);
      return Outcome::kAbort;
    }
    session.fail("secret \"" + name + "\" (project " + project +
                 "): " + failure_message(r, session.client.server()));
    return Outcome::kFailed;
  }
  session.io.out << "secret/" << name << (r.status == 201 ? " created\n" : " configured\n");
  return r.status == 201 ? Outcome::kCreated : Outcome::kConfigured;
}

Outcome apply_object(Session& session, const json& object, int64_t* generation) {
  if (object["kind"] == "Secret") return apply_secret(session, object);
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
    *generation = generation_of(created.body);
    session.io.out << qualified_name(kind, name) << " created\n";
    return Outcome::kCreated;
  }
  if (current.status != 200) return failed(current);
  json live;
  if (!parse_json_body(current.body, &live) || !live.is_object()) {
    session.fail(what + ": the server answered with something that is not a JSON object");
    return Outcome::kFailed;
  }
  *generation = generation_of(current.body);
  if (same_content(object, live)) {
    session.io.out << qualified_name(kind, name) << " unchanged\n";
    return Outcome::kUnchanged;
  }
  json replacement = object;
  replacement["metadata"].erase("resourceVersion");  // the file wins: unconditional
  HttpResponse replaced =
      session.client.request("PUT", object_path(kind, project, name), &replacement);
  if (replaced.status / 100 != 2) return failed(replaced);
  *generation = generation_of(replaced.body);
  session.io.out << qualified_name(kind, name) << " configured\n";
  return Outcome::kConfigured;
}

}  // namespace

namespace {

int apply(Session& session, const std::vector<std::string>& inputs,
          std::optional<std::chrono::milliseconds> wait) {
  Manifest manifest;
  std::string error;
  if (!load_manifest(inputs, session.io.in, &manifest, &error) ||
      !check_manifest(&manifest, session.project, &error)) {
    return session.fail(error);
  }
  // Projects first: their Sites cannot exist without them; then Secrets,
  // which the Sites' new revisions read.
  std::vector<const json*> order;
  for (const auto& object : manifest.objects) order.push_back(&object);
  auto rank = [](const json* object) {
    return (*object)["kind"] == "Project" ? 0 : (*object)["kind"] == "Secret" ? 1 : 2;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const json* a, const json* b) { return rank(a) < rank(b); });
  bool any_failed = false;
  std::vector<RolloutTarget> sites;
  for (const json* object : order) {
    int64_t generation = 0;
    Outcome outcome = apply_object(session, *object, &generation);
    if (outcome == Outcome::kAbort) return 1;
    any_failed = any_failed || outcome == Outcome::kFailed;
    if (outcome != Outcome::kFailed && (*object)["kind"] == "Site") {
      const json& metadata = (*object)["metadata"];
      sites.push_back({metadata["namespace"], metadata["name"], generation, 0});
    }
  }
  if (any_failed) return 1;
  return wait && !sites.empty() ? wait_for_rollout(session, sites, *wait) : 0;
}

}  // namespace

int apply_command(Session& session, const std::vector<std::string>& inputs) {
  return apply(session, inputs, std::nullopt);
}

int apply_and_wait(Session& session, const std::vector<std::string>& inputs,
                   std::chrono::milliseconds timeout) {
  return apply(session, inputs, timeout);
}

}  // namespace wok::cmd
