// Properties of the render layer that hold for any input: labels, names,
// tolerance of partial input, and the CRDs sharing the validator's model.
#include "render/render.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "api/schema.h"
#include "api/validation.h"

namespace {

using nlohmann::json;
using wok::render::PlatformSettings;

json static_site() {
  return json::parse(R"({"apiVersion":"wok.dev/v1alpha1","kind":"Site",
    "metadata":{"name":"www","namespace":"team-a"},
    "spec":{"mode":"static","hosts":["www.team-a.example.org","*.team-a.example.org"],
            "source":{"git":{"url":"https://example.org/www.git"}}}})");
}

const json* find(const std::vector<json>& objects, const std::string& kind,
                 const std::string& name) {
  for (const json& o : objects) {
    if (o["kind"] == kind && o["metadata"]["name"] == name) return &o;
  }
  return nullptr;
}

TEST(RenderSite, EveryObjectIsLabelledAndNamespaced) {
  for (const char* mode : {"static", "php", "app"}) {
    json site = static_site();
    site["spec"]["mode"] = mode;
    site["spec"]["app"] = {{"components", {{{"name", "web"}, {"image", "x:1"}, {"port", 80}}}}};
    auto objects = wok::render::render_site(site, json(), PlatformSettings{});
    ASSERT_FALSE(objects.empty()) << mode;
    for (const json& o : objects) {
      EXPECT_EQ(o["metadata"]["labels"]["app.kubernetes.io/managed-by"], "wok") << o.dump();
      EXPECT_EQ(o["metadata"]["labels"]["wok.dev/site"], "www") << o.dump();
      EXPECT_EQ(o["metadata"]["namespace"], "team-a") << o.dump();
    }
  }
}

TEST(RenderSite, NamespaceComesFromTheProjectWhenTheSiteHasNone) {
  json site = static_site();
  site["metadata"].erase("namespace");
  json project = {{"metadata", {{"name", "team-z"}}}};
  for (const json& o : wok::render::render_site(site, project, PlatformSettings{})) {
    EXPECT_EQ(o["metadata"]["namespace"], "team-z");
  }
}

TEST(RenderSite, IngressOrRoutesPerPlatform) {
  PlatformSettings settings;
  settings.ingress_class = "traefik";
  auto objects = wok::render::render_site(static_site(), json(), settings);
  const json* ingress = find(objects, "Ingress", "www");
  ASSERT_NE(ingress, nullptr);
  EXPECT_EQ(ingress->at("spec")["ingressClassName"], "traefik");
  EXPECT_EQ(ingress->at("spec")["rules"].size(), 2u);

  settings.openshift_routes = true;
  objects = wok::render::render_site(static_site(), json(), settings);
  EXPECT_EQ(find(objects, "Ingress", "www"), nullptr);
  const json* first = find(objects, "Route", "www");
  const json* wildcard = find(objects, "Route", "www-2");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(wildcard, nullptr);
  EXPECT_EQ(first->at("spec")["host"], "www.team-a.example.org");
  EXPECT_EQ(wildcard->at("spec")["host"], "wildcard.team-a.example.org");
  EXPECT_EQ(wildcard->at("spec")["wildcardPolicy"], "Subdomain");
  // OpenShift's restricted SCC picks the uid.
  const json* d = find(objects, "Deployment", "www");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->at("spec")["template"]["spec"]["securityContext"].contains("runAsUser"));
}

// spec balance of the routed component becomes the OpenShift router's
// balance annotation on every Route of the site; unset, the router's default.
TEST(RenderSite, RoutedComponentsBalanceReachesTheRoutes) {
  PlatformSettings settings;
  settings.openshift_routes = true;
  json site = static_site();
  site["spec"]["mode"] = "app";
  site["spec"]["app"] = {
      {"components",
       {{{"name", "worker"}, {"image", "w:1"}, {"balance", "round-robin"}},
        {{"name", "web"}, {"image", "x:1"}, {"port", 80}, {"balance", "least-connections"}}}}};
  auto objects = wok::render::render_site(site, json(), settings);
  for (const char* name : {"www", "www-2"}) {
    const json* r = find(objects, "Route", name);
    ASSERT_NE(r, nullptr) << name;
    EXPECT_EQ(r->at("metadata")["annotations"]["haproxy.router.openshift.io/balance"], "leastconn")
        << name;
  }
  site["spec"]["app"]["components"][1]["balance"] = "round-robin";
  objects = wok::render::render_site(site, json(), settings);
  EXPECT_EQ(find(objects, "Route", "www")
                ->at("metadata")["annotations"]["haproxy.router.openshift.io/balance"],
            "roundrobin");
  site["spec"]["app"]["components"][1].erase("balance");
  objects = wok::render::render_site(site, json(), settings);
  EXPECT_FALSE(find(objects, "Route", "www")->at("metadata").contains("annotations"));
}

// The revision the plan belongs to (status.revision, what the operator
// deploys) is in every pod template, so a new one rolls the pods; none
// without one (wok render of a new Site).
TEST(RenderSite, ThePlansRevisionIsInEveryPodTemplate) {
  json site = static_site();
  site["spec"]["mode"] = "app";
  site["spec"]["app"] = {{"components",
                          {{{"name", "web"}, {"image", "x:1"}, {"port", 80}},
                           {{"name", "worker"}, {"image", "w:1"}}}}};
  site["status"] = {{"revision", 7}};
  int deployments = 0;
  for (const json& o : wok::render::render_site(site, json(), PlatformSettings{})) {
    if (o["kind"] != "Deployment") continue;
    ++deployments;
    EXPECT_EQ(o["spec"]["template"]["metadata"]["annotations"]["wok.dev/revision"], "7")
        << o.dump();
  }
  EXPECT_EQ(deployments, 2);
  site.erase("status");
  for (const json& o : wok::render::render_site(site, json(), PlatformSettings{})) {
    if (o["kind"] == "Deployment") {
      EXPECT_FALSE(o["spec"]["template"]["metadata"].contains("annotations"));
    }
  }
}

// spec.access reaches the edge of each platform: ingress-nginx's source
// ranges, the OpenShift router's allow list; a deny list OpenShift has not
// is refused by field, never dropped.
TEST(RenderSite, AccessListsReachTheIngressOrTheRoutes) {
  json site = static_site();
  site["spec"]["access"] = {{"ipAllow", {"10.0.0.0/8", "2001:db8::/32"}},
                            {"ipDeny", {"10.6.0.0/16"}}};
  auto objects = wok::render::render_site(site, json(), PlatformSettings{});
  const json& annotations = find(objects, "Ingress", "www")->at("metadata")["annotations"];
  EXPECT_EQ(annotations["nginx.ingress.kubernetes.io/whitelist-source-range"],
            "10.0.0.0/8,2001:db8::/32");
  EXPECT_EQ(annotations["nginx.ingress.kubernetes.io/denylist-source-range"], "10.6.0.0/16");
  PlatformSettings openshift;
  openshift.openshift_routes = true;
  try {
    wok::render::render_site(site, json(), openshift);
    ADD_FAILURE() << "an OpenShift deny list was rendered";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("spec.access.ipDeny: OpenShift Routes have no deny list"),
              std::string::npos)
        << e.what();
  }
  site["spec"]["access"].erase("ipDeny");
  objects = wok::render::render_site(site, json(), openshift);
  for (const char* name : {"www", "www-2"}) {
    EXPECT_EQ(find(objects, "Route", name)
                  ->at("metadata")["annotations"]["haproxy.router.openshift.io/ip_whitelist"],
              "10.0.0.0/8 2001:db8::/32")
        << name;
  }
  site["spec"].erase("access");
  objects = wok::render::render_site(site, json(), PlatformSettings{});
  const json& left = find(objects, "Ingress", "www")->at("metadata")["annotations"];
  EXPECT_FALSE(left.contains("nginx.ingress.kubernetes.io/whitelist-source-range"));
  EXPECT_FALSE(left.contains("nginx.ingress.kubernetes.io/denylist-source-range"));
}

// spec.access.basicAuth on a cluster: ingress-nginx's basic auth from the
// same secret, a second Ingress for the exempt paths; refused on OpenShift.
TEST(RenderSite, BasicAuthReachesIngressNginxAndExemptPathsGetTheirOwnIngress) {
  json site = json::parse(R"({
    "apiVersion": "wok.dev/v1alpha1", "kind": "Site",
    "metadata": {"name": "www", "namespace": "team"},
    "spec": {"mode": "static", "hosts": ["www.team.example"],
             "source": {"git": {"url": "https://git.example/x.git"}},
             "access": {"basicAuth": {"secretName": "www-users", "realm": "Team"},
                        "exempt": ["/.well-known/", "/healthz"]}}})");
  auto objects = wok::render::render_site(site, json(), PlatformSettings{});
  const json* main = find(objects, "Ingress", "www");
  ASSERT_NE(main, nullptr);
  const json& a = main->at("metadata")["annotations"];
  EXPECT_EQ(a["nginx.ingress.kubernetes.io/auth-type"], "basic");
  EXPECT_EQ(a["nginx.ingress.kubernetes.io/auth-secret"], "www-users");
  EXPECT_EQ(a["nginx.ingress.kubernetes.io/auth-realm"], "Team");
  const json* exempt = find(objects, "Ingress", "www-exempt");
  ASSERT_NE(exempt, nullptr);
  EXPECT_FALSE(
      exempt->at("metadata")["annotations"].contains("nginx.ingress.kubernetes.io/auth-type"));
  const json& paths = exempt->at("spec")["rules"][0]["http"]["paths"];
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0]["path"], "/.well-known");
  EXPECT_EQ(paths[1]["path"], "/healthz");
  site["spec"]["access"].erase("exempt");
  objects = wok::render::render_site(site, json(), PlatformSettings{});
  EXPECT_EQ(find(objects, "Ingress", "www-exempt"), nullptr);
  PlatformSettings openshift;
  openshift.openshift_routes = true;
  try {
    wok::render::render_site(site, json(), openshift);
    ADD_FAILURE() << "basic auth was rendered for OpenShift";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("spec.access.basicAuth: OpenShift Routes cannot ask"),
              std::string::npos)
        << e.what();
  }
}

// spec.tls on a cluster: the Ingress's tls with the project's secret or the
// issuer's, cert-manager's annotation, the redirect said to ingress-nginx;
// edge-terminated Routes with the HSTS header; what cannot be is refused.
TEST(RenderSite, TlsReachesTheIngressOrTheRoutes) {
  json site = json::parse(R"({
    "apiVersion": "wok.dev/v1alpha1", "kind": "Site",
    "metadata": {"name": "www", "namespace": "team"},
    "spec": {"mode": "static", "hosts": ["www.team.example", "*.team.example"],
             "source": {"git": {"url": "https://git.example/x.git"}}}})");
  // No spec.tls: mode auto; no issuer: the controller's default certificate.
  auto objects = wok::render::render_site(site, json(), PlatformSettings{});
  const json* ingress = find(objects, "Ingress", "www");
  ASSERT_NE(ingress, nullptr);
  EXPECT_EQ(ingress->at("spec")["tls"],
            json::parse(R"([{"hosts": ["www.team.example", "*.team.example"]}])"));
  EXPECT_EQ(ingress->at("metadata")["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"],
            "false");
  EXPECT_FALSE(ingress->at("metadata")["annotations"].contains("cert-manager.io/cluster-issuer"));

  PlatformSettings issuer;
  issuer.tls_issuer = "letsencrypt";
  site["spec"]["tls"] = {{"redirect", true}};
  objects = wok::render::render_site(site, json(), issuer);
  ingress = find(objects, "Ingress", "www");
  EXPECT_EQ(ingress->at("spec")["tls"][0]["secretName"], "www-tls");
  EXPECT_EQ(ingress->at("metadata")["annotations"]["cert-manager.io/cluster-issuer"],
            "letsencrypt");
  EXPECT_EQ(ingress->at("metadata")["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"],
            "true");
  issuer.tls_issuer_kind = "Issuer";
  objects = wok::render::render_site(site, json(), issuer);
  EXPECT_EQ(
      find(objects, "Ingress", "www")->at("metadata")["annotations"]["cert-manager.io/issuer"],
      "letsencrypt");

  site["spec"]["tls"] = {{"mode", "secret"}, {"secretName", "www-cert"}};
  objects = wok::render::render_site(site, json(), issuer);
  ingress = find(objects, "Ingress", "www");
  EXPECT_EQ(ingress->at("spec")["tls"][0]["secretName"], "www-cert");
  EXPECT_FALSE(ingress->at("metadata")["annotations"].contains("cert-manager.io/issuer"));

  site["spec"]["tls"] = {{"mode", "off"}};
  objects = wok::render::render_site(site, json(), issuer);
  EXPECT_FALSE(find(objects, "Ingress", "www")->at("spec").contains("tls"));

  site["spec"]["tls"] = {{"hsts", {{"maxAge", "8760h"}, {"includeSubDomains", true}}}};
  try {
    wok::render::render_site(site, json(), PlatformSettings{});
    ADD_FAILURE() << "HSTS was rendered for ingress-nginx";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("spec.tls.hsts: ingress-nginx"), std::string::npos)
        << e.what();
  }

  PlatformSettings openshift;
  openshift.openshift_routes = true;
  site["spec"]["tls"]["redirect"] = true;
  objects = wok::render::render_site(site, json(), openshift);
  for (const char* name : {"www", "www-2"}) {
    const json* route = find(objects, "Route", name);
    ASSERT_NE(route, nullptr) << name;
    EXPECT_EQ(
        route->at("spec")["tls"],
        json::parse(R"({"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"})"));
    EXPECT_EQ(route->at("metadata")["annotations"]["haproxy.router.openshift.io/hsts_header"],
              "max-age=31536000; includeSubDomains");
  }
  site["spec"]["tls"] = {{"mode", "secret"}, {"secretName", "www-cert"}};
  try {
    wok::render::render_site(site, json(), openshift);
    ADD_FAILURE() << "a Route with a secret's certificate was rendered";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("spec.tls.mode: secret"), std::string::npos) << e.what();
  }
}

// The platform's router limits reach every `wok serve`; a php site's own
// spec.maxBodySize may lower the platform's --max-body, not raise it.
TEST(RenderSite, ServeArgumentsCarryThePlatformsRouterLimits) {
  PlatformSettings settings;
  settings.serve_args = {"--max-body=8Mi", "--header-timeout=10s"};
  auto web_args = [&](const json& site) {
    auto objects = wok::render::render_site(site, json(), settings);
    const json* deployment = find(objects, "Deployment", "www");
    EXPECT_NE(deployment, nullptr);
    if (deployment == nullptr) return json();
    for (const json& c : (*deployment)["spec"]["template"]["spec"]["containers"]) {
      if (c["name"] == "web") return c["args"];
    }
    return json();
  };
  json args = web_args(static_site());
  ASSERT_TRUE(args.is_array());
  EXPECT_EQ(args[0], "serve");
  EXPECT_EQ(std::count(args.begin(), args.end(), "--max-body=8Mi"), 1) << args.dump();
  EXPECT_EQ(std::count(args.begin(), args.end(), "--header-timeout=10s"), 1) << args.dump();

  json php = static_site();
  php["spec"]["mode"] = "php";
  php["spec"]["maxBodySize"] = "4Mi";
  args = web_args(php);
  ASSERT_TRUE(args.is_array());
  EXPECT_EQ(std::count(args.begin(), args.end(), "--max-body=8Mi"), 0) << args.dump();
  EXPECT_EQ(std::count(args.begin(), args.end(), "--max-body=4Mi"), 1) << args.dump();
  EXPECT_EQ(std::count(args.begin(), args.end(), "--header-timeout=10s"), 1) << args.dump();

  php["spec"]["maxBodySize"] = "64Mi";  // more than the platform allows: the platform's
  args = web_args(php);
  ASSERT_TRUE(args.is_array());
  EXPECT_EQ(std::count(args.begin(), args.end(), "--max-body=8Mi"), 1) << args.dump();
  EXPECT_EQ(std::count(args.begin(), args.end(), "--max-body=64Mi"), 0) << args.dump();
}

// The fetch init container refuses private destinations unless the platform allows them.
TEST(RenderSite, FetchAllowsPrivateSourcesOnlyWhenThePlatformDoes) {
  auto fetch_args = [](const PlatformSettings& settings) {
    for (const json& o : wok::render::render_site(static_site(), json(), settings)) {
      if (o["kind"] != "Deployment") continue;
      for (const json& c : o["spec"]["template"]["spec"]["initContainers"]) {
        if (c["name"] == "fetch") return c["args"];
      }
    }
    return json::array();
  };
  PlatformSettings settings;
  json args = fetch_args(settings);
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(std::count(args.begin(), args.end(), "--allow-private-sources"), 0) << args.dump();
  settings.allow_private_sources = true;
  args = fetch_args(settings);
  EXPECT_EQ(std::count(args.begin(), args.end(), "--allow-private-sources"), 1) << args.dump();
}

// Dot-files are not served by default in a pod either: the flag only when
// the site opts in, for static and php sites alike.
TEST(RenderSite, ServeDotFilesOnlyWhenTheSiteOptsIn) {
  auto web_args = [](const json& site) {
    for (const json& o : wok::render::render_site(site, json(), PlatformSettings{})) {
      if (o["kind"] != "Deployment") continue;
      for (const json& c : o["spec"]["template"]["spec"]["containers"]) {
        if (c["name"] == "web") return c["args"];
      }
    }
    return json::array();
  };
  json site = static_site();
  json plain = web_args(site);
  ASSERT_FALSE(plain.empty());
  EXPECT_EQ(std::count(plain.begin(), plain.end(), "--serve-dot-files"), 0) << plain.dump();
  for (const char* mode : {"static", "php"}) {
    site["spec"]["mode"] = mode;
    site["spec"]["serveDotFiles"] = true;
    json args = web_args(site);
    EXPECT_EQ(std::count(args.begin(), args.end(), "--serve-dot-files"), 1)
        << mode << " " << args.dump();
    site["spec"]["serveDotFiles"] = false;
    args = web_args(site);
    EXPECT_EQ(std::count(args.begin(), args.end(), "--serve-dot-files"), 0)
        << mode << " " << args.dump();
  }
}

TEST(RenderSite, AutoscaledComponentLeavesReplicasToTheHpa) {
  json site = static_site();
  site["spec"]["mode"] = "app";
  site["spec"]["app"] = json::parse(R"({"components":[
      {"name":"web","image":"x:1","port":8000,"replicas":3},
      {"name":"worker","command":["run"],"replicas":2}],
    "autoscale":{"maxReplicas":5}})");
  auto objects = wok::render::render_site(site, json(), PlatformSettings{});
  const json* web = find(objects, "Deployment", "www-web");
  const json* worker = find(objects, "Deployment", "www-worker");
  ASSERT_NE(web, nullptr);
  ASSERT_NE(worker, nullptr);
  EXPECT_FALSE(web->at("spec").contains("replicas"));
  EXPECT_EQ(worker->at("spec")["replicas"], 2);
  ASSERT_NE(find(objects, "HorizontalPodAutoscaler", "www-web"), nullptr);
  EXPECT_EQ(find(objects, "Service", "www-worker"), nullptr);  // no port, no Service
  // The worker runs from the source: it gets the fetch init container.
  EXPECT_EQ(worker->at("spec")["template"]["spec"]["initContainers"][0]["name"], "fetch");
}

// An app whose every component runs an image needs no source: nothing is
// fetched, no workspace is mounted; the CRD refuses a missing source elsewhere.
TEST(RenderSite, AnAppOfImagesFetchesNothing) {
  json site = static_site();
  site["spec"].erase("source");
  site["spec"]["mode"] = "app";
  site["spec"]["app"] = json::parse(R"({"components":[
      {"name":"web","image":"x:1","port":8000},{"name":"worker","image":"y:1"}],
    "jobs":[{"name":"nightly","schedule":"0 3 * * *","component":"worker","command":["clean"]}]})");
  auto objects = wok::render::render_site(site, json(), PlatformSettings{});
  int pods = 0;
  for (const json& o : objects) {
    const json* pod = nullptr;
    if (o["kind"] == "Deployment") pod = &o["spec"]["template"]["spec"];
    if (o["kind"] == "CronJob") pod = &o["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    if (!pod) continue;
    ++pods;
    EXPECT_FALSE(pod->contains("initContainers")) << o.dump();
    EXPECT_EQ(pod->dump().find("workspace"), std::string::npos) << o.dump();
    EXPECT_FALSE((*pod)["containers"][0].contains("workingDir")) << o.dump();
  }
  EXPECT_EQ(pods, 3);
  ASSERT_NE(find(objects, "Service", "www-web"), nullptr);

  const json spec_schema =
      wok::render::custom_resource_definitions()[1]["spec"]["versions"][0]["schema"]
                                                ["openAPIV3Schema"]["properties"]["spec"];
  EXPECT_EQ(spec_schema["required"], json({"hosts", "mode"}));
  ASSERT_TRUE(spec_schema.contains("x-kubernetes-validations"));
  EXPECT_NE(spec_schema["x-kubernetes-validations"][0]["rule"].get<std::string>().find(
                "has(self.source)"),
            std::string::npos);
}

// spec.php.timeout reaches the pod as under wok up: php-fpm's
// request_terminate_timeout and wok serve's --php-timeout (default 60s).
TEST(RenderSite, PhpTimeoutReachesPhpFpmAndTheRouter) {
  json site = static_site();
  site["spec"]["mode"] = "php";
  for (const auto& [given, want] :
       {std::pair<const char*, const char*>{nullptr, "60s"}, {"2m", "120s"}}) {
    if (given) site["spec"]["php"] = {{"timeout", given}};
    auto objects = wok::render::render_site(site, json(), PlatformSettings{});
    const json* config = find(objects, "ConfigMap", "www-php");
    ASSERT_NE(config, nullptr);
    std::string conf = config->at("data")["php-fpm.conf"];
    EXPECT_NE(conf.find("\nrequest_terminate_timeout = " + std::string(want) + "\n"),
              std::string::npos)
        << conf;
    const json* d = find(objects, "Deployment", "www");
    ASSERT_NE(d, nullptr);
    json args = d->at("spec")["template"]["spec"]["containers"][1]["args"];
    auto it = std::find(args.begin(), args.end(), "--php-timeout");
    ASSERT_NE(it, args.end()) << args.dump();
    EXPECT_EQ(*(it + 1), want) << args.dump();
  }
}

// A Site's image as `wok up` takes it (skopeo transports): docker:// is a
// registry reference, rendered without its transport; an image on this
// machine cannot be pulled by a cluster and is refused naming the field.
TEST(RenderSite, ImagesAreWhatAClusterCanPull) {
  json site = static_site();
  site["spec"]["mode"] = "app";
  site["spec"]["app"] = {{"components",
                          {{{"name", "worker"}, {"image", "docker://docker.io/library/redis:7"}},
                           {{"name", "web"}, {"image", "ghcr.io/a/web:1"}, {"port", 80}}}},
                         {"jobs",
                          {{{"name", "nightly"},
                            {"schedule", "0 3 * * *"},
                            {"component", "worker"},
                            {"command", {"true"}}}}}};
  auto objects = wok::render::render_site(site, json(), PlatformSettings{});
  const json* worker = find(objects, "Deployment", "www-worker");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->at("spec")["template"]["spec"]["containers"][0]["image"],
            "docker.io/library/redis:7");
  const json* job = find(objects, "CronJob", "www-nightly");
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->at("spec")["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
            "docker.io/library/redis:7");
  EXPECT_EQ(find(objects, "Deployment", "www-web")
                ->at("spec")["template"]["spec"]["containers"][0]["image"],
            "ghcr.io/a/web:1");

  const std::pair<const char*, const char*> local[] = {
      {"oci:/x:y", "oci:/x:y is a local image layout, which a cluster cannot pull"},
      {"oci-archive:/srv/web.tar", "is a local image archive"},
      {"docker-archive:/srv/web.tar:web:1", "is a local image archive"},
      {"dir:/srv/web", "is a local image directory"},
      {"containers-storage:localhost/web:1", "is in this machine's container storage"},
      {"docker-daemon:web:1", "is in this machine's Docker daemon"},
      {"docker://", "is not an image reference"},
  };
  for (const auto& [image, why] : local) {
    site["spec"]["app"]["components"][1]["image"] = image;
    try {
      wok::render::render_site(site, json(), PlatformSettings{});
      ADD_FAILURE() << image << " was rendered";
    } catch (const std::invalid_argument& e) {
      std::string what = e.what();
      EXPECT_EQ(what.rfind("spec.app.components[1].image: " + std::string(image) + " ", 0), 0u)
          << what;
      EXPECT_NE(what.find(why), std::string::npos) << what;
    }
  }
}

// Whatever the JSON, render answers something and never throws: the
// operator calls it on objects it has not validated itself. (Only an image
// a cluster cannot pull is refused, with std::invalid_argument.)
TEST(RenderSite, ToleratesPartialAndWrongInput) {
  for (
      const char* text :
      {"42", "null", "{}", R"({"spec":7})", R"({"metadata":{"name":"x"},"spec":{"mode":"app"}})",
       R"({"metadata":{"name":"x"},"spec":{"mode":"app","app":{"components":[1,{"name":"w","port":"80"}]}}})",
       R"({"metadata":{"name":"x"},"spec":{"mode":"php","php":[],"storage":{"a":1}}})",
       R"({"metadata":[],"spec":{"hosts":"x","source":{"git":3},"build":{"command":"make"}}})"}) {
    json site = json::parse(text);
    EXPECT_NO_THROW(wok::render::render_site(site, json(), PlatformSettings{})) << text;
    EXPECT_NO_THROW(wok::render::render_project(site, PlatformSettings{})) << text;
  }
}

TEST(RenderProject, QuotaAndIsolation) {
  json project = json::parse(R"({"metadata":{"name":"team-a"},
    "spec":{"hosts":["*.a.org"],"quota":{"sites":3,"memory":"4Gi"},
            "members":[{"user":"alice","role":"developer"}]}})");
  PlatformSettings settings;
  settings.ingress_namespace = "openshift-ingress";
  auto objects = wok::render::render_project(project, settings);
  const json* ns = find(objects, "Namespace", "team-a");
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(ns->at("metadata")["annotations"]["wok.dev/hosts"], "*.a.org");
  const json* quota = find(objects, "ResourceQuota", "wok-quota");
  ASSERT_NE(quota, nullptr);
  EXPECT_EQ(quota->at("spec")["hard"]["limits.memory"], "4Gi");
  EXPECT_EQ(quota->at("spec")["hard"]["count/sites.wok.dev"], "3");
  const json* binding = find(objects, "RoleBinding", "wok-alice");
  ASSERT_NE(binding, nullptr);
  EXPECT_EQ(binding->at("roleRef")["name"], "wok-developer");
  const json* policy = find(objects, "NetworkPolicy", "wok-isolate-project");
  ASSERT_NE(policy, nullptr);
  EXPECT_NE(policy->dump().find("openshift-ingress"), std::string::npos);
  // Egress: public addresses, not the nodes' networks or cloud metadata.
  const json* egress = find(objects, "NetworkPolicy", "wok-egress");
  ASSERT_NE(egress, nullptr);
  EXPECT_EQ(egress->at("spec")["policyTypes"], json({"Egress"}));
  std::string rules = egress->at("spec")["egress"].dump();
  EXPECT_NE(rules.find("\"169.254.0.0/16\""), std::string::npos) << rules;
  EXPECT_NE(rules.find("\"10.0.0.0/8\""), std::string::npos) << rules;
  // No quota at all: no ResourceQuota.
  project["spec"].erase("quota");
  EXPECT_EQ(find(wok::render::render_project(project, settings), "ResourceQuota", "wok-quota"),
            nullptr);
}

// Every node of a structural schema has a type (or preserves unknown fields
// with a type), and every object lists its properties.
void expect_structural(const json& s, const std::string& path) {
  ASSERT_TRUE(s.contains("type")) << path << " has no type";
  if (s["type"] == "object" && s.contains("properties")) {
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
      expect_structural(*it, path + "." + it.key());
    }
  }
  if (s["type"] == "array") {
    ASSERT_TRUE(s.contains("items")) << path;
    expect_structural(s["items"], path + "[]");
  }
}

TEST(Crds, StructuralSchemasWithStatusColumnsAndShortNames) {
  auto crds = wok::render::custom_resource_definitions();
  ASSERT_EQ(crds.size(), 2u);
  const json& site = crds[1];
  EXPECT_EQ(site["metadata"]["name"], "sites.wok.dev");
  EXPECT_EQ(site["spec"]["scope"], "Namespaced");
  EXPECT_EQ(crds[0]["spec"]["scope"], "Cluster");
  const json& version = site["spec"]["versions"][0];
  EXPECT_TRUE(version["subresources"].contains("status"));
  std::vector<std::string> columns;
  for (const json& c : version["additionalPrinterColumns"]) columns.push_back(c["name"]);
  EXPECT_EQ(columns, (std::vector<std::string>{"MODE", "HOSTS", "READY", "REVISION", "AGE"}));
  EXPECT_FALSE(site["spec"]["names"]["shortNames"].empty());
  for (const json& crd : crds) {
    expect_structural(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
                      crd["metadata"]["name"]);
  }
}

// One model: every spec field the validator knows is in the CRD, the php and
// app fields included, while the validator still refuses those modes.
TEST(Crds, ShareTheValidatorsModel) {
  const json schema = wok::render::custom_resource_definitions()[1]["spec"]["versions"][0]["schema"]
                                                                ["openAPIV3Schema"];
  const auto& spec_rule = wok::api::schema::site_rule().fields.at("spec");
  for (const auto& [name, rule] : spec_rule.fields) {
    EXPECT_TRUE(schema["properties"]["spec"]["properties"].contains(name)) << name;
  }
  const json& props = schema["properties"]["spec"]["properties"];
  EXPECT_EQ(props["php"]["properties"]["frontController"]["type"], "string");
  EXPECT_EQ(props["app"]["properties"]["components"]["items"]["properties"]["port"]["type"],
            "integer");
  EXPECT_EQ(props["mode"]["enum"], json({"static", "php", "app"}));

  json site = json::parse(R"({"apiVersion":"wok.dev/v1alpha1","kind":"Site",
    "metadata":{"name":"www","namespace":"team-a"},
    "spec":{"mode":"php","hosts":["a.example.org"],"source":{"git":{"url":"https://x/y.git"}},
            "php":{"docroot":"web"}}})");
  // The validator walks the same model: php is accepted, a field the model
  // lacks is refused by name.
  EXPECT_EQ(wok::api::join_errors(wok::api::validate_site(site)), "");
  site["spec"]["php"]["docroots"] = "web";
  EXPECT_NE(
      wok::api::join_errors(wok::api::validate_site(site)).find("spec.php.docroots: unknown field"),
      std::string::npos);
}

}  // namespace
