#pragma once
// The render layer: pure functions from wok resources (plus the platform
// settings) to the Kubernetes objects they become. The operator applies
// them; `wok render` prints them for GitOps tools. No I/O here.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace wok::render {

struct PlatformSettings {
  std::string image = "wok:0.1.0";  // the wok image (router, fetch/build init containers)
  // Runs `build` commands and `app` components given as a command (the wok
  // image has no shell or toolchain).
  std::string build_image = "docker.io/library/debian:bookworm-slim";
  std::string php_image = "docker.io/library/php:8.2-fpm";  // php-fpm of the php mode
  std::string ingress_class = "nginx";  // networking.k8s.io/v1 IngressClass name
  // OpenShift/OKD: route.openshift.io/v1 Routes instead of Ingresses, and no
  // fixed uid in pods (the restricted SCC assigns one per namespace).
  bool openshift_routes = false;
  std::string ingress_namespace = "ingress-nginx";  // allowed by NetworkPolicies
  std::string operator_namespace = "wok-system";
  // Router limits given to every site pod's `wok serve` ("--max-body=8Mi",
  // "--header-timeout=10s"); a site's spec.maxBodySize may lower --max-body.
  std::vector<std::string> serve_args;
  // The fetch init container may reach sources on loopback, link-local and
  // private addresses (an in-cluster git server): `wok fetch --allow-private-sources`.
  bool allow_private_sources = false;
  // cert-manager issuer of spec.tls mode auto: its name ("" for none: an
  // Ingress's hosts then get the ingress controller's default certificate,
  // a Route's the OpenShift router's) and kind (ClusterIssuer or Issuer).
  std::string tls_issuer;
  std::string tls_issuer_kind = "ClusterIssuer";
  // spec.access.oidc: the login in front of the site runs oauth2-proxy (in
  // its reverse-proxy mode, between the Ingress or Route and the site).
  std::string oauth2_proxy_image = "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0";
  // spec.database: the operator that runs each engine's databases on this
  // cluster ("cloudnative-pg", "mariadb-operator"; "" = a StatefulSet of
  // the engine's official image), and the images.
  std::string postgresql_operator;
  std::string mariadb_operator;
  std::string mariadb_image = "docker.io/library/mariadb:10.11";
  std::string postgresql_image = "docker.io/library/postgres:15";
  std::string cnpg_postgresql_image = "ghcr.io/cloudnative-pg/postgresql:15";
  // PostgreSQL's other major versions this cluster runs, VERSION -> image
  // (a StatefulSet's; CloudNativePG's): the two above are the default
  // version's (api::database_engine). `--postgresql-image 13=IMAGE`.
  std::map<std::string, std::string> postgresql_images, cnpg_postgresql_images;
  // spec.services: their official images.
  std::string redis_image = "docker.io/library/redis:7.0";
  std::string rabbitmq_image = "docker.io/library/rabbitmq:3.10";
  // Backups (docs/data.md, "On Kubernetes"): a project's restic repository
  // is its claim kBackupClaim, which the operator makes when a site first
  // needs it: its size, access mode (ReadWriteMany when a project's sites
  // run on several nodes) and storage class ("" = the cluster's default).
  std::string backup_claim_size = "10Gi";
  std::string backup_access_mode = "ReadWriteOnce";
  std::string backup_storage_class;
  // Or an S3-compatible store (docs/data.md, "Backups on Kubernetes"): a
  // restic repository URL, {project} replaced by PROJECT.UID as on wok up
  // ("s3:https://s3.example.org/wok/{project}"), no claim made; each
  // project's credentials are the Secret `backup_credentials_secret` of the
  // operator's namespace ({project} replaced by the project's name), which
  // the operator copies with the URL into the project's kBackupStoreSecret.
  std::string backup_repository;
  std::string backup_credentials_secret;
};

// A project's backups on a cluster: the claim holding its restic
// repository, and the Secret (key "password") holding the repository's
// key, both made once by the operator and never pruned (they outlive the
// sites they back up, as on wok up).
// Their names have a dot, which no site's object has (a site's names are
// DNS labels joined by "-": a site "wok" with a volume "backups" makes the
// claim "wok-backups").
inline constexpr char kBackupClaim[] = "wok.backups";
inline constexpr char kBackupKeySecret[] = "wok.backup-key";
// With an S3 store: RESTIC_REPOSITORY and the store's AWS_* keys, the
// project's own (members can read Secrets of their namespace).
inline constexpr char kBackupStoreSecret[] = "wok.backup-store";

// Namespace, ResourceQuota, LimitRange, RoleBindings, NetworkPolicies.
// The image that runs PostgreSQL `version` with these settings (the
// StatefulSet's, or CloudNativePG's when it runs PostgreSQL); "" when none.
std::string postgresql_image_for(const PlatformSettings& settings, const std::string& version);
// The PostgreSQL versions these settings run, oldest first (offered to
// validation: api::offer_database_versions).
std::vector<std::string> postgresql_versions(const PlatformSettings& settings);
// `--postgresql-image` (cnpg: `--cnpg-postgresql-image`): "IMAGE" (the
// default version's) or "VERSION=IMAGE". "" or why not.
std::string set_postgresql_image(PlatformSettings* settings, const std::string& value, bool cnpg);
// Each of `images` (--postgresql-image) and `cnpg_images`, in order: ""
// or the first one's error.
std::string set_postgresql_images(PlatformSettings* settings,
                                  const std::vector<std::string>& images,
                                  const std::vector<std::string>& cnpg_images);

std::vector<nlohmann::json> render_project(const nlohmann::json& project,
                                           const PlatformSettings& settings);

// Deployment(s), Service(s), Ingress or Route, PVCs, HPA, CronJobs, ConfigMaps:
// everything labelled app.kubernetes.io/managed-by: wok and wok.dev/site: NAME.
// Throws std::invalid_argument, naming the field, for what a cluster cannot
// run (an image on this machine: "spec.app.components[0].image: oci:/x:y is
// a local image layout, which a cluster cannot pull").
std::vector<nlohmann::json> render_site(const nlohmann::json& site, const nlohmann::json& project,
                                        const PlatformSettings& settings);

// The Job `job_name` that restores backup `backup` (an id, or "latest": the
// site's newest) of `site` in place (docs/data.md, "Backups on Kubernetes"):
// a backup of what it replaces first (reason pre-restore, with the
// database's dump), then the backup's files into the site's volumes and its
// dump through the engine's client into its database. The operator makes it
// once the site's pods have stopped.
// With `from` (spec.cloneFrom's site of the same project): that site's
// backup into this new site, nothing backed up first (it holds nothing yet).
// With `from_project` too (another project's site): the backup comes
// through a one-time repository the Job's first init container `receive`
// serves (render/transfer.h carries it there), and the restore reads it.
nlohmann::json render_restore_job(const nlohmann::json& site, const nlohmann::json& project,
                                  const PlatformSettings& settings, const std::string& job_name,
                                  const std::string& backup, const std::string& from = "",
                                  const std::string& from_project = "");

// The Job `job_name` that lists `site`'s backups in its project's repository
// (`wok backup-job list`, its log one JSON line): `wok backup list
// --kubeconfig` reads it. `whole_project`: every site's of the project
// (deleted ones' too), the site only carrying the request.
nlohmann::json render_list_job(const nlohmann::json& site, const nlohmann::json& project,
                               const PlatformSettings& settings, const std::string& job_name,
                               bool whole_project = false);

// The Job `job_name` that shows backup `backup` of site `source` (any uid:
// a deleted one's) with its revision's spec (`wok backup-job show`, its log
// one JSON line {"backup": {...}}), asked through `site`, a site of the
// project: `wok backup restore --to NEW --kubeconfig` of a deleted site.
nlohmann::json render_show_job(const nlohmann::json& site, const PlatformSettings& settings,
                               const std::string& job_name, const std::string& source,
                               const std::string& backup);

// The Job `job_name` that deletes backup `backup` (an id) of site `source`
// (any uid) and prunes the repository (`wok backup-job forget`, its log one
// JSON line {"deleted": {...}}), asked through `site`: `wok backup delete
// --kubeconfig`, once the operator found the admission webhook's grant
// (a project admin asked; kube/clone_grant.h).
nlohmann::json render_forget_job(const nlohmann::json& site, const PlatformSettings& settings,
                                 const std::string& job_name, const std::string& source,
                                 const std::string& backup);

// The CronJob kBackupSweep of project `ns` (made once the project has a
// backup repository): every day, `wok backup-job sweep` forgets the backups
// of its deleted sites whose retention is over, as wok up's sweep does.
// `live`: the project's sites now, name -> uid (their backups are kept).
inline constexpr char kBackupSweep[] = "wok.backup-sweep";
nlohmann::json render_backup_sweep(const std::string& ns,
                                   const std::map<std::string, std::string>& live,
                                   const PlatformSettings& settings);

// A Job of a CronJob's template, named `name`, made now (a backup by hand,
// a sweep when a site is deleted); `annotations` on it.
nlohmann::json job_of_cron_job(const nlohmann::json& cron_job, const std::string& name,
                               const nlohmann::json& annotations);

// 8 hex digits of `text`'s FNV-1a hash (stable across builds).
std::string hash8(const std::string& text);
// `name` when it has at most `max` characters, else its first ones, "-"
// and hash8(name): the objects a long site name makes (its backup CronJob,
// 52 at most; its Jobs, 63) still get a name of their own.
std::string bounded_name(const std::string& name, size_t max);

// A Secret (api/secret.h, valid, metadata.namespace set) as a native v1
// Secret of its project's namespace: stringData folded into base64 data.
nlohmann::json render_secret(const nlohmann::json& secret);

// The CustomResourceDefinitions of wok's kinds (Project, Site), with
// structural OpenAPI v3 schemas generated from the validator's model.
std::vector<nlohmann::json> custom_resource_definitions();

}  // namespace wok::render
