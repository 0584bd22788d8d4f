#include "server/secrets_api.h"

#include "api/base64.h"
#include "api/secret.h"
#include "store/secrets.h"

namespace wok::server {

using nlohmann::json;

namespace {

SecretAnswer failure(int code, std::string message, std::string reason = "",
                     std::vector<api::FieldError> causes = {}) {
  SecretAnswer a;
  a.code = code;
  a.message = std::move(message);
  a.reason = std::move(reason);
  a.causes = std::move(causes);
  return a;
}

SecretAnswer success(int code, json body) {
  SecretAnswer a;
  a.code = code;
  a.body = std::move(body);
  return a;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

SecretAnswer from_store(const store::Result& r, const SecretRequest& q, int ok_code) {
  if (r.code == store::Code::kNotFound) {
    return failure(404, "secret " + quoted(q.name) + " not found in project " + quoted(q.ns));
  }
  if (!r.ok()) return failure(500, "secret " + quoted(q.name) + " was not written: " + r.message);
  return success(ok_code, *r.object);
}

// PUT (the whole secret) and PATCH (keys merged in; a key set to null in
// data or stringData is removed): the body is validated as a Secret object.
SecretAnswer write(store::SecretStore& secrets, const SecretRequest& q) {
  json obj = json::parse(q.body, nullptr, false);
  if (obj.is_discarded() || !obj.is_object())
    return failure(400, "the request body is not a JSON object");
  std::vector<std::string> removed;
  if (q.method == "PATCH") {
    for (const char* field : {"data", "stringData"}) {
      if (!obj.contains(field) || !obj[field].is_object()) continue;
      for (auto it = obj[field].begin(); it != obj[field].end();) {
        if (it.value().is_null()) {
          removed.push_back(it.key());
          it = obj[field].erase(it);
        } else {
          ++it;
        }
      }
    }
    if (!obj.contains("metadata")) obj["metadata"] = {{"name", q.name}};
  }
  auto errors = api::validate_secret(obj);
  if (errors.empty()) {
    const json& md = obj["metadata"];
    if (md["name"] != q.name)
      errors.push_back({"metadata.name", "does not match the path (" + quoted(q.name) + ")"});
    if (md.contains("namespace") && md["namespace"] != q.ns) {
      errors.push_back(
          {"metadata.namespace", "does not match the project of the path (" + quoted(q.ns) + ")"});
    }
  }
  if (!errors.empty()) {
    return failure(422, "Secret " + quoted(q.name) + " is invalid: " + api::join_errors(errors),
                   "Invalid", errors);
  }
  auto data = api::secret_data(obj);
  bool exists = secrets.describe(q.ns, q.name).has_value();
  if (q.method == "PATCH" && exists) {
    std::string error;
    auto current = secrets.read(q.ns, q.name, &error);
    if (!current) return failure(500, error);
    for (auto& [k, v] : data) (*current)[k] = std::move(v);
    for (const auto& k : removed) current->erase(k);
    data = std::move(*current);
    size_t bytes = 0;
    for (const auto& [k, v] : data) bytes += k.size() + v.size();
    if (bytes > api::kMaxSecretBytes) {
      return failure(422,
                     "Secret " + quoted(q.name) + " would hold more than 1 MiB of keys and values",
                     "Invalid");
    }
  }
  if (!exists && secrets.list(q.ns).size() >= kMaxSecretsPerProject) {
    return failure(422,
                   "project " + quoted(q.ns) + " already has " +
                       std::to_string(kMaxSecretsPerProject) +
                       " secrets, the most one project may hold",
                   "Invalid");
  }
  json labels = obj["metadata"].contains("labels") ? obj["metadata"]["labels"] : json();
  return from_store(secrets.put(q.ns, q.name, data, labels), q, exists ? 200 : 201);
}

SecretAnswer read_one(store::SecretStore& secrets, const SecretRequest& q) {
  auto view = secrets.describe(q.ns, q.name);
  if (!view)
    return failure(404, "secret " + quoted(q.name) + " not found in project " + quoted(q.ns));
  if (q.query != "showValues=true") return success(200, *view);
  if (q.access < Access::kEdit) {
    return failure(403, "user " + quoted(q.user) + " may see the names and keys of project " +
                            quoted(q.ns) + "'s secrets, never their values (viewer)");
  }
  std::string error;
  auto data = secrets.read(q.ns, q.name, &error);
  if (!data) return failure(500, error);
  json values = json::object();
  for (const auto& [k, v] : *data) values[k] = api::base64_encode(v);
  (*view)["data"] = values;
  return success(200, *view);
}

}  // namespace

SecretAnswer handle_secret_request(store::SecretStore& secrets, const SecretRequest& q) {
  const std::string& m = q.method;
  if (q.name.empty()) {
    if (m != "GET")
      return failure(405, m + " is not allowed on secrets; PUT .../secrets/NAME writes one");
    json items = json::array();
    for (auto& s : secrets.list(q.ns)) items.push_back(std::move(s));
    return success(200,
                   {{"apiVersion", api::kApiVersion}, {"kind", "SecretList"}, {"items", items}});
  }
  if (m == "GET") return read_one(secrets, q);
  if (q.access < Access::kEdit) {
    return failure(403, "user " + quoted(q.user) + " may only read project " + quoted(q.ns));
  }
  if (m == "PUT" || m == "PATCH") return write(secrets, q);
  if (m == "DELETE") return from_store(secrets.remove(q.ns, q.name), q, 200);
  return failure(405, m + " is not allowed on a secret");
}

}  // namespace wok::server
