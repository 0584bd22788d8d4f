#pragma once
// Pieces shared by the per-mode renderers: metadata and labels, the pod
// layout every mode shares (a workspace volume filled by a fetch init
// container, optional build), volumes for `storage`, and exposure (Service,
// Ingress or Routes). Inputs are taken as given: a missing field gets its
// documented default, never an exception.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "render/plan.h"
#include "render/render.h"

namespace wok::render::detail {

using nlohmann::json;

inline constexpr char kWorkspace[] = "/workspace";         // the emptyDir every pod shares
inline constexpr char kSourceDir[] = "/workspace/source";  // the fetched repository
inline constexpr int kHttpPort = 8080;                     // the web container's port

// The names a site's objects are made from.
struct SiteNames {
  std::string name;  // metadata.name
  std::string ns;    // metadata.namespace, or the project's name
};
SiteNames site_names(const json& site, const json& project);

// app.kubernetes.io/managed-by: wok, app.kubernetes.io/name, wok.dev/site and,
// when `component` is not empty, wok.dev/component.
json site_labels(const SiteNames& names, std::string_view component);
// What a Deployment or Service selects: wok.dev/site and wok.dev/component.
json selector(const SiteNames& names, std::string_view component);

// {apiVersion, kind, metadata: {name, namespace (if any), labels}}.
json object_head(std::string_view api_version, std::string_view kind, std::string_view name,
                 std::string_view ns, const json& labels);

// The directory inside kSourceDir the site lives in (spec.source.git.path).
std::string site_dir(const json& site);
// The directory the web container serves: the build output, or site_dir.
std::string served_dir(const json& site);

// The commit the operator resolved the site's ref to (status.commit, 40
// hex digits), or "" before it has (or for `wok render`).
std::string resolved_commit(const json& site);

// Init containers: fetch the source (the wok image), then build when
// spec.build is set (settings.build_image).
json init_containers(const json& site, const PlatformSettings& settings);

// A RabbitMQ service's management API (its plugin enabled by the render):
// what a backup reads the server through, reachable from the site's pods.
inline constexpr uint16_t kRabbitMqManagementPort = 15672;

// Pod securityContext: non-root; a fixed uid except on OpenShift.
json pod_security(const PlatformSettings& settings);
// Container securityContext: no privilege, read-only root, no capabilities.
json container_security();

// spec.resources -> {limits, requests} (requests = limits), or null.
json container_resources(const json& site);

// spec.storage: one PVC per entry ("SITE-NAME"), and the volumes/mounts
// that put them at their paths inside the source.
std::vector<json> storage_claims(const SiteNames& names, const json& site);
void add_storage_volumes(const SiteNames& names, const json& site, json& volumes);
// The plan's volumes where component `c` sees them (render/plan.h:
// volume_mount_path, the source being site_dir), as on `wok up`.
void add_storage_mounts(const json& site, const SitePlan& plan, const ComponentPlan& c,
                        json& mounts);

// A Deployment of one pod template.
// wok.dev/revision = plan.revision (when there is one) in every
// Deployment's pod template, as wok up labels every instance.
void stamp_revision(std::vector<json>& objects, const SitePlan& plan);

json deployment(const SiteNames& names, std::string_view component, std::string_view name,
                int replicas, bool recreate, const json& pod_spec);
// A ClusterIP Service: port 80 -> the pod's "http" port.
json service(const SiteNames& names, std::string_view component, std::string_view name);
// An Ingress, or one Route per host on OpenShift, for spec.hosts -> service.
std::vector<json> exposure(const SiteNames& names, const json& site, std::string_view service,
                           const PlatformSettings& settings);
// An httpGet probe on the "http" port.
json http_probe(std::string_view path);
// A tcpSocket probe on the "http" port: something accepts connections.
json tcp_probe();
// The router flags for the site's `wok serve`: the platform's limits, with
// the smaller of the site's spec.maxBodySize and the platform's --max-body,
// and --serve-dot-files when the site sets spec.serveDotFiles.
std::vector<std::string> serve_args(const json& site, const PlatformSettings& settings);

// The image a cluster pulls for `ref`, a Site's image as `wok up` takes it
// (skopeo's transports): "docker://" dropped (the rest is the registry
// reference), a plain reference kept. What names something on this machine
// (oci:, oci-archive:, dir:, docker-archive:, containers-storage:,
// docker-daemon:) throws std::invalid_argument naming `field`.
std::string cluster_image(const std::string& ref, const std::string& field);

std::string string_at(const json& object, std::string_view key, std::string_view fallback = {});
// site["spec"], or an empty object.
const json& spec_of(const json& site);
int int_at(const json& object, std::string_view key, int fallback);

// spec.database (render/database.cc): the server, its Service SITE-db and
// the NetworkPolicy that lets in the site's pods only; none without one.
// The site's backup CronJob "SITE-backup" (render/backup.cc), or none; its
// schedule and retention `policy` (api::backup_policy: the site's
// spec.backup or its project's; null: suspended).
std::vector<json> render_backup(const SiteNames& names, const json& site, const SitePlan& plan,
                                const json& policy, const PlatformSettings& settings);

std::vector<json> render_database(const SiteNames& names, const SitePlan& plan,
                                  const PlatformSettings& settings);
// A container's env from its plan: the secrets' keys first (DB_PASSWORD),
// then the plan's env (which may name them: $(DB_PASSWORD)) but for what
// `spec_env` (the component's ConfigMap) already gives.
json plan_env(const ComponentPlan& c, const json& spec_env);

// The modes.
std::vector<json> render_static(const SiteNames& names, const json& site,
                                const PlatformSettings& settings);
std::vector<json> render_php(const SiteNames& names, const json& site,
                             const PlatformSettings& settings);
std::vector<json> render_app(const SiteNames& names, const json& site,
                             const PlatformSettings& settings);

}  // namespace wok::render::detail
