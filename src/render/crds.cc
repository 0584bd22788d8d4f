// The CustomResourceDefinitions of Project and Site, their schemas generated
// from the validator's model (api/schema.h).
#include <cctype>
#include <nlohmann/json.hpp>

#include "api/schema.h"
#include "render/render.h"

namespace wok::render {
namespace {

using nlohmann::json;

json column(std::string_view name, std::string_view type, std::string_view path,
            std::string_view description) {
  json c = {{"name", name}, {"type", type}, {"jsonPath", path}};
  if (!description.empty()) c["description"] = description;
  return c;
}

json crd(std::string_view kind, std::string_view plural, bool namespaced,
         std::vector<std::string> short_names, const json& columns, const json& schema) {
  std::string singular(kind);
  for (char& c : singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  json version = {{"name", "v1alpha1"},
                  {"served", true},
                  {"storage", true},
                  {"subresources", {{"status", json::object()}}},
                  {"additionalPrinterColumns", columns},
                  {"schema", {{"openAPIV3Schema", schema}}}};
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata",
           {{"name", std::string(plural) + ".wok.dev"},
            {"labels",
             {{"app.kubernetes.io/managed-by", "wok"}, {"app.kubernetes.io/part-of", "wok"}}}}},
          {"spec",
           {{"group", "wok.dev"},
            {"scope", namespaced ? "Namespaced" : "Cluster"},
            {"names",
             {{"kind", kind},
              {"listKind", std::string(kind) + "List"},
              {"plural", plural},
              {"singular", singular},
              {"shortNames", short_names},
              {"categories", {"wok"}}}},
            {"versions", {version}}}}};
}

}  // namespace

std::vector<json> custom_resource_definitions() {
  const json ready = column("READY", "string", ".status.conditions[?(@.type==\"Ready\")].status",
                            "Whether a revision serves");
  const json age = column("AGE", "date", ".metadata.creationTimestamp", "");
  json project_columns = {
      column("HOSTS", "string", ".spec.hosts", "Host names the project's sites may claim"), age};
  json site_columns = {column("MODE", "string", ".spec.mode", "static, php or app"),
                       column("HOSTS", "string", ".spec.hosts", "Host names the site answers"),
                       ready,
                       column("REVISION", "integer", ".status.revision", "The live revision"), age};
  json site_schema = api::schema::openapi_schema(api::schema::site_rule());
  // The model says when spec.source is required in code (api::validate_site);
  // the API server says it with this rule: an app whose every component runs
  // an image, with no build, has nothing to fetch.
  site_schema["properties"]["spec"]["x-kubernetes-validations"] = json::array(
      {{{"rule",
         "has(self.source) || (self.mode == 'app' && !has(self.build) && has(self.app) && "
         "self.app.components.all(c, has(c.image)))"},
        {"message",
         "spec.source is required, except for an app whose every component runs an image (and "
         "which has no "
         "build)"}}});
  // "project" alone would collide with OpenShift's project.openshift.io on OKD;
  // the short names are unambiguous everywhere.
  return {crd("Project", "projects", false, {"wproj"}, project_columns,
              api::schema::openapi_schema(api::schema::project_rule())),
          crd("Site", "sites", true, {"wsite"}, site_columns, site_schema)};
}

}  // namespace wok::render
