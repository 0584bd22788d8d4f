// Site `app`: a Deployment per component, a Service per component with a
// port, the site's hosts routed to one of them, an HPA, CronJobs, PVCs and a
// ConfigMap of env per component.
#include "api/jobs.h"
#include "api/validation.h"
#include "render/parts.h"
#include "render/plan.h"

namespace wok::render::detail {
namespace {

const json& app_section(const json& site) {
  static const json empty = json::object();
  if (!site.is_object() || !site.contains("spec") || !site["spec"].is_object()) return empty;
  auto it = site["spec"].find("app");
  return it != site["spec"].end() && it->is_object() ? *it : empty;
}

std::vector<json> components_of(const json& app) {
  std::vector<json> out;
  if (app.contains("components") && app["components"].is_array()) {
    for (const json& c : app["components"]) {
      if (c.is_object() && !string_at(c, "name").empty()) out.push_back(c);
    }
  }
  return out;
}

// The component the hosts reach (api::routed_component): its name, or "".
std::string routed_component(const json& app) {
  if (!app.contains("components")) return {};
  int i = api::routed_component(app["components"]);
  return i < 0 ? std::string() : string_at(app["components"][static_cast<size_t>(i)], "name");
}

// The image of component `c` as a cluster pulls it; a refusal names
// spec.app.components[i].image.
std::string component_image(const json& site, const json& c) {
  std::string field = "spec.app.components";
  const json& app = app_section(site);
  if (app.contains("components") && app["components"].is_array()) {
    const json& all = app["components"];
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].is_object() && string_at(all[i], "name") == string_at(c, "name")) {
        field += "[" + std::to_string(i) + "]";
        break;
      }
    }
  }
  return cluster_image(string_at(c, "image"), field + ".image");
}

bool has_env(const json& c) {
  return c.contains("env") && c["env"].is_object() && !c["env"].empty();
}

// The container of a component (its plan: env, port, health, as on `wok
// up`); `command` overrides its argv (CronJobs).
json container(const SiteNames& names, const json& site, const SitePlan& plan, const json& c,
               const json& command, const PlatformSettings& settings) {
  std::string comp = string_at(c, "name");
  static const ComponentPlan none;
  const ComponentPlan* p = find_component(plan, comp);
  if (!p) p = &none;
  json k = {{"name", comp}};
  bool from_source = string_at(c, "image").empty();
  k["image"] = from_source ? settings.build_image : component_image(site, c);
  if (!command.is_null())
    k["command"] = command;
  else if (from_source && c.contains("command"))
    k["command"] = c["command"];
  // The spec's env comes from the component's ConfigMap; the plan's own
  // (PORT, WOK_PROJECT, WOK_SITE, WOK_COMPONENT) is written here.
  json env = plan_env(*p, has_env(c) ? c["env"] : json::object());
  if (p->port) {
    k["ports"] = {{{"name", "http"}, {"containerPort", p->port}}};
    if (command.is_null()) {
      // Ready as on `wok up`: the health path answers, or the port accepts.
      k["readinessProbe"] = p->health_path.empty() ? tcp_probe() : http_probe(p->health_path);
      if (!p->health_path.empty()) k["livenessProbe"] = http_probe(p->health_path);
    }
  }
  if (!env.empty()) k["env"] = env;
  // Of envFrom's sources the last wins: the spec's env (its ConfigMap) over
  // the secrets, as on `wok up`; env (PORT, WOK_*) over both.
  json from = json::array();
  if (c.contains("secrets") && c["secrets"].is_array()) {
    for (const json& s : c["secrets"]) {
      if (s.is_string()) from.push_back({{"secretRef", {{"name", s}}}});
    }
  }
  if (has_env(c)) from.push_back({{"configMapRef", {{"name", names.name + "-" + comp + "-env"}}}});
  if (!from.empty()) k["envFrom"] = from;
  if (json r = container_resources(site); !r.is_null()) k["resources"] = r;
  k["securityContext"] = container_security();
  json mounts = json::array({{{"name", "tmp"}, {"mountPath", "/tmp"}}});
  if (from_source) {
    mounts.push_back({{"name", "workspace"}, {"mountPath", kWorkspace}});
    k["workingDir"] = site_dir(site);
  }
  add_storage_mounts(site, plan, *p, mounts);
  k["volumeMounts"] = mounts;
  return k;
}

json pod_spec(const SiteNames& names, const json& site, const SitePlan& plan, const json& c,
              const json& command, const PlatformSettings& settings) {
  json volumes = json::array({{{"name", "tmp"}, {"emptyDir", json::object()}}});
  json pod = {{"securityContext", pod_security(settings)}, {"automountServiceAccountToken", false}};
  if (string_at(c, "image").empty()) {
    volumes.push_back({{"name", "workspace"}, {"emptyDir", json::object()}});
    pod["initContainers"] = init_containers(site, settings);
  }
  add_storage_volumes(names, site, volumes);
  pod["containers"] = {container(names, site, plan, c, command, settings)};
  pod["volumes"] = volumes;
  return pod;
}

// The plan's autoscale (render/plan.h), as `wok up` follows it. Requests
// per second are a Pods metric, wok_requests_per_second, which the cluster's
// metrics adapter must serve (docs/kubernetes.md).
json hpa(const SiteNames& names, const AutoscalePlan& autoscale) {
  std::string target = names.name + "-" + autoscale.component;
  json h = object_head("autoscaling/v2", "HorizontalPodAutoscaler", target, names.ns,
                       site_labels(names, autoscale.component));
  json metrics = json::array();
  if (autoscale.target_cpu_percent > 0) {
    metrics.push_back(
        {{"type", "Resource"},
         {"resource",
          {{"name", "cpu"},
           {"target",
            {{"type", "Utilization"}, {"averageUtilization", autoscale.target_cpu_percent}}}}}});
  }
  if (autoscale.target_requests_per_second > 0) {
    metrics.push_back(
        {{"type", "Pods"},
         {"pods",
          {{"metric", {{"name", "wok_requests_per_second"}}},
           {"target",
            {{"type", "AverageValue"},
             {"averageValue", std::to_string(autoscale.target_requests_per_second)}}}}}});
  }
  h["spec"] = {
      {"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", target}}},
      {"minReplicas", autoscale.min_replicas},
      {"maxReplicas", autoscale.max_replicas},
      {"metrics", metrics}};
  return h;
}

// A job as on `wok up` (controllers/cron_jobs.h): one run, no retry, killed
// at its timeout, the same concurrency policy and history.
json cron_job(const SiteNames& names, const json& site, const SitePlan& plan,
              const JobPlan& planned, const json& c, const PlatformSettings& settings) {
  const api::JobSpec& job = planned.job;
  std::string comp = planned.run.name;
  json command = job.command.empty() ? json(nullptr) : json(planned.run.command);
  json pod = pod_spec(names, site, plan, c, command, settings);
  pod["restartPolicy"] = "Never";
  json labels = site_labels(names, comp);
  labels["wok.dev/job"] = job.name;
  json j = object_head("batch/v1", "CronJob", names.name + "-" + job.name, names.ns, labels);
  // suspend written out: a restore suspends it (kube/site_backups.h), and
  // applying what is rendered must resume it.
  j["spec"] = {{"schedule", job.schedule},
               {"suspend", false},
               {"timeZone", "Etc/UTC"},
               {"concurrencyPolicy", job.concurrency_policy},
               {"successfulJobsHistoryLimit", job.successful_history},
               {"failedJobsHistoryLimit", job.failed_history},
               {"jobTemplate",
                {{"spec",
                  {{"backoffLimit", 0},
                   {"activeDeadlineSeconds", job.timeout_ms / 1000},
                   {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod}}}}}}}};
  if (job.starting_deadline_ms > 0)
    j["spec"]["startingDeadlineSeconds"] = job.starting_deadline_ms / 1000;
  return j;
}

}  // namespace

std::vector<json> render_app(const SiteNames& names, const json& site,
                             const PlatformSettings& settings) {
  const json& app = app_section(site);
  std::vector<json> components = components_of(app);
  std::vector<json> claims = storage_claims(names, site);
  std::vector<json> out;
  for (const json& c : components) {
    if (!has_env(c)) continue;
    std::string comp = string_at(c, "name");
    json cm = object_head("v1", "ConfigMap", names.name + "-" + comp + "-env", names.ns,
                          site_labels(names, comp));
    cm["data"] = c["env"];
    out.push_back(cm);
  }
  out.insert(out.end(), claims.begin(), claims.end());
  std::string routed = routed_component(app);
  const SitePlan plan = plan_site(site);
  std::string scaled = plan.autoscaled ? plan.autoscale.component : "";
  for (const json& c : components) {
    std::string comp = string_at(c, "name");
    json d = deployment(names, comp, names.name + "-" + comp, int_at(c, "replicas", 1),
                        !claims.empty(), pod_spec(names, site, plan, c, nullptr, settings));
    // The HPA owns replicas; applying ours would fight it on every reconcile.
    if (comp == scaled) d["spec"].erase("replicas");
    out.push_back(d);
  }
  for (const json& c : components) {
    if (c.contains("port")) {
      std::string comp = string_at(c, "name");
      out.push_back(service(names, comp, names.name + "-" + comp));
    }
  }
  if (!scaled.empty()) out.push_back(hpa(names, plan.autoscale));
  if (!components.empty()) {
    for (const JobPlan& job : plan.jobs) {
      const json* c = &components.front();
      for (const json& candidate : components) {
        if (string_at(candidate, "name") == job.run.name) c = &candidate;
      }
      out.push_back(cron_job(names, site, plan, job, *c, settings));
    }
  }
  if (!routed.empty()) {
    for (json& e : exposure(names, site, names.name + "-" + routed, settings)) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace wok::render::detail
