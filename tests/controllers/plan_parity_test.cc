// One plan, two platforms: every php and app Site the docs and the render
// cases show runs the same components, with the same env, health check,
// limits and routed component, on `wok up` (plan_workloads: the instances
// the runtime starts) and on Kubernetes (render_site: the Deployments).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/codec.h"
#include "api/validation.h"
#include "controllers/cron_jobs.h"
#include "controllers/secret_env.h"
#include "controllers/workloads.h"
#include "render/plan.h"
#include "render/render.h"

namespace wok::controllers {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Example {
  std::string where;
  json site;
};

// Sites of the render cases and of the docs' ```yaml blocks.
std::vector<Example> examples() {
  std::vector<Example> out;
  auto add = [&](const std::string& where, const std::string& text) {
    std::vector<json> docs;
    std::string error;
    if (!api::parse_documents(text, &docs, &error)) return;
    for (json& d : docs) {
      if (!d.is_object() || d.value("kind", "") != "Site") continue;
      std::string mode = d.value("spec", json::object()).value("mode", "static");
      if (mode != "php" && mode != "app") continue;
      if (!d["metadata"].contains("namespace")) d["metadata"]["namespace"] = "team-a";
      out.push_back({where + " " + d["metadata"].value("name", ""), d});
    }
  };
  fs::path root = WOK_SOURCE_DIR;
  for (const auto& e : fs::directory_iterator(root / "tests/render/cases"))
    add(e.path().string(), read(e.path()));
  for (const auto& e : fs::recursive_directory_iterator(root / "examples"))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml")
      add(e.path().string(), read(e.path()));
  for (const auto& e : fs::directory_iterator(root / "docs")) {
    if (e.path().extension() != ".md") continue;
    std::string text = read(e.path());
    for (size_t at = 0; (at = text.find("```yaml\n", at)) != std::string::npos;) {
      size_t end = text.find("```", at + 8);
      if (end == std::string::npos) break;
      add(e.path().filename().string(), text.substr(at + 8, end - at - 8));
      at = end + 3;
    }
  }
  return out;
}

const json* find_object(const std::vector<json>& objects, const std::string& kind,
                        const std::string& name) {
  for (const json& o : objects)
    if (o.value("kind", "") == kind && o["metadata"].value("name", "") == name) return &o;
  return nullptr;
}

// The env a container gets: its env entries over its ConfigMaps.
std::map<std::string, std::string> k8s_env(const json& container,
                                           const std::vector<json>& objects) {
  std::map<std::string, std::string> env;
  for (const json& from : container.value("envFrom", json::array())) {
    if (!from.contains("configMapRef")) continue;
    const json* cm = find_object(objects, "ConfigMap", from["configMapRef"]["name"]);
    if (cm) env.merge(cm->at("data").get<std::map<std::string, std::string>>());
  }
  for (const json& e : container.value("env", json::array()))
    if (e.contains("value")) env[e["name"]] = e["value"];
  return env;
}

// A container's env taken from single keys of secrets: name -> "secret/key".
std::map<std::string, std::string> k8s_secret_keys(const json& container) {
  std::map<std::string, std::string> out;
  for (const json& e : container.value("env", json::array()))
    if (e.contains("valueFrom"))
      out[e["name"]] = e["valueFrom"]["secretKeyRef"]["name"].get<std::string>() + "/" +
                       e["valueFrom"]["secretKeyRef"]["key"].get<std::string>();
  return out;
}

std::map<std::string, std::string> plan_secret_keys(const render::ComponentPlan& c) {
  std::map<std::string, std::string> out;
  for (const auto& e : c.secret_env) out[e.name] = e.secret + "/" + e.key;
  return out;
}

// spec.database: the server both platforms run, the same name, port and
// memory; the StatefulSet's volume of the spec's size.
void expect_same_database(const render::SitePlan& plan, const WorkloadPlan& embedded,
                          const std::vector<json>& objects) {
  // spec.services: each a StatefulSet and a Service of its host, the same
  // port and memory as the server wok up runs.
  ASSERT_EQ(embedded.servers.size(), plan.services.size() + (plan.database.enabled() ? 1 : 0));
  for (const auto& s : plan.services) {
    SCOPED_TRACE(s.name);
    const runtime::InstanceSpec* server = nullptr;
    for (const auto& i : embedded.instances)
      if (i.id.find("." + s.name + ".r0.") != std::string::npos) server = &i;
    ASSERT_NE(server, nullptr);
    const json* set = find_object(objects, "StatefulSet", s.host);
    const json* service = find_object(objects, "Service", s.host);
    ASSERT_NE(set, nullptr);
    ASSERT_NE(service, nullptr);
    EXPECT_EQ(service->at("spec")["ports"][0]["port"], embedded.network.services.at(s.name).port);
    EXPECT_EQ(embedded.network.services.at(s.name).names.back(), s.host);
    const json& k = set->at("spec")["template"]["spec"]["containers"][0];
    EXPECT_EQ(api::parse_memory_bytes(k["resources"]["limits"]["memory"].get<std::string>()),
              server->resources.memory_bytes);
  }
  if (!plan.database.enabled()) {
    EXPECT_EQ(embedded.database_id, "");
    return;
  }
  const runtime::InstanceSpec* server = nullptr;
  for (const auto& s : embedded.instances)
    if (s.id == embedded.database_id) server = &s;
  ASSERT_NE(server, nullptr);
  const json* set = find_object(objects, "StatefulSet", plan.database.host);
  const json* service = find_object(objects, "Service", plan.database.host);
  ASSERT_NE(set, nullptr);
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(embedded.network.services.at("db").names.back(), plan.database.host);
  const uint16_t port = embedded.servers.front().server.port;  // the database's
  EXPECT_EQ(service->at("spec")["ports"][0]["port"], port);
  EXPECT_EQ(embedded.network.services.at("db").port, port);
  const json& k = set->at("spec")["template"]["spec"]["containers"][0];
  EXPECT_EQ(api::parse_memory_bytes(k["resources"]["limits"]["memory"].get<std::string>()),
            server->resources.memory_bytes);
  EXPECT_EQ(set->at("spec")["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            plan.database.size);
}

TEST(PlanParity, EverySiteOfTheDocsRunsTheSameOnBothPlatforms) {
  auto all = examples();
  ASSERT_GE(all.size(), 4u) << "the docs and render cases show php and app sites";
  int compared = 0;
  for (const auto& [where, site] : all) {
    SCOPED_TRACE(where);
    const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
    const json& spec = site["spec"];
    json project = {{"metadata", {{"name", ns}}}, {"spec", {{"hosts", {"*.example.org"}}}}};
    std::vector<json> objects;
    try {
      objects = render::render_site(site, project, render::PlatformSettings{});
    } catch (const std::invalid_argument& e) {
      // What a cluster cannot run (an image on this machine) is refused by
      // name, never rendered into something else.
      EXPECT_NE(std::string(e.what()).find("spec."), std::string::npos) << e.what();
      continue;
    }
    WorkloadPlan embedded =
        plan_workloads(ns, name, "uid", spec, 1, "/srv/rev", "/srv/storage", 100000);
    ASSERT_EQ(embedded.error, "");
    render::SitePlan plan = render::plan_site(site);
    ++compared;
    if (plan.mode == "php") {
      const json* d = find_object(objects, "Deployment", name);
      ASSERT_NE(d, nullptr);
      const json& fpm = d->at("spec")["template"]["spec"]["containers"][0];
      const auto& r = embedded.instances.at(0).resources;
      json limits = fpm.value("resources", json::object()).value("limits", json::object());
      EXPECT_EQ(r.memory_bytes, limits.contains("memory")
                                    ? api::parse_memory_bytes(limits["memory"].get<std::string>())
                                    : 256ll << 20);
      EXPECT_EQ(r.cpu_millis, limits.contains("cpu")
                                  ? api::parse_cpu_millis(limits["cpu"].get<std::string>())
                                  : 0);
      // What php-fpm and the router in front of it are told (render::PhpPlan).
      const json& web = d->at("spec")["template"]["spec"]["containers"][1];
      auto args = web.at("args").get<std::vector<std::string>>();
      auto after = [&](const std::string& flag) {
        for (size_t i = 0; i + 1 < args.size(); ++i)
          if (args[i] == flag) return args[i + 1];
        return std::string("(no " + flag + ")");
      };
      EXPECT_EQ(after("--front-controller"), embedded.front_controller);
      EXPECT_EQ(after("--php-timeout"), std::to_string(embedded.php_timeout_ms / 1000) + "s");
      const std::string docroot =
          embedded.docroot.empty() || embedded.docroot == "." ? "" : "/" + embedded.docroot;
      EXPECT_TRUE(after("--root").ends_with(docroot)) << after("--root") << " " << docroot;
      const json* cm = find_object(objects, "ConfigMap", name + "-php");
      ASSERT_NE(cm, nullptr);
      const std::string k8s_conf = cm->at("data")["php-fpm.conf"];
      const std::string& up_conf = embedded.instances.at(0).files.at("php-fpm.conf");
      ASSERT_FALSE(render::php_admin_values(plan.php).empty());
      for (const auto& [key, value] : render::php_admin_values(plan.php)) {
        const std::string line = "php_admin_value[" + key + "] = \"" + value + "\"\n";
        EXPECT_NE(k8s_conf.find(line), std::string::npos) << line;
        EXPECT_NE(up_conf.find(line), std::string::npos) << line;
      }
      const std::string timeout =
          "request_terminate_timeout = " + std::to_string(plan.php.timeout_ms / 1000) + "s\n";
      EXPECT_NE(k8s_conf.find(timeout), std::string::npos) << k8s_conf;
      EXPECT_NE(up_conf.find(timeout), std::string::npos) << up_conf;
      EXPECT_EQ(embedded.max_body_bytes, plan.max_body_bytes);
      // Env (spec.database's), and the database itself.
      EXPECT_EQ(embedded.instances.at(0).env, k8s_env(fpm, objects));
      EXPECT_EQ(plan_secret_keys(plan.components.at(0)), k8s_secret_keys(fpm));
      expect_same_database(plan, embedded, objects);
      continue;
    }
    for (const auto& c : plan.components) {
      SCOPED_TRACE(c.name);
      std::vector<const runtime::InstanceSpec*> instances;
      for (const auto& s : embedded.instances)
        if (s.id.find("." + c.name + ".r1.") != std::string::npos) instances.push_back(&s);
      const json* d = find_object(objects, "Deployment", name + "-" + c.name);
      ASSERT_NE(d, nullptr);
      ASSERT_FALSE(instances.empty());
      const json& k = d->at("spec")["template"]["spec"]["containers"][0];
      // Replicas (unless an HPA owns them).
      if (d->at("spec").contains("replicas")) {
        EXPECT_EQ(d->at("spec")["replicas"].get<size_t>(), instances.size());
      }
      // Env (but for single keys of secrets, which add_secret_env resolves).
      EXPECT_EQ(instances[0]->env, k8s_env(k, objects));
      EXPECT_EQ(plan_secret_keys(c), k8s_secret_keys(k));
      // Health: the path both check, or a TCP connect on the port.
      if (c.port) {
        const json& probe = k.at("readinessProbe");
        if (instances[0]->health_path.empty()) {
          EXPECT_TRUE(probe.contains("tcpSocket")) << probe;
        } else {
          EXPECT_EQ(probe["httpGet"]["path"], instances[0]->health_path);
        }
        EXPECT_EQ(k["ports"][0]["containerPort"], instances[0]->port);
      } else {
        EXPECT_FALSE(k.contains("readinessProbe"));
      }
      // Limits: what the spec sets, both sides; memory's default is 256Mi on both
      // (the LimitRange wok-defaults on a cluster).
      json limits = k.value("resources", json::object()).value("limits", json::object());
      EXPECT_EQ(instances[0]->resources.memory_bytes,
                limits.contains("memory")
                    ? api::parse_memory_bytes(limits["memory"].get<std::string>())
                    : 256ll << 20);
      if (limits.contains("cpu")) {
        EXPECT_EQ(instances[0]->resources.cpu_millis,
                  api::parse_cpu_millis(limits["cpu"].get<std::string>()));
      }
      // Secret references: the same secrets, in the same order (the later
      // wins on both), and on `wok up` their keys reach the instances.
      std::vector<std::string> k8s_secrets;
      for (const json& from : k.value("envFrom", json::array()))
        if (from.contains("secretRef")) k8s_secrets.push_back(from["secretRef"]["name"]);
      EXPECT_EQ(c.secrets, k8s_secrets);
      if (!c.secrets.empty()) {
        WorkloadPlan with = embedded;
        SecretReader read = [](const std::string&, const std::string& secret, std::string*) {
          return std::optional<std::map<std::string, std::string>>(
              {{"KEY_OF_" + secret, "v"}, {"password", "a-generated-password"}});
        };
        ASSERT_EQ(add_secret_env(site, with, read), "");
        for (const auto& s : with.instances) {
          if (s.id.find("." + c.name + ".r1.") == std::string::npos) continue;
          for (const auto& secret : c.secrets)
            EXPECT_EQ(s.env.count("KEY_OF_" + secret), 1u) << s.id;
        }
      }
      // Autoscale bounds: the HPA's, and the plan `wok up`'s autoscaler follows.
      if (plan.autoscaled && plan.autoscale.component == c.name) {
        const json* hpa = find_object(objects, "HorizontalPodAutoscaler", name + "-" + c.name);
        ASSERT_NE(hpa, nullptr);
        EXPECT_EQ(hpa->at("spec")["minReplicas"], plan.autoscale.min_replicas);
        EXPECT_EQ(hpa->at("spec")["maxReplicas"], plan.autoscale.max_replicas);
        EXPECT_FALSE(d->at("spec").contains("replicas")) << "the HPA owns them";
      }
      // Storage: each volume in every instance, where the component sees
      // it (an image at "/" + path, a command under its source), its size
      // the PVC's request.
      for (const auto& v : plan.volumes) {
        SCOPED_TRACE(v.name);
        std::string k8s_path;
        for (const json& m : k.value("volumeMounts", json::array()))
          if (m.value("name", "") == "storage-" + v.name) k8s_path = m["mountPath"];
        for (const auto* s : instances) {
          bool mounted = false;
          for (const auto& m : s->volumes)
            if (m.host_path == "/srv/storage/" + v.name && !m.read_only) {
              mounted = true;
              EXPECT_EQ(m.container_path, c.image.empty() ? "/srv/app/" + v.path : "/" + v.path);
            }
          EXPECT_TRUE(mounted) << s->id;
        }
        EXPECT_EQ(k8s_path, c.image.empty() ? "/workspace/source/" + v.path : "/" + v.path);
        const json* pvc = find_object(objects, "PersistentVolumeClaim", name + "-" + v.name);
        ASSERT_NE(pvc, nullptr);
        EXPECT_EQ(pvc->at("spec")["resources"]["requests"]["storage"], v.size);
      }
      // The routed component: the hosts' Service on the cluster.
      bool routed_embedded = !embedded.routed.empty() && embedded.routed[0] == instances[0]->id;
      EXPECT_EQ(routed_embedded, c.routed);
      if (c.routed) {
        const json* ingress = find_object(objects, "Ingress", name);
        ASSERT_NE(ingress, nullptr);
        EXPECT_EQ(ingress->at("spec")["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
                  name + "-" + c.name);
      }
    }
    expect_same_database(plan, embedded, objects);
  }
  EXPECT_GE(compared, 4);
}

// Cron jobs come from the same plan on both sides: what a run is (argv,
// image, env, limits, volumes) and how it is scheduled (schedule,
// concurrency policy, history, time limit).
TEST(PlanParity, EveryJobOfTheDocsRunsTheSameOnBothPlatforms) {
  int compared = 0;
  for (const auto& [where, site] : examples()) {
    SCOPED_TRACE(where);
    const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
    json project = {{"metadata", {{"name", ns}}}, {"spec", {{"hosts", {"*.example.org"}}}}};
    std::vector<json> objects;
    try {
      objects = render::render_site(site, project, render::PlatformSettings{});
    } catch (const std::invalid_argument&) {
      continue;  // PlanParity.EverySiteOfTheDocsRunsTheSameOnBothPlatforms checks the refusal
    }
    render::SitePlan plan = render::plan_site(site);
    for (const auto& job : plan.jobs) {
      SCOPED_TRACE(job.job.name);
      json spec = site["spec"];
      for (json& c :
           spec["app"]["components"])  // as the cron controller: a 0-replica component too
        if (c["name"] == job.run.name) c["replicas"] = 1;
      WorkloadPlan embedded =
          plan_workloads(ns, name, "uid", spec, 1, "/srv/rev", "/srv/storage", 100000);
      std::string why;
      auto run = job_instance(embedded, job, "uid", 7, &why);
      ASSERT_TRUE(run) << why;
      const json* cron = find_object(objects, "CronJob", name + "-" + job.job.name);
      ASSERT_NE(cron, nullptr);
      const json& cs = cron->at("spec");
      EXPECT_EQ(cs["schedule"], job.job.schedule);
      EXPECT_EQ(cs["concurrencyPolicy"], job.job.concurrency_policy);
      EXPECT_EQ(cs["successfulJobsHistoryLimit"], job.job.successful_history);
      EXPECT_EQ(cs["failedJobsHistoryLimit"], job.job.failed_history);
      EXPECT_EQ(cs["jobTemplate"]["spec"]["activeDeadlineSeconds"], job.job.timeout_ms / 1000);
      const json& k = cs["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
      // Argv: the job's, else the component's (an image's entrypoint: none).
      std::vector<std::string> k8s_command = k.value("command", std::vector<std::string>{});
      EXPECT_EQ(run->command, k8s_command);
      EXPECT_EQ(run->env, k8s_env(k, objects));
      if (!job.run.image.empty()) {
        std::string image = job.run.image;
        if (image.starts_with("docker://")) image = image.substr(9);
        EXPECT_EQ(k["image"], image);
        EXPECT_EQ(run->image, job.run.image);
      }
      json limits = k.value("resources", json::object()).value("limits", json::object());
      EXPECT_EQ(run->resources.memory_bytes,
                limits.contains("memory")
                    ? api::parse_memory_bytes(limits["memory"].get<std::string>())
                    : 256ll << 20);
      EXPECT_EQ(run->port, 0);
      for (const auto& v : plan.volumes) {
        bool k8s = false, mine = false;
        for (const json& m : k.value("volumeMounts", json::array()))
          k8s = k8s || m["name"] == "storage-" + v.name;
        for (const auto& m : run->volumes) mine = mine || m.host_path == "/srv/storage/" + v.name;
        EXPECT_TRUE(k8s && mine) << v.name;
      }
      ++compared;
    }
  }
  EXPECT_GE(compared, 2) << "the render cases show jobs";
}

}  // namespace
}  // namespace wok::controllers
