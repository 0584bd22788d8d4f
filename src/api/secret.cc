#include "api/secret.h"

#include <nlohmann/json.hpp>

#include "api/base64.h"

namespace wok::api {

using nlohmann::json;

const schema::Rule& secret_rule() {
  using namespace schema;
  static const Rule rule =
      object({{"apiVersion", str()},
              {"kind", str()},
              {"metadata", object({{"name", str()},
                                   {"namespace", str()},
                                   {"labels", string_map()},
                                   {"annotations", string_map()},
                                   {"uid", str()},
                                   {"resourceVersion", str()},
                                   {"generation", integer()},
                                   {"creationTimestamp", str()}},
                                  {"name"})},
              {"type", one_of({"Opaque"}, "Always Opaque: key -> value pairs.")},
              {"data", string_map("Values, base64-encoded (as Kubernetes).")},
              {"stringData",
               string_map("Values as plain text; a key here wins over the same key in data.")},
              {"keys", array(str(), "Written by wok: the key names (values are never shown).")}},
             {"metadata"},
             "Key -> value pairs of a project, given to app components as environment variables.");
  return rule;
}

bool is_secret_key(const std::string& key) {
  if (key.empty() || key.size() > 253 || key == "." || key == "..") return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::vector<FieldError> validate_secret(const json& object) {
  std::vector<FieldError> out;
  if (!object.is_object()) return {{"", "must be an object"}};
  schema::check(object, secret_rule(), "", out);
  if (!out.empty()) return out;
  const std::string kind = object.value("kind", "Secret");
  if (kind != "Secret") out.push_back({"kind", "\"" + kind + "\" is not Secret"});
  const std::string version = object.value("apiVersion", std::string(kApiVersion));
  if (version != kApiVersion && version != "v1") {
    out.push_back(
        {"apiVersion", "\"" + version + "\" is not " + std::string(kApiVersion) + " or v1"});
  }
  const std::string name = object["metadata"]["name"];
  if (!is_dns_label(name))
    out.push_back({"metadata.name", "\"" + name + "\" is not a valid name (a DNS label)"});
  size_t bytes = 0;
  for (const char* field : {"data", "stringData"}) {
    if (!object.contains(field) || object[field].is_null()) continue;
    for (auto it = object[field].begin(); it != object[field].end(); ++it) {
      std::string path = std::string(field) + "." + it.key();
      if (!is_secret_key(it.key())) {
        out.push_back({std::string(field),
                       "\"" + it.key() + "\" is not a valid key ([-._a-zA-Z0-9]+, at most 253)"});
        continue;
      }
      std::string text = it.value();
      auto value =
          std::string(field) == "data" ? base64_decode(text) : std::optional<std::string>(text);
      if (!value) {
        out.push_back({path, "is not base64 (use stringData for plain text)"});
        continue;
      }
      if (value->find('\0') != std::string::npos) {
        out.push_back({path, "holds a NUL byte, which no environment variable can hold"});
      }
      bytes += it.key().size() + value->size();
    }
  }
  if (bytes > kMaxSecretBytes) {
    out.push_back(
        {"data", "holds " + std::to_string(bytes) + " bytes of keys and values; at most 1 MiB"});
  }
  return out;
}

std::map<std::string, std::string> secret_data(const json& object) {
  std::map<std::string, std::string> out;
  if (object.contains("data") && object["data"].is_object()) {
    for (auto it = object["data"].begin(); it != object["data"].end(); ++it) {
      if (auto v = base64_decode(it.value().get<std::string>())) out[it.key()] = *v;
    }
  }
  if (object.contains("stringData") && object["stringData"].is_object()) {
    for (auto it = object["stringData"].begin(); it != object["stringData"].end(); ++it) {
      out[it.key()] = it.value().get<std::string>();
    }
  }
  return out;
}

}  // namespace wok::api
