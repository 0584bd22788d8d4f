// `wok render` and `wok crds`: the Kubernetes objects wok's resources
// become, printed for GitOps tools (Argo CD, Flux, kustomize). Offline: no
// server, no token.
#include "render/render.h"

#include <CLI/CLI.hpp>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "api/codec.h"
#include "api/schema.h"
#include "api/secret.h"
#include "api/validation.h"
#include "cmd/commands.h"
#include "cmd/manifest.h"
#include "cmd/router_flags.h"

namespace wok::cmd {
namespace {

using nlohmann::json;

struct RenderOptions {
  std::vector<std::string> files;
  std::string project_file;
  std::string output = "yaml";
  render::PlatformSettings settings;
  RouterLimitFlags serve_limits;  // as `wok operator --serve-...`
  // As `wok operator --postgresql-image`, `--cnpg-postgresql-image`.
  std::vector<std::string> postgresql_images, cnpg_postgresql_images;
};

void print(Io& io, const std::vector<json>& objects, const std::string& output) {
  if (output == "json") {
    io.out << json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", objects}}.dump(2) << '\n';
    return;
  }
  for (const json& o : objects) io.out << "---\n" << api::to_yaml(o);
}

// Structure, names and mode of a Site to render. The php and app modes are
// checked for shape only: the validator still refuses them until they run.
std::string site_problems(const json& site) {
  std::vector<api::FieldError> errors;
  api::schema::check(site, api::schema::site_rule(), "", errors, true);
  if (errors.empty()) {
    std::string mode = site["spec"]["mode"].get<std::string>();
    if (mode == "static") {
      errors = api::validate_site(site);
    } else if (mode != "php" && mode != "app") {
      errors.push_back({"spec.mode", "\"" + mode + "\" is not a mode (static, php, app)"});
    } else {
      for (const char* key : {"name", "namespace"}) {
        std::string value = site["metadata"].value(key, "");
        if (!api::is_dns_label(value)) {
          errors.push_back(
              {std::string("metadata.") + key, "\"" + value + "\" is not a valid name"});
        }
      }
    }
  }
  return api::join_errors(errors);
}

bool load_project_file(const std::string& path, json* project, std::string* error) {
  Manifest m;
  std::stringstream none;
  if (!load_manifest({path}, none, &m, error)) return false;
  if (m.objects.size() != 1 || m.objects[0].value("kind", "") != "Project") {
    *error = path + ": must hold exactly one Project";
    return false;
  }
  auto problems = api::validate_project(m.objects[0]);
  if (!problems.empty()) {
    *error = path + ": " + api::join_errors(problems);
    return false;
  }
  *project = m.objects[0];
  return true;
}

// The Project a Site renders with: from the input, from --project-file, or
// a minimal one whose patterns are the Site's own hosts.
json project_for(const json& site, const std::vector<json>& projects, const json& from_file) {
  std::string ns = site["metadata"].value("namespace", "");
  for (const json& p : projects) {
    if (p["metadata"].value("name", "") == ns) return p;
  }
  if (!from_file.is_null()) return from_file;
  return {{"apiVersion", api::kApiVersion},
          {"kind", "Project"},
          {"metadata", {{"name", ns}}},
          {"spec", {{"hosts", site["spec"].value("hosts", json::array())}}}};
}

int render_command(Io& io, RenderOptions& options, const std::string& project) {
  auto fail = [&io](const std::string& message) {
    io.err << "error: " << message << "\n";
    return 1;
  };
  std::string limits_error;
  if (!serve_limit_args(options.serve_limits, &options.settings.serve_args, &limits_error)) {
    io.err << "error: " << limits_error << "\n";
    return 2;
  }
  if (std::string err = render::set_postgresql_images(&options.settings, options.postgresql_images,
                                                      options.cnpg_postgresql_images);
      !err.empty()) {
    io.err << "error: " << err << "\n";
    return 2;
  }
  // The versions a site may ask for: those the operator would run.
  api::offer_database_versions("postgresql", render::postgresql_versions(options.settings));
  json from_file;
  std::string error;
  if (!options.project_file.empty() &&
      !load_project_file(options.project_file, &from_file, &error)) {
    return fail(error);
  }
  std::string default_ns = project;
  if (default_ns.empty() && !from_file.is_null()) default_ns = from_file["metadata"]["name"];
  Manifest manifest;
  if (!load_manifest(options.files, io.in, &manifest, &error)) return fail(error);
  std::vector<json> projects, sites, secrets;
  for (size_t i = 0; i < manifest.objects.size(); ++i) {
    json& o = manifest.objects[i];
    std::string kind = o.is_object() ? o.value("kind", "") : "";
    std::string where = origin_text(manifest, i);
    if (kind == "Project") {
      auto problems = api::validate_project(o);
      if (!problems.empty()) return fail(where + ": " + api::join_errors(problems));
      projects.push_back(o);
    } else if (kind == "Site") {
      if (o.contains("metadata") && o["metadata"].is_object() &&
          !o["metadata"].contains("namespace")) {
        if (default_ns.empty()) {
          return fail(where + ": the site has no metadata.namespace: give -n PROJECT");
        }
        o["metadata"]["namespace"] = default_ns;
      }
      if (std::string problems = site_problems(o); !problems.empty()) {
        return fail(where + ": " + problems);
      }
      api::default_site(o);
      sites.push_back(o);
    } else if (kind == "Secret") {
      if (auto problems = api::validate_secret(o); !problems.empty()) {
        return fail(where + ": " + api::join_errors(problems));
      }
      if (!o["metadata"].contains("namespace")) {
        if (default_ns.empty())
          return fail(where + ": the secret has no metadata.namespace: give -n PROJECT");
        o["metadata"]["namespace"] = default_ns;
      }
      secrets.push_back(o);
    } else {
      return fail(where + ": kind must be Project, Site or Secret, not \"" + kind + "\"");
    }
  }
  if (projects.empty() && sites.empty() && secrets.empty())
    return fail("no Project, Site or Secret in the input");
  std::vector<json> out;
  for (const json& p : projects) {
    for (json& o : render::render_project(p, options.settings)) out.push_back(std::move(o));
  }
  for (const json& s : secrets) out.push_back(render::render_secret(s));
  for (const json& s : sites) {
    try {  // a site a cluster cannot run (an image on this machine), naming the field
      for (json& o :
           render::render_site(s, project_for(s, projects, from_file), options.settings)) {
        out.push_back(std::move(o));
      }
    } catch (const std::invalid_argument& e) {
      return fail("site " + s["metadata"].value("name", "") + ": " + e.what());
    }
  }
  print(io, out, options.output);
  return 0;
}

}  // namespace

void add_render_commands(CLI::App& app, const std::string& project, LocalAction& action) {
  auto options = std::make_shared<RenderOptions>();
  auto* render = app.add_subcommand(
      "render", "Print the Kubernetes objects projects and sites become (offline, for GitOps)");
  render
      ->add_option("-f,--filename", options->files,
                   "a file, a directory of *.yaml/*.yml/*.json, or - for stdin")
      ->required();
  render->add_option(
      "--project-file", options->project_file,
      "the Project the sites belong to (default: one in the input, or a minimal one)");
  render
      ->add_option("--ingress-class", options->settings.ingress_class, "IngressClass of Ingresses")
      ->capture_default_str();
  render->add_option("--tls-issuer", options->settings.tls_issuer,
                     "cert-manager issuer of sites with spec.tls mode auto");
  render
      ->add_option("--tls-issuer-kind", options->settings.tls_issuer_kind,
                   "ClusterIssuer or Issuer")
      ->check(CLI::IsMember({"ClusterIssuer", "Issuer"}))
      ->capture_default_str();
  render
      ->add_option("--oauth2-proxy-image", options->settings.oauth2_proxy_image,
                   "oauth2-proxy image of sites with spec.access.oidc")
      ->capture_default_str();
  render
      ->add_option("--postgresql-operator", options->settings.postgresql_operator,
                   "runs spec.database postgresql: cloudnative-pg (default: a StatefulSet)")
      ->check(CLI::IsMember({"", "cloudnative-pg"}));
  render
      ->add_option("--mariadb-operator", options->settings.mariadb_operator,
                   "runs spec.database mariadb: mariadb-operator (default: a StatefulSet)")
      ->check(CLI::IsMember({"", "mariadb-operator"}));
  render
      ->add_option("--mariadb-image", options->settings.mariadb_image,
                   "image of spec.database mariadb")
      ->capture_default_str();
  render->add_option("--postgresql-image", options->postgresql_images,
                     "image of spec.database postgresql (StatefulSet; default " +
                         options->settings.postgresql_image +
                         "); VERSION=IMAGE adds another major version (repeatable)");
  render->add_option("--cnpg-postgresql-image", options->cnpg_postgresql_images,
                     "image of spec.database postgresql under CloudNativePG (default " +
                         options->settings.cnpg_postgresql_image +
                         "); VERSION=IMAGE adds another major version (repeatable)");
  render->add_option("--redis-image", options->settings.redis_image, "image of spec.services redis")
      ->capture_default_str();
  render
      ->add_option("--rabbitmq-image", options->settings.rabbitmq_image,
                   "image of spec.services rabbitmq")
      ->capture_default_str();
  render->add_flag("--openshift", options->settings.openshift_routes,
                   "OpenShift/OKD: Routes instead of Ingresses, uids from the SCC");
  render->add_option("--image", options->settings.image, "the wok image")->capture_default_str();
  render->add_flag(
      "--allow-private-sources", options->settings.allow_private_sources,
      "sites' fetch init containers may reach loopback, link-local and private addresses");
  render
      ->add_option("--ingress-namespace", options->settings.ingress_namespace,
                   "namespace of the ingress controller, allowed by NetworkPolicies")
      ->capture_default_str();
  add_router_limit_flags(*render, options->serve_limits, "serve-",
                         "Router limits of sites' pods (wok serve)");
  render->add_option("-o,--output", options->output, "yaml (a --- stream) or json (a v1 List)")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->capture_default_str();
  render->callback([options, &project, &action] {
    action = [options, &project](Io& io) { return render_command(io, *options, project); };
  });

  auto* crds = app.add_subcommand("crds", "Print the CustomResourceDefinitions of wok's kinds");
  auto output = std::make_shared<std::string>("yaml");
  crds->add_option("-o,--output", *output, "yaml or json")->check(CLI::IsMember({"yaml", "json"}));
  crds->callback([output, &action] {
    action = [output](Io& io) {
      print(io, render::custom_resource_definitions(), *output);
      return 0;
    };
  });
}

}  // namespace wok::cmd
