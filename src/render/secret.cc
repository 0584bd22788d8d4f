// A wok Secret on Kubernetes: a native v1 Secret in the project's namespace
// (not a CRD), which the Deployments' envFrom secretRef reads.
#include "api/secret.h"

#include <nlohmann/json.hpp>

#include "api/base64.h"
#include "render/render.h"

namespace wok::render {

using nlohmann::json;

json render_secret(const json& secret) {
  json labels =
      secret["metadata"].contains("labels") ? secret["metadata"]["labels"] : json::object();
  labels["app.kubernetes.io/managed-by"] = "wok";
  json data = json::object();
  for (const auto& [key, value] : api::secret_data(secret)) data[key] = api::base64_encode(value);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata",
           {{"name", secret["metadata"]["name"]},
            {"namespace", secret["metadata"]["namespace"]},
            {"labels", labels}}},
          {"type", "Opaque"},
          {"data", data}};
}

}  // namespace wok::render
