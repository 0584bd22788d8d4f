// Site `static`: the wok image serves the fetched (and built) files.
#include "render/parts.h"

namespace wok::render::detail {

std::vector<json> render_static(const SiteNames& names, const json& site,
                                const PlatformSettings& settings) {
  json mounts =
      json::array({{{"name", "workspace"}, {"mountPath", kWorkspace}, {"readOnly", true}}});
  json args = {"serve", "--root", served_dir(site), "--listen", "0.0.0.0:8080"};
  for (const std::string& a : serve_args(site, settings)) args.push_back(a);
  json web = {{"name", "web"},
              {"image", settings.image},
              {"args", args},
              {"ports", {{{"name", "http"}, {"containerPort", kHttpPort}}}},
              {"readinessProbe", http_probe("/")},
              {"securityContext", container_security()},
              {"volumeMounts", mounts}};
  if (json r = container_resources(site); !r.is_null()) web["resources"] = r;
  json pod = {{"securityContext", pod_security(settings)},
              {"automountServiceAccountToken", false},
              {"initContainers", init_containers(site, settings)},
              {"containers", {web}},
              {"volumes",
               {{{"name", "workspace"}, {"emptyDir", json::object()}},
                {{"name", "tmp"}, {"emptyDir", json::object()}}}}};
  std::vector<json> out;
  out.push_back(deployment(names, "web", names.name, 1, false, pod));
  out.push_back(service(names, "web", names.name));
  for (json& e : exposure(names, site, names.name, settings)) out.push_back(std::move(e));
  return out;
}

}  // namespace wok::render::detail
