// render_site: the mode decides; every object gets the site's namespace and labels.
#include <stdexcept>

#include "api/validation.h"
#include "render/parts.h"
#include "render/unsupported.h"

namespace wok::render {

std::vector<nlohmann::json> render_site(const nlohmann::json& site, const nlohmann::json& project,
                                        const PlatformSettings& settings) {
  const Platform platform =
      settings.openshift_routes ? Platform::kOpenShift : Platform::kKubernetes;
  if (std::string why = describe(unsupported_on(platform, site)); !why.empty())
    throw std::invalid_argument(why);
  detail::SiteNames names = detail::site_names(site, project);
  std::string mode = "static";
  if (site.is_object() && site.contains("spec") && site["spec"].is_object()) {
    mode = detail::string_at(site["spec"], "mode", "static");
  }
  std::vector<nlohmann::json> objects = mode == "php" ? detail::render_php(names, site, settings)
                                        : mode == "app"
                                            ? detail::render_app(names, site, settings)
                                            : detail::render_static(names, site, settings);
  const SitePlan plan = plan_site(site);
  for (nlohmann::json& o : detail::render_database(names, plan, settings))
    objects.push_back(std::move(o));
  // Its schedule: its own spec.backup, else its project's default.
  const nlohmann::json policy = api::backup_policy(
      detail::spec_of(site),
      project.is_object() ? project.value("spec", nlohmann::json::object()) : nlohmann::json());
  for (nlohmann::json& o : detail::render_backup(names, site, plan, policy, settings))
    objects.push_back(std::move(o));
  detail::stamp_revision(objects, plan);
  return objects;
}

}  // namespace wok::render
