#include "store/secrets.h"

#include <nlohmann/json.hpp>

#include "api/base64.h"

namespace wok::store {

using nlohmann::json;

namespace {

// What the seal authenticates besides the values: where they belong.
std::string context_of(const std::string& ns, const std::string& name) {
  return "wok.dev/Secret\n" + ns + "\n" + name;
}

}  // namespace

json public_view(const json& row) {
  json out = {{"apiVersion", "wok.dev/v1alpha1"},
              {"kind", "Secret"},
              {"metadata", row["metadata"]},
              {"type", "Opaque"}};
  out["keys"] = row.contains("spec") ? row["spec"].value("keys", json::array()) : json::array();
  return out;
}

namespace {

json sealed_row(SecretCipher& cipher, const std::string& ns, const std::string& name,
                const SecretData& data, const json& labels) {
  json values = json::object();
  json keys = json::array();
  for (const auto& [k, v] : data) {
    values[k] = api::base64_encode(v);
    keys.push_back(k);
  }
  json row = {
      {"apiVersion", "wok.dev/v1alpha1"},
      {"kind", "Secret"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec", {{"keys", keys}, {"sealedData", cipher.seal(values.dump(), context_of(ns, name))}}}};
  if (labels.is_object() && !labels.empty()) row["metadata"]["labels"] = labels;
  return row;
}

}  // namespace

Result SecretStore::put(const std::string& ns, const std::string& name, const SecretData& data,
                        const json& labels) {
  json row = sealed_row(*cipher_, ns, name, data, labels);
  Result r =
      store_.get("Secret", ns, name) ? store_.update("Secret", row) : store_.create("Secret", row);
  if (r.code == Code::kNotFound) r = store_.create("Secret", row);       // deleted meanwhile
  if (r.code == Code::kAlreadyExists) r = store_.update("Secret", row);  // created meanwhile
  if (r.ok()) r.object = std::make_shared<json>(public_view(*r.object));
  return r;
}

Result SecretStore::create(const std::string& ns, const std::string& name, const SecretData& data,
                           const json& labels) {
  Result r = store_.create("Secret", sealed_row(*cipher_, ns, name, data, labels));
  if (r.ok()) r.object = std::make_shared<json>(public_view(*r.object));
  return r;
}

std::optional<SecretData> SecretStore::read(const std::string& ns, const std::string& name,
                                            std::string* error) {
  auto row = store_.get("Secret", ns, name);
  if (!row) {
    *error = "secret \"" + name + "\" not found in project \"" + ns + "\"";
    return std::nullopt;
  }
  const std::string sealed = (*row)["spec"].value("sealedData", "");
  auto plain = cipher_->open(sealed, context_of(ns, name));
  json values = plain ? json::parse(*plain, nullptr, false) : json();
  if (!values.is_object()) {
    *error =
        "secret \"" + name + "\" of project \"" + ns +
        "\" cannot be decrypted with this data directory's secrets.key (was the key replaced?)";
    return std::nullopt;
  }
  SecretData out;
  for (auto it = values.begin(); it != values.end(); ++it) {
    auto v =
        it.value().is_string() ? api::base64_decode(it.value().get<std::string>()) : std::nullopt;
    if (!v) {
      *error = "secret \"" + name + "\" of project \"" + ns + "\" is damaged";
      return std::nullopt;
    }
    out[it.key()] = std::move(*v);
  }
  return out;
}

std::optional<json> SecretStore::describe(const std::string& ns, const std::string& name) {
  auto row = store_.get("Secret", ns, name);
  if (!row) return std::nullopt;
  return public_view(*row);
}

std::vector<json> SecretStore::list(const std::string& ns) {
  std::vector<json> out;
  for (const auto& row : store_.list("Secret", ns)) out.push_back(public_view(row));
  return out;
}

Result SecretStore::remove(const std::string& ns, const std::string& name) {
  Result r = store_.remove("Secret", ns, name);
  if (r.ok()) r.object = std::make_shared<json>(public_view(*r.object));
  return r;
}

}  // namespace wok::store
