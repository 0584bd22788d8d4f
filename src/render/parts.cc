// Metadata, pod layout and storage shared by every mode.
#include "render/parts.h"

#include <stdexcept>

#include "api/validation.h"

namespace wok::render::detail {

std::string string_at(const json& object, std::string_view key, std::string_view fallback) {
  if (object.is_object()) {
    auto it = object.find(std::string(key));
    if (it != object.end() && it->is_string()) return it->get<std::string>();
  }
  return std::string(fallback);
}

const json& spec_of(const json& site) {
  static const json empty = json::object();
  if (!site.is_object()) return empty;
  auto it = site.find("spec");
  return it != site.end() && it->is_object() ? *it : empty;
}

int int_at(const json& object, std::string_view key, int fallback) {
  if (object.is_object()) {
    auto it = object.find(std::string(key));
    if (it != object.end() && it->is_number_integer()) return it->get<int>();
  }
  return fallback;
}

SiteNames site_names(const json& site, const json& project) {
  const json& md = site.is_object() ? site.value("metadata", json::object()) : json::object();
  std::string ns = string_at(md, "namespace");
  if (ns.empty() && project.is_object()) {
    ns = string_at(project.value("metadata", json::object()), "name");
  }
  return {string_at(md, "name"), ns};
}

json site_labels(const SiteNames& names, std::string_view component) {
  json labels = {{"app.kubernetes.io/managed-by", "wok"},
                 {"app.kubernetes.io/name", names.name},
                 {"wok.dev/site", names.name}};
  if (!component.empty()) labels["wok.dev/component"] = component;
  return labels;
}

json selector(const SiteNames& names, std::string_view component) {
  return {{"wok.dev/site", names.name}, {"wok.dev/component", component}};
}

json object_head(std::string_view api_version, std::string_view kind, std::string_view name,
                 std::string_view ns, const json& labels) {
  json md = {{"name", name}};
  if (!ns.empty()) md["namespace"] = ns;
  md["labels"] = labels;
  return {{"apiVersion", api_version}, {"kind", kind}, {"metadata", md}};
}

namespace {

const json& section(const json& site, const char* key) {
  static const json empty = json::object();
  const json& spec = spec_of(site);
  auto it = spec.find(key);
  return it != spec.end() && it->is_object() ? *it : empty;
}

std::string join_path(std::string base, std::string_view rel) {
  while (rel.starts_with("./")) rel.remove_prefix(2);
  while (rel.ends_with("/")) rel.remove_suffix(1);
  if (rel.empty() || rel == ".") return base;
  return base + "/" + std::string(rel);
}

json workspace_mount() { return {{"name", "workspace"}, {"mountPath", kWorkspace}}; }

}  // namespace

std::string site_dir(const json& site) {
  const json& source = section(site, "source");
  return join_path(kSourceDir, string_at(source.value("git", json::object()), "path"));
}

std::string resolved_commit(const json& site) {
  std::string commit = site.is_object() && site.contains("status") && site["status"].is_object()
                           ? string_at(site["status"], "commit")
                           : "";
  bool hex =
      commit.size() == 40 && commit.find_first_not_of("0123456789abcdef") == std::string::npos;
  return hex ? commit : "";
}

std::string served_dir(const json& site) {
  return join_path(site_dir(site), string_at(section(site, "build"), "output"));
}

// The ref the pods fetch: the commit the operator resolved the site's ref to
// (status.commit: a new one changes the pod template, so the pods roll), or
// the ref itself before it has (or for `wok render`).
std::string fetched_ref(const json& site, const json& git) {
  std::string commit = resolved_commit(site);
  return commit.empty() ? string_at(git, "ref", "main") : commit;
}

json init_containers(const json& site, const PlatformSettings& settings) {
  const json git = section(site, "source").value("git", json::object());
  json fetch = {{"name", "fetch"},
                {"image", settings.image},
                {"args",
                 {"fetch", "--url", string_at(git, "url"), "--ref", fetched_ref(site, git),
                  "--into", kSourceDir}},
                {"securityContext", container_security()},
                {"volumeMounts", {workspace_mount()}}};
  if (settings.allow_private_sources) fetch["args"].push_back("--allow-private-sources");
  json list = json::array({fetch});
  const json& build = section(site, "build");
  if (build.contains("command") && build["command"].is_array()) {
    json b = {{"name", "build"},
              {"image", settings.build_image},
              {"command", build["command"]},
              {"workingDir", site_dir(site)},
              {"securityContext", container_security()},
              {"volumeMounts", {workspace_mount(), {{"name", "tmp"}, {"mountPath", "/tmp"}}}}};
    // HOME must be writable for npm, hugo and friends; the root file system is not.
    json env = json::array({{{"name", "HOME"}, {"value", "/tmp"}}});
    if (build.contains("env") && build["env"].is_object()) {
      for (auto it = build["env"].begin(); it != build["env"].end(); ++it) {
        if (it->is_string()) env.push_back({{"name", it.key()}, {"value", *it}});
      }
    }
    b["env"] = env;
    list.push_back(b);
  }
  return list;
}

json pod_security(const PlatformSettings& settings) {
  json s = {{"runAsNonRoot", true}, {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  if (!settings.openshift_routes) {
    s["runAsUser"] = 10001;
    s["runAsGroup"] = 10001;
    s["fsGroup"] = 10001;
  }
  return s;
}

json container_security() {
  return {{"allowPrivilegeEscalation", false},
          {"readOnlyRootFilesystem", true},
          {"capabilities", {{"drop", {"ALL"}}}}};
}

json container_resources(const json& site) {
  const json& r = section(site, "resources");
  json limits = json::object();
  for (const char* key : {"cpu", "memory"}) {
    if (r.contains(key) && r[key].is_string()) limits[key] = r[key];
  }
  if (limits.empty()) return nullptr;
  return {{"limits", limits}, {"requests", limits}};
}

std::vector<json> storage_claims(const SiteNames& names, const json& site) {
  std::vector<json> out;
  const json& spec = spec_of(site);
  if (!spec.contains("storage") || !spec["storage"].is_array()) return out;
  for (const json& s : spec["storage"]) {
    json pvc = object_head("v1", "PersistentVolumeClaim", names.name + "-" + string_at(s, "name"),
                           names.ns, site_labels(names, ""));
    pvc["spec"] = {{"accessModes", {"ReadWriteOnce"}},
                   {"resources", {{"requests", {{"storage", string_at(s, "size", "1Gi")}}}}}};
    out.push_back(pvc);
  }
  return out;
}

void add_storage_volumes(const SiteNames& names, const json& site, json& volumes) {
  const json& spec = spec_of(site);
  if (!spec.contains("storage") || !spec["storage"].is_array()) return;
  for (const json& s : spec["storage"]) {
    volumes.push_back(
        {{"name", "storage-" + string_at(s, "name")},
         {"persistentVolumeClaim", {{"claimName", names.name + "-" + string_at(s, "name")}}}});
  }
}

void add_storage_mounts(const json& site, const SitePlan& plan, const ComponentPlan& c,
                        json& mounts) {
  for (const VolumePlan& v : plan.volumes)
    mounts.push_back(
        {{"name", "storage-" + v.name}, {"mountPath", volume_mount_path(c, v, site_dir(site))}});
}

json deployment(const SiteNames& names, std::string_view component, std::string_view name,
                int replicas, bool recreate, const json& pod_spec) {
  json d = object_head("apps/v1", "Deployment", name, names.ns, site_labels(names, component));
  d["spec"] = {{"replicas", replicas},
               {"revisionHistoryLimit", 3},
               {"selector", {{"matchLabels", selector(names, component)}}},
               {"template",
                {{"metadata", {{"labels", site_labels(names, component)}}}, {"spec", pod_spec}}}};
  // ReadWriteOnce volumes cannot be shared by the old and the new pod.
  if (recreate) d["spec"]["strategy"] = {{"type", "Recreate"}};
  return d;
}

void stamp_revision(std::vector<json>& objects, const SitePlan& plan) {
  if (plan.revision <= 0) return;
  // A new revision (a rollback too) changes every pod template: the pods roll.
  for (json& o : objects) {
    if (o.value("kind", "") != "Deployment") continue;
    o["spec"]["template"]["metadata"]["annotations"]["wok.dev/revision"] =
        std::to_string(plan.revision);
  }
}

std::string cluster_image(const std::string& ref, const std::string& field) {
  constexpr std::string_view kRegistry = "docker://";
  if (ref.starts_with(kRegistry)) {
    std::string rest = ref.substr(kRegistry.size());
    if (rest.empty() || rest.find_first_of(" \t\r\n") != std::string::npos) {
      throw std::invalid_argument(field + ": " + ref + " is not an image reference");
    }
    return rest;
  }
  // skopeo's transports that stand for something on the machine wok runs on.
  static const std::pair<std::string_view, std::string_view> kLocal[] = {
      {"oci:", "a local image layout"},
      {"oci-archive:", "a local image archive"},
      {"docker-archive:", "a local image archive"},
      {"dir:", "a local image directory"},
      {"containers-storage:", "in this machine's container storage"},
      {"docker-daemon:", "in this machine's Docker daemon"},
  };
  for (const auto& [prefix, what] : kLocal) {
    if (ref.starts_with(prefix)) {
      throw std::invalid_argument(field + ": " + ref + " is " + std::string(what) +
                                  ", which a cluster cannot pull (push it to a registry and give "
                                  "its reference)");
    }
  }
  return ref;
}

json http_probe(std::string_view path) {
  return {{"httpGet", {{"path", path.empty() ? "/" : path}, {"port", "http"}}},
          {"periodSeconds", 10}};
}

json tcp_probe() { return {{"tcpSocket", {{"port", "http"}}}, {"periodSeconds", 10}}; }

// As on `wok up`, a site may lower the platform's body limit, not raise it.
std::vector<std::string> serve_args(const json& site, const PlatformSettings& settings) {
  constexpr std::string_view kMaxBody = "--max-body=";
  std::string site_max = string_at(spec_of(site), "maxBodySize", "");
  std::vector<std::string> args;
  for (const std::string& a : settings.serve_args) {
    if (!site_max.empty() && a.rfind(kMaxBody, 0) == 0) {
      long long platform = api::parse_memory_bytes(a.substr(kMaxBody.size()));
      if (platform >= 0 && platform < api::parse_memory_bytes(site_max))
        site_max = a.substr(kMaxBody.size());
      continue;
    }
    args.push_back(a);
  }
  if (!site_max.empty()) args.push_back(std::string(kMaxBody) + site_max);
  if (api::serves_dot_files(spec_of(site))) args.push_back("--serve-dot-files");
  return args;
}

}  // namespace wok::render::detail
