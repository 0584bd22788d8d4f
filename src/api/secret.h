#pragma once
// The Secret kind: key -> value pairs of a project, given to its app
// components as environment variables (spec.app.components[].secrets).
// Shaped as Kubernetes' v1 Secret so the same file applies to a cluster:
//   apiVersion: wok.dev/v1alpha1 (or v1), kind: Secret,
//   metadata: {name, namespace, labels}, type: Opaque,
//   data: {KEY: base64}, stringData: {KEY: text} (stringData wins).
// It is not a CRD: on Kubernetes the render makes a native v1 Secret.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "api/schema.h"
#include "api/validation.h"

namespace wok::api {

const schema::Rule& secret_rule();

// Shape, name (a DNS label), keys ([-._a-zA-Z0-9]+), values (base64 in
// data; no NUL byte, which no environment variable can hold), at most 1 MiB
// of keys and values. Errors name the field and never quote a value.
std::vector<FieldError> validate_secret(const nlohmann::json& object);

// The values of a valid Secret object: data decoded, then stringData.
std::map<std::string, std::string> secret_data(const nlohmann::json& object);

bool is_secret_key(const std::string& key);
inline constexpr size_t kMaxSecretBytes = 1 << 20;

}  // namespace wok::api
