#include "controllers/site_reconciler.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/validation.h"
#include "base/sealed_box.h"
#include "base/text.h"
#include "controllers/build_disk.h"
#include "controllers/build_runner.h"
#include "controllers/image_registries.h"
#include "controllers/route_publisher.h"
#include "controllers/secret_env.h"
#include "controllers/site_certificates.h"
#include "controllers/tree_paths.h"
#include "controllers/workloads.h"
#include "git/repository.h"
#include "render/database_client.h"
#include "render/plan.h"
#include "render/unsupported.h"
#include "router/auth/basic_auth.h"
#include "router/auth/oidc.h"
#include "runtime/runtime.h"
#include "runtime/volume.h"
#include "store/site_events.h"
#include "store/status_events.h"
#include "store/store.h"

namespace wok::controllers {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kRevisionDirsKept = 10;
// Bytes of a failed build's last line kept in its revision's message.
constexpr size_t kFailedBuildLine = 300;

// deploy()'s answer when the revision's build was handed to BuildJobs.
const std::string kBuilding = "\x01building";

// The hosts the site is routed for: those of its spec that its project still
// allows and that it holds (the store's one claim check); `refused`: why not the others.
std::vector<std::string> hosts_of(store::Store& store, const json& site,
                                  std::vector<std::string>* refused = nullptr) {
  return store.routable_hosts(site["metadata"]["namespace"], site["metadata"]["name"], refused);
}

std::string short_commit(const std::string& c) { return c.substr(0, 7); }

// The commit of every revision of a site with no source (an app of images).
const std::string kImageOnlyCommit = "image";

// Where a site's storage volumes live: beside its revisions, kept by them all.
fs::path storage_dir_of(const std::string& data_dir, const json& site) {
  return fs::path(data_dir) / "sites" / site["metadata"]["namespace"].get<std::string>() /
         site["metadata"]["name"].get<std::string>() / site["metadata"]["uid"].get<std::string>() /
         "storage";
}

// What a restore or clone cut short set aside in the site's volumes and
// services' data (controllers/backups.h), once a backup holds it or it is
// nothing of the site's own.
void remove_site_restore_leftovers(const fs::path& storage, const render::SitePlan& plan) {
  for (const auto& v : plan.volumes) remove_restore_leftovers(storage / v.name);
  for (const auto& sv : plan.services)
    remove_restore_leftovers(fs::path(service_dir(storage.string(), sv.name)) / "data");
}

bool runs_instances(const json& spec) {
  std::string mode = spec.value("mode", "static");
  return mode == "php" || mode == "app";
}

}  // namespace

SiteReconciler::SiteReconciler(store::Store& store, RoutePublisher& routes, PlatformConfig config)
    : store_(store),
      routes_(routes),
      config_(std::move(config)),
      autoscaler_(config_.autoscale_down_window),
      builds_(config_.builds_running_max, config_.builds_per_project_max) {
  // Routes carry canonical paths: the router opens them refusing every
  // symlink, so only the site's own files could ever hold one.
  std::error_code ec;
  if (!config_.data_dir.empty()) fs::create_directories(config_.data_dir, ec);
  if (auto real = fs::canonical(config_.data_dir, ec); !ec) config_.data_dir = real.string();
  if (config_.runtime)
    workloads_ = std::make_unique<Workloads>(*config_.runtime, routes_, config_.ready_timeout);
  if (config_.public_tls_url_port) {
    CertificateIssuers issuers;
    issuers.local_ca = config_.local_ca;
    issuers.acme = config_.acme;
    issuers.acme_dir = config_.data_dir + "/acme/certs";
    issuers.renew_after_s = config_.certificate_renew_after_s;
    issuers.changed = [this](const std::string& ns, const std::string& name) {
      if (config_.wake_site) config_.wake_site(ns, name);
    };
    certificates_ = std::make_unique<SiteCertificates>(std::move(issuers), config_.read_secret);
  }
}

SiteReconciler::~SiteReconciler() = default;

void SiteReconciler::stop_background() {
  certificates_.reset();
  std::vector<std::thread> resumers;
  {
    std::lock_guard lock(mu_);
    resumers.swap(resumers_);
  }
  for (auto& t : resumers) t.join();
}

bool SiteReconciler::project_egress(const std::string& ns) {
  auto project = store_.get("Project", "", ns);
  if (!project) return true;
  return api::project_egress((*project).value("spec", json::object()));
}

void SiteReconciler::sweep_instances(const std::set<std::string>& sites) {
  if (workloads_) workloads_->sweep(sites);
}

std::optional<WorkloadPlan> SiteReconciler::plan_for(const json& site, int64_t number,
                                                     const std::string& root,
                                                     const std::string& spec_text) {
  json spec = json::parse(spec_text, nullptr, false);
  if (spec.is_discarded() || !runs_instances(spec)) return std::nullopt;
  const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
  const std::string uid = site["metadata"]["uid"];
  // An autoscaled component runs as many replicas as the autoscaler says,
  // whichever revision (the live one, or the next being rolled out).
  const render::SitePlan site_plan =
      render::plan_site({{"metadata", site["metadata"]}, {"spec", spec}});
  if (site_plan.autoscaled) {
    for (json& c : spec["app"]["components"]) {
      if (c.value("name", "") != site_plan.autoscale.component) continue;
      int initial = c.value("replicas", 1);
      const json& status = site.value("status", json::object());
      if (status.contains("autoscale") && status["autoscale"].is_object())
        initial = status["autoscale"].value("replicas", initial);
      c["replicas"] = autoscaler_.replicas(uid, site_plan.autoscale, initial);
    }
  }
  fs::path storage = fs::path(config_.data_dir) / "sites" / ns / name / uid / "storage";
  WorkloadPlan plan = plan_workloads(ns, name, uid, spec, number, root, storage.string(),
                                     store_.project_uid(ns), project_egress(ns));
  // What this platform cannot run fails the revision, naming the field.
  if (std::string why = render::describe(render::unsupported_on(
          render::Platform::kEmbedded, {{"metadata", site["metadata"]}, {"spec", spec}}));
      !why.empty())
    plan.error = "not available on wok up: " + why;
  if (plan.error.empty() && !plan.instances.empty() && plan.instances[0].uid == 0) {
    plan.error = "no sandbox uid is left for project \"" + ns + "\"";
  }
  if (plan.error.empty()) {  // the revision's spec, its own project's secrets
    json planned = {{"metadata", site["metadata"]}, {"spec", spec}};
    plan.error = add_secret_env(planned, plan,
                                planned_secrets_.reader_for(uid, number, config_.read_secret));
  }
  return plan;
}

std::string SiteReconciler::start_workloads(const json& site, int64_t number,
                                            const std::string& root, const std::string& spec_text) {
  auto plan = plan_for(site, number, root, spec_text);
  if (!plan) return "";
  if (!workloads_) return "this platform has no sandbox runtime for php and app sites";
  // Every volume its declared size before anything runs on it. A grow this
  // host can only do offline stops the live revision first (like Recreate).
  const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
  if (std::string err =
          mount_storage(json::parse(spec_text), storage_dir_of(config_.data_dir, site).string(),
                        store_.project_uid(ns), {[&] { workloads_->stop_others(ns, name, {}); }});
      !err.empty()) {
    return err;
  }
  // Pulling and unpacking images, then waiting for readiness, can take
  // minutes: say so (wok rollout status and apply --wait show it).
  std::set<std::string> images;
  for (const auto& s : plan->instances)
    if (!s.image.empty()) images.insert(s.image);
  std::string what;
  for (const auto& image : images) what += (what.empty() ? "" : ", ") + image;
  auto live = store_.live_revision(site["metadata"]["uid"].get<std::string>());
  // A clone's data goes in before anything of it runs, once: by its pass
  // before this revision was made (seed_in_background), else here.
  if (!live && needs_seed(site)) {
    std::optional<std::string> seeded;
    {
      std::lock_guard lock(mu_);
      if (auto it = seeded_.find(site["metadata"]["uid"]); it != seeded_.end()) {
        seeded = it->second;
        seeded_.erase(it);
      }
    }
    if (seeded && !seeded->empty()) return "cloneFrom: " + *seeded;
    // (A plan that cannot run fails the revision below, nothing copied.)
    if (!seeded && plan->error.empty())
      if (std::string err = seed_clone(site, json::parse(spec_text), *plan); !err.empty())
        return "cloneFrom: " + err;
  }
  write_status(site, live, live ? "Deployed" : "Progressing",
               "starting revision " + std::to_string(number) + ": " +
                   (what.empty() ? "" : "pulling and unpacking " + what + ", then ") +
                   "waiting for its instances to be ready",
               std::nullopt);
  return workloads_->roll_out(*plan);
}

std::string SiteReconciler::live_refusal(const json& site, const store::Revision& live) {
  json spec = json::parse(live.spec, nullptr, false);
  if (spec.is_discarded()) return "";
  if (config_.check_local_sources) {
    // The site as it was when this revision was made: the admin's approval
    // is of that generation.
    json as_deployed = site;
    as_deployed["spec"] = spec;
    as_deployed["metadata"]["generation"] = live.generation;
    if (std::string refused = config_.check_local_sources(as_deployed); !refused.empty())
      return refused;
  }
  const std::string uid = site["metadata"]["uid"];
  {
    std::lock_guard lock(mu_);
    auto it = live_registries_.find(uid);
    if (it != live_registries_.end() && it->second.first == live.number) return it->second.second;
  }
  git::FetchLimits limits;
  limits.allow_private_networks = config_.allow_private_sources;
  std::string refused = image_registry_error(spec, limits);
  std::lock_guard lock(mu_);
  live_registries_[uid] = {live.number, refused};
  return refused;
}

void SiteReconciler::autoscale(const json& site, const store::Revision& live) {
  if (!config_.runtime) return;
  json spec = json::parse(live.spec, nullptr, false);
  if (spec.is_discarded()) return;
  const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
  const std::string uid = site["metadata"]["uid"];
  const render::SitePlan plan = render::plan_site({{"metadata", site["metadata"]}, {"spec", spec}});
  if (!plan.autoscaled) {
    autoscaler_.forget(uid);
    return;
  }
  const render::ComponentPlan* c = render::find_component(plan, plan.autoscale.component);
  if (!c) return;
  const double limit_millis =
      c->cpu.empty() ? 1000.0 : static_cast<double>(api::parse_cpu_millis(c->cpu));
  AutoscaleMetrics m;
  double cpu_sum = 0;
  int cpu_known = 0;
  const auto now = AutoscaleClock::now();
  for (const auto& st : config_.runtime->list()) {
    auto id = parse_instance_id(st.id);
    if (!id || id->ns != ns || id->site != name || id->component != c->name ||
        id->revision != live.number)
      continue;
    if (st.phase != runtime::Phase::Ready) continue;
    ++m.ready;
    auto used = config_.runtime->cpu_usage_ns(st.id);
    if (!used) continue;
    // Nanoseconds of CPU per second of wall time, against the limit.
    if (auto rate =
            autoscaler_.rate(uid + "/" + st.id + "/" + std::to_string(st.pid), *used, now)) {
      cpu_sum += *rate / 1e9 * 1000.0 / limit_millis * 100.0;
      ++cpu_known;
    }
  }
  if (cpu_known > 0) m.cpu_percent = cpu_sum / cpu_known;
  if (config_.requests_total && c->routed) {
    m.requests_per_second =
        autoscaler_.rate(uid + "/requests", config_.requests_total(ns, name), now);
  }
  // Nothing to measure (starting, crashing, or a pass right after the
  // last one): no decision, and no status change to wake another pass.
  if (m.ready == 0 || (!m.cpu_percent && !m.requests_per_second)) return;
  autoscaler_.observe(uid, plan.autoscale, m, now);
  std::string message = autoscaler_.status(uid).value("message", "");
  if (message.rfind("scaled ", 0) == 0)
    spdlog::info("site {}/{}: {} {}", ns, name, c->name, message);
}

void SiteReconciler::publish_access(const json& site) {
  const render::SitePlan plan = render::plan_site(site);
  std::shared_ptr<router::BasicAuth> login;
  if (!plan.basic_auth_secret.empty()) {
    // Read at every pass: a changed secret takes effect without a new
    // revision. Unreadable or malformed: the site is closed, never open.
    login = std::make_shared<router::BasicAuth>();
    login->realm = plan.basic_auth_realm;
    login->exempt = plan.login_exempt;
    std::string error;
    auto secret = config_.read_secret ? config_.read_secret(plan.ns, plan.basic_auth_secret, &error)
                                      : std::nullopt;
    if (!secret) {
      login->error = "secret " + plan.basic_auth_secret + ": " +
                     (error.empty() ? std::string("cannot be read here") : error);
    } else if (auto auth = secret->find("auth"); auth == secret->end()) {
      login->error = "secret " + plan.basic_auth_secret + " has no key auth (htpasswd lines)";
    } else if (auto users = router::parse_htpasswd(auth->second, &error); !users) {
      login->error = "secret " + plan.basic_auth_secret + ", key auth: " + error;
    } else if (users->empty()) {
      login->error = "secret " + plan.basic_auth_secret + ", key auth: no user";
    } else {
      login->users = std::move(*users);
    }
  }
  std::shared_ptr<router::OidcLogin> oidc;
  if (plan.oidc.enabled()) {
    oidc = std::make_shared<router::OidcLogin>();
    oidc->project = plan.ns;
    oidc->site = plan.name;
    oidc->issuer = plan.oidc.issuer;
    oidc->client_id = plan.oidc.client_id;
    oidc->scopes = plan.oidc.scopes;
    oidc->user_claim = plan.oidc.user_claim;
    oidc->groups_claim = plan.oidc.groups_claim;
    oidc->allowed_users = plan.oidc.allowed_users;
    oidc->allowed_groups = plan.oidc.allowed_groups;
    oidc->session = std::chrono::seconds(plan.oidc.session_s);
    oidc->exempt = plan.login_exempt;
    std::string error;
    auto secret = config_.read_secret ? config_.read_secret(plan.ns, plan.oidc.secret_name, &error)
                                      : std::nullopt;
    if (!secret) {
      oidc->error = "secret " + plan.oidc.secret_name + ": " +
                    (error.empty() ? std::string("cannot be read here") : error);
    } else if (auto s = secret->find("client-secret"); s == secret->end() || s->second.empty()) {
      oidc->error = "secret " + plan.oidc.secret_name + " has no key client-secret";
    } else {
      oidc->client_secret = s->second;
    }
  }
  {
    std::lock_guard lock(mu_);
    std::string error = login ? login->error : oidc ? oidc->error : "";
    if (!error.empty())
      login_errors_[plan.ns + "/" + plan.name] = error;
    else
      login_errors_.erase(plan.ns + "/" + plan.name);
  }
  routes_.set_access(plan.ns, plan.name, plan.ip_allow, plan.ip_deny, login, oidc);
  if (certificates_)
    routes_.set_tls(plan.ns, plan.name, certificates_->ensure(plan, hosts_of(store_, site)).tls);
}

void SiteReconciler::serve_live(const json& site) {
  publish_access(site);
  // A restore cut short: never served half restored; its first pass
  // finishes it.
  if (const json restoring = site.value(json::json_pointer("/status/restoring"), json());
      restoring.is_object()) {
    const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
    routes_.set_deploying(ns, name, hosts_of(store_, site));  // its hosts, routed to nothing
    routes_.set_restoring(ns, name, true);
    std::lock_guard lock(mu_);
    to_resume_[ns + "/" + name] = restoring.dump();
    return;
  }
  auto live = store_.live_revision(site["metadata"]["uid"].get<std::string>());
  if (!live || !fs::is_directory(live->root)) return;
  json spec = json::parse(live->spec, nullptr, false);
  if (spec.is_discarded() || runs_instances(spec)) return;
  if (!live_refusal(site, *live).empty()) return;  // its reconcile says why
  route_to(site, live->number, live->root, live->spec, {});
}

void SiteReconciler::route_to(const json& site, int64_t number, const std::string& root_path,
                              const std::string& spec_text, std::chrono::milliseconds drain) {
  const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
  std::error_code ec;
  fs::path real = fs::canonical(root_path, ec);
  const std::string root = ec ? root_path : real.string();
  auto plan = plan_for(site, number, root, spec_text);
  if (!plan) {
    routes_.set(ns, name, hosts_of(store_, site), root,
                api::serves_dot_files(json::parse(spec_text, nullptr, false)));
    if (workloads_) {
      workloads_->forget_route(ns, name);
      workloads_->stop_others(ns, name, {}, drain);
    }
    return;
  }
  if (!workloads_) return;
  // Never on a bare directory: after a reboot the volumes are mounted again
  // first. A live revision that a newer one grew past runs on the larger volume.
  const json spec = json::parse(spec_text);
  const std::string storage = storage_dir_of(config_.data_dir, site).string();
  if (std::string err = mount_storage(spec, storage, store_.project_uid(ns), {{}, true});
      !err.empty() && !storage_mounted(spec, storage)) {
    spdlog::warn("site {}/{}: revision {} is not started: {}", ns, name, number, err);
    return;
  }
  workloads_->publish(ns, name, hosts_of(store_, site), *plan, root);
  std::set<std::string> keep;
  for (const auto& s : plan->instances) keep.insert(s.id);
  workloads_->stop_others(ns, name, keep, drain);
}

std::mutex& SiteReconciler::site_lock(const std::string& key) {
  std::lock_guard lock(mu_);
  auto& m = site_locks_[key];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

std::optional<std::pair<int64_t, std::string>> SiteReconciler::build_output(
    const std::string& ns, const std::string& name) {
  std::string uid;
  int64_t number = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, p] : pending_) {
      if (p.ns == ns && p.name == name) {
        uid = key;
        number = p.number;
      }
    }
  }
  if (uid.empty()) return std::nullopt;
  auto text = builds_.output(uid);
  if (!text) return std::nullopt;
  return std::make_pair(number, std::move(*text));
}

ReconcileResult SiteReconciler::reconcile(const std::string& ns, const std::string& name) {
  {
    // A restore cut short by wok's end: finished first (resume_restore
    // takes the site's lock and then lets passes run).
    std::lock_guard lock(mu_);
    if (auto it = to_resume_.find(ns + "/" + name); it != to_resume_.end()) {
      if (resuming_.insert(it->first).second) {
        json record = json::parse(it->second, nullptr, false);
        resumers_.emplace_back([this, ns, name, record] { resume_restore(ns, name, record); });
      }
      return {"", std::chrono::milliseconds(500)};
    }
  }
  // Being restored (restore() holds it): looked at again once it is over.
  std::unique_lock hold(site_lock(ns + "/" + name), std::try_to_lock);
  if (!hold.owns_lock()) return {"", std::chrono::milliseconds(500)};
  fs::path key_dir = fs::path(config_.data_dir) / "sites" / ns / name;
  auto site = store_.get("Site", ns, name);
  std::error_code ec;
  if (!site) {
    // A build still running for the deleted site is ended before its files go.
    std::vector<std::string> doomed;
    {
      std::lock_guard lock(mu_);
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.ns == ns && it->second.name == name) {
          doomed.push_back(it->first);
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const auto& uid : doomed) builds_.cancel(uid);
    routes_.remove(ns, name);
    if (certificates_) certificates_->forget(ns, name);
    {
      std::lock_guard lock(mu_);
      login_errors_.erase(ns + "/" + name);
    }
    if (workloads_) {
      workloads_->forget_route(ns, name);
      workloads_->stop_others(ns, name, {});
    }
    if (config_.runtime) config_.runtime->remove_network(ns + "." + name);
    // Volumes are mounted file systems: unmounted first, or remove_all would
    // empty them and then fail on their mount points.
    if (std::string err = runtime::release_volumes_under(key_dir); !err.empty())
      spdlog::warn("{}", err);
    fs::remove_all(key_dir, ec);
    return {};
  }
  publish_access(*site);
  // spec.database: its password, generated once and kept in the project's
  // secret SITE-db (docs/data.md), which the instances read like any other.
  if (const render::SitePlan p = render::plan_site(*site); config_.create_secret) {
    for (const auto& [secret, user] : render::generated_secrets(p)) {
      std::map<std::string, std::string> data = {{"password", base::random_token()}};
      if (!user.empty()) data["username"] = user;
      if (std::string err = config_.create_secret(ns, secret, data); !err.empty())
        spdlog::warn("site {}/{}: {}", ns, name, err);
    }
  }
  std::string uid = (*site)["metadata"]["uid"];
  // Directories of an earlier site of the same name (deleted, then created again).
  for (const auto& entry : fs::directory_iterator(key_dir, ec)) {
    if (entry.path().filename() == uid) continue;
    if (std::string err = runtime::release_volumes_under(entry.path()); !err.empty())
      spdlog::warn("{}", err);
    fs::remove_all(entry.path(), ec);
  }
  fs::path site_dir = key_dir / uid;
  fs::create_directories(site_dir, ec);
  if (ec) return {"cannot create " + site_dir.string() + ": " + ec.message()};

  const std::string spec_text = (*site)["spec"].dump();
  auto live = store_.live_revision(uid);
  // A live revision the admin's flags no longer allow (they changed since it
  // was deployed, or wok restarted with others) stops being served: for the
  // rest of this pass the site has no live revision.
  std::string live_refused = live ? live_refusal(*site, *live) : "";
  if (!live_refused.empty()) {
    live_refused = "revision " + std::to_string(live->number) + " is not served: " + live_refused;
    live.reset();
    routes_.remove(ns, name);
    if (workloads_) {
      workloads_->forget_route(ns, name);
      workloads_->stop_others(ns, name, {});
    }
  }
  // Serve what is live at once (after a restart, before any fetch); for php
  // and app, (re)start its instances and follow their pids. Not the
  // revision a restore replaces: it never runs on the restored data.
  const json& st = (*site).value("status", json::object());
  const bool replaced_by_restore = live && st.contains("restoredSpec") &&
                                   st["restoredSpec"] == (*site)["spec"] &&
                                   (st.value("restoredCommit", "") != live->commit ||
                                    json::parse(live->spec, nullptr, false) != st["restoredSpec"]);
  if (live && fs::is_directory(live->root) && !replaced_by_restore) {
    autoscale(*site, *live);
    route_to(*site, live->number, live->root, live->spec, {});
  }

  FetchState* state;
  {
    std::lock_guard lock(mu_);
    state = &fetch_[uid];
  }
  bool explicit_refresh =
      state->refresh_seen >= 0 &&
      state->refresh_seen != (*site)["status"].value("refreshRequests", int64_t{0});
  Desired desired = desired_commit(*site, site_dir.string(), *state);
  // `wok rollout restart` sets this annotation: a new revision of the same spec and commit.
  const std::string restart =
      (*site).value(json::json_pointer("/metadata/annotations/wok.dev~1restartedAt"), "");
  const bool restart_due =
      !restart.empty() && restart != (*site)["status"].value("restartedAt", "");
  // Instances crash, restart with new pids, heal: look again soon.
  if (runs_instances((*site)["spec"]) ||
      (live && runs_instances(json::parse(live->spec, nullptr, false)))) {
    if (desired.requeue_after.count() == 0 || desired.requeue_after > config_.workload_resync) {
      desired.requeue_after = config_.workload_resync;
    }
  }
  if (!desired.error.empty()) {
    if (!live_refused.empty()) {
      write_status(*site, live, "SourceNotAllowed", live_refused, live_refused);
      return {desired.error};
    }
    std::string msg =
        live ? desired.error + "; revision " + std::to_string(live->number) + " keeps serving"
             : desired.error;
    write_status(*site, live, "FetchFailed", msg, desired.error);
    return {desired.error};
  }
  // A build in flight (BuildJobs): published once over, dropped when the
  // site changed meanwhile (the new state is deployed instead).
  std::optional<PendingBuild> pending;
  {
    std::lock_guard lock(mu_);
    if (auto it = pending_.find(uid); it != pending_.end()) pending = it->second;
  }
  if (pending && (pending->spec_text != spec_text || pending->commit != desired.commit)) {
    builds_.cancel(uid);
    {
      std::lock_guard lock(mu_);
      pending_.erase(uid);
    }
    store_.finish_revision(uid, pending->number, "Failed",
                           "superseded by a newer change before its build ended", "", false);
    discard_build_work(site_dir, pending->work);
  } else if (pending) {
    auto result = builds_.take(uid);
    if (!result && !builds_.known(uid)) {
      // Not queued, not running, no result: never wait for it forever.
      result = BuildResult{};
      result->error =
          "the build was lost (wok stopped or cancelled it); it is retried on the next change or "
          "refresh";
    }
    if (!result) {
      bool running = builds_.running(uid);
      write_status(*site, live, live ? "Deployed" : "Progressing",
                   std::string(running ? "building" : "waiting for a build slot for") + " commit " +
                       short_commit(pending->commit) + " as revision " +
                       std::to_string(pending->number),
                   std::nullopt);
      return {"", std::chrono::milliseconds(500)};
    }
    {
      std::lock_guard lock(mu_);
      pending_.erase(uid);
    }
    std::string error = publish_revision(*site, site_dir.string(), *pending, &*result);
    return after_deploy(*site, site_dir.string(), error, pending->number, desired.requeue_after);
  }
  if (live && live->spec == spec_text && live->commit == desired.commit && !restart_due) {
    write_status(
        *site, live, "Deployed",
        "revision " + std::to_string(live->number) + " serves commit " + short_commit(live->commit),
        "");
    return {"", desired.requeue_after};
  }
  // The same spec and commit already failed: wait for a change or a refresh
  // rather than rebuilding in a loop. Revisions cut short by a crash are retried.
  auto all = store_.revisions(uid);
  if (!all.empty() && all[0].outcome == "Failed" && all[0].spec == spec_text &&
      all[0].commit == desired.commit && !explicit_refresh && !restart_due &&
      !all[0].message.starts_with("interrupted")) {
    std::string err = "revision " + std::to_string(all[0].number) + " failed: " + all[0].message;
    if (!live) routes_.remove(ns, name);
    write_status(*site, live, "RevisionFailed",
                 live ? err + "; revision " + std::to_string(live->number) + " keeps serving" : err,
                 err);
    return {"", desired.requeue_after};
  }
  // Before anything is pulled: a registry on a private network (resolved
  // now, only when a revision is about to be made).
  git::FetchLimits pull_limits;
  pull_limits.allow_private_networks = config_.allow_private_sources;
  if (std::string refused = image_registry_error((*site)["spec"], pull_limits); !refused.empty()) {
    if (!live) routes_.remove(ns, name);
    std::string msg =
        !live_refused.empty() ? live_refused
        : live ? refused + "; revision " + std::to_string(live->number) + " keeps serving"
               : refused;
    write_status(*site, live, "SourceNotAllowed", msg, refused);
    return {refused};
  }
  // A clone's data goes in before its first revision is made, off this
  // worker: filling its volumes and database from a large backup takes
  // minutes, and the controller has few workers for every site.
  if (!live && needs_seed(*site)) {
    bool start = false;
    {
      std::lock_guard lock(mu_);
      if (!seeded_.count(uid)) {
        start = true;
        resumers_.emplace_back([this, ns, name, uid] { seed_in_background(ns, name, uid); });
      }
    }
    if (start) {
      const json& from = (*site)["spec"]["cloneFrom"];
      write_status(*site, live, "Progressing",
                   "filling the clone from backup " + from.value("backup", "latest") + " of " +
                       from.value("project", ns) + "/" + from.value("site", ""),
                   std::nullopt);
      return {"", std::chrono::milliseconds(500)};
    }
  }
  int64_t number = 0;
  std::string error = deploy(*site, site_dir.string(), desired.commit, spec_text, &number);
  // Marked once its revision exists: a waiting `rollout status` then sees it.
  if (restart_due) store_.patch_status("Site", ns, name, {{"restartedAt", restart}});
  if (error == kBuilding) {
    write_status(*site, live, live ? "Deployed" : "Progressing",
                 "building commit " + short_commit(desired.commit) + " as revision " +
                     std::to_string(number),
                 std::nullopt);
    return {"", std::chrono::milliseconds(500)};
  }
  return after_deploy(*site, site_dir.string(), error, number, desired.requeue_after);
}

ReconcileResult SiteReconciler::after_deploy(const json& site, const std::string& site_dir,
                                             const std::string& error, int64_t number,
                                             std::chrono::milliseconds requeue_after) {
  const std::string uid = site["metadata"]["uid"];
  auto live = store_.live_revision(uid);
  if (!error.empty()) {
    // Nothing to serve after all: the hosts stop saying "being deployed".
    if (!live) routes_.remove(site["metadata"]["namespace"], site["metadata"]["name"]);
    std::string err = "revision " + std::to_string(number) + " failed: " + error;
    write_status(site, live, "RevisionFailed",
                 live ? err + "; revision " + std::to_string(live->number) + " keeps serving" : err,
                 err);
    return {"", requeue_after};
  }
  // The site was deleted while its revision deployed (its revisions went
  // with it): nothing serves, nothing to say; the deletion's reconcile cleans up.
  if (!live) return {"", requeue_after};
  collect_garbage(uid, site_dir);
  write_status(
      site, live, "Deployed",
      "revision " + std::to_string(live->number) + " serves commit " + short_commit(live->commit),
      "");
  return {"", requeue_after};
}

SiteReconciler::Desired SiteReconciler::desired_commit(const json& site,
                                                       const std::string& site_dir,
                                                       FetchState& state) {
  const json& spec = site["spec"];
  const json& status = site["status"];
  std::string uid = site["metadata"]["uid"];
  // Again here, not only at admission: the allow-list may have changed since.
  if (config_.check_local_sources) {
    if (std::string refused = config_.check_local_sources(site); !refused.empty())
      return {"", refused, {}};
  }
  // A rollback pins a commit for as long as the spec is that revision's.
  if (status.contains("pinnedRevision") && status.contains("pinnedCommit")) {
    auto rev = store_.revision(uid, status["pinnedRevision"].get<int64_t>());
    json pinned = rev ? json::parse(rev->spec, nullptr, false) : json();
    api::keep_database_version(spec, pinned);  // the rollback kept today's (api_server.cc)
    if (rev && pinned == spec) return {status["pinnedCommit"].get<std::string>(), "", {}};
  }
  // A restore pins its backup's commit for as long as the spec is the backup's.
  if (status.contains("restoredCommit") && status.contains("restoredSpec") &&
      status["restoredSpec"] == spec && status["restoredCommit"].is_string())
    return {status["restoredCommit"].get<std::string>(), "", {}};
  // An app of images has nothing to fetch: one fixed commit, so only a
  // change of its spec makes a new revision.
  if (!api::has_source(spec)) {
    state = FetchState{site["metadata"]["generation"], status.value("refreshRequests", int64_t{0}),
                       kImageOnlyCommit, std::chrono::steady_clock::now(), ""};
    return {kImageOnlyCommit, "", {}};
  }
  const json& git = spec["source"]["git"];
  long long interval = api::parse_duration_ms(git.value("interval", "0s"));
  int64_t generation = site["metadata"]["generation"];
  int64_t refresh = status.value("refreshRequests", int64_t{0});
  auto now = std::chrono::steady_clock::now();
  bool due = state.commit.empty() || state.generation != generation ||
             state.refresh_seen != refresh || (interval > 0 && now >= state.next_fetch);
  if (due) {
    const std::string mirror = site_dir + "/mirror.git";
    git::FetchLimits limits;
    limits.allow_private_networks = config_.allow_private_sources;
    git::FetchResult r = git::fetch(git["url"], git.value("ref", "main"), mirror, limits);
    std::error_code ec;
    if (!r.ok && fs::exists(mirror, ec)) {
      // The mirror is only a cache: one left damaged by a kill -9 in the
      // middle of a fetch (a lock file, a half-written ref) is fetched anew.
      fs::remove_all(mirror, ec);
      r = git::fetch(git["url"], git.value("ref", "main"), mirror, limits);
    }
    if (!r.ok) return {"", "fetch failed: " + r.error, {}};
    state = FetchState{generation, refresh, r.commit, now + std::chrono::milliseconds(interval),
                       r.author};
  }
  Desired d{state.commit, "", {}};
  if (interval > 0) {
    d.requeue_after =
        std::max(std::chrono::milliseconds(1),
                 std::chrono::duration_cast<std::chrono::milliseconds>(state.next_fetch - now));
  }
  return d;
}

std::string SiteReconciler::deploy(const json& site, const std::string& site_dir,
                                   const std::string& commit, const std::string& spec_text,
                                   int64_t* number) {
  const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
  const std::string uid = site["metadata"]["uid"];
  store::Revision rev;
  rev.generation = site["metadata"]["generation"];
  rev.commit = commit;
  rev.spec = spec_text;
  rev.outcome = "Pending";
  auto previous = store_.revisions(uid);
  rev.cause =
      store::change_cause(previous, rev.generation, commit, spec_text,
                          site.value(json::json_pointer("/status/pinnedRevision"), int64_t{0}));
  // Who: the last writer of the spec, when this revision deploys a write
  // of it (made, changed, rolled back, restarted), not a fetch or a retry.
  const bool written = rev.cause.starts_with("created") || rev.cause.starts_with("apply") ||
                       rev.cause.starts_with("rollout") || rev.cause.starts_with("redeploy");
  if (written) rev.author = site.value(json::json_pointer("/status/changedBy"), "");
  // A rollback pins first (status.pinnedBy says who), then writes the spec:
  // its revision may be made in between.
  if (rev.cause.starts_with("rollout undo"))
    rev.author = site.value(json::json_pointer("/status/pinnedBy"), rev.author);
  // A fetch's revision: the commit's author (a git push, not a wok user).
  if (rev.cause.starts_with("fetch")) {
    std::lock_guard lock(mu_);
    auto state = fetch_.find(uid);
    if (state != fetch_.end() && state->second.commit == commit) rev.author = state->second.author;
  }
  *number = store_.add_revision(uid, ns, name, rev);
  store::record_event(
      store_, site,
      {"Normal", "RevisionCreated", "revision " + std::to_string(*number) + ": " + rev.cause});
  auto live = store_.live_revision(uid);
  if (!live) routes_.set_deploying(ns, name, hosts_of(store_, site));
  write_status(
      site, live, live ? "Deployed" : "Progressing",
      "deploying commit " + short_commit(commit) + " as revision " + std::to_string(*number),
      std::nullopt);

  // Same spec, same commit as an earlier revision (a rollback): its files are
  // immutable, so they are served again as they are.
  for (const auto& r : previous) {
    if (r.outcome == "Deployed" && r.spec == spec_text && r.commit == commit &&
        fs::is_directory(r.root)) {
      if (std::string err = start_workloads(site, *number, r.root, spec_text); !err.empty()) {
        store_.finish_revision(uid, *number, "Failed", err, "", false);
        return err;
      }
      store_.finish_revision(uid, *number, "Deployed",
                             "same content as revision " + std::to_string(r.number), "", true,
                             r.root);
      route_to(site, *number, r.root, spec_text, config_.drain);
      return "";
    }
  }

  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(site_dir, ec)) {
    if (entry.path().filename().string().starts_with("work-")) fs::remove_all(entry.path(), ec);
  }
  PendingBuild p;
  p.ns = ns;
  p.name = name;
  p.number = *number;
  p.commit = commit;
  p.spec_text = spec_text;
  p.work = fs::path(site_dir) / ("work-" + std::to_string(*number));
  auto fail = [&](const std::string& why) {
    store_.finish_revision(uid, *number, "Failed", why, "", false);
    discard_build_work(site_dir, p.work);
    return why;
  };
  // A build writes its checkout and cache on the site's bounded build disk.
  if (config_.runtime && site["spec"].contains("build") && api::has_source(site["spec"])) {
    if (std::string err =
            open_build_disk(site_dir, config_.build_disk_bytes, store_.project_uid(ns));
        !err.empty())
      return fail(err);
    p.work = build_disk_dir(site_dir) / ("work-" + std::to_string(*number));
  }
  fs::path checkout = p.work / "src";
  fs::create_directories(p.work, ec);
  const json& spec = site["spec"];
  if (!api::has_source(spec)) {
    // Its instances run their images only: the revision's directory is empty.
    p.base = checkout;
    fs::create_directories(p.base, ec);
    if (ec) return fail("cannot create the revision's directory: " + ec.message());
    return publish_revision(site, site_dir, p, nullptr);
  }
  if (std::string err = git::checkout(site_dir + "/mirror.git", commit, checkout.string());
      !err.empty()) {
    return fail("checkout failed: " + err);
  }
  std::string sub = spec["source"]["git"].value("path", "");
  p.base = (checkout / sub).lexically_normal();
  if (std::string err = check_directory_beneath(checkout, sub); !err.empty()) {
    return fail("source path \"" + sub + "\" is not a directory of the repository at " +
                short_commit(commit) + ": " + err);
  }
  if (!spec.contains("build")) return publish_revision(site, site_dir, p, nullptr);
  const json& b = spec["build"];
  BuildOptions opts;
  opts.command = b["command"].get<std::vector<std::string>>();
  opts.working_dir = p.base.string();
  if (b.contains("env")) opts.env = b["env"].get<std::map<std::string, std::string>>();
  opts.env["WOK_PROJECT"] = ns;
  opts.env["WOK_SITE"] = name;
  opts.env["WOK_COMMIT"] = commit;
  opts.timeout =
      std::min(std::chrono::milliseconds(api::parse_duration_ms(b.value("timeout", "10m"))),
               config_.build_timeout_max);
  if (config_.runtime) {
    std::string err = sandbox_build(ns, name, *number, checkout, sub,
                                    (build_disk_dir(site_dir) / "cache").string(), spec, &opts);
    if (!err.empty()) return fail("build cannot start: " + err);
  }
  // The build runs off this worker (BuildJobs); the next passes of the
  // reconciler publish its output when it is over.
  {
    std::lock_guard lock(mu_);
    pending_[uid] = p;
  }
  builds_.submit(uid, ns, std::move(opts));
  return kBuilding;
}

std::string SiteReconciler::publish_revision(const json& site, const std::string& site_dir,
                                             const PendingBuild& p, const BuildResult* build) {
  const std::string uid = site["metadata"]["uid"];
  const int64_t number = p.number;
  const std::string& spec_text = p.spec_text;
  std::error_code ec;
  std::string log = build ? build->output : "";
  auto fail = [&](const std::string& why) {
    store_.finish_revision(uid, number, "Failed", why, log, false);
    discard_build_work(site_dir, p.work);
    return why;
  };
  const json spec = json::parse(spec_text);
  fs::path publish = p.base;
  if (build) {
    if (!build->ok) {
      // What failed, in the build's own words: its last line (the status,
      // `describe`, the events and the history all show it).
      std::string why = build->error;
      if (std::string line = last_line(build->output, kFailedBuildLine); !line.empty())
        why += ": " + line;
      std::string full = build_disk_exceeded(site_dir);
      return fail(full.empty() ? why : full + " (" + why + ")");
    }
    std::string out = spec["build"].value("output", "");
    publish = (p.base / out).lexically_normal();
    if (std::string err = check_directory_beneath(p.base, out); !err.empty()) {
      return fail("build output \"" + out + "\" is not a directory after the build: " + err);
    }
  }
  if (spec.value("mode", "") == "php") {
    std::string docroot = spec.value("php", json::object()).value("docroot", "");
    if (std::string err = check_directory_beneath(publish, docroot); !err.empty()) {
      return fail("php.docroot \"" + docroot + "\" is not a directory of the site's files: " + err);
    }
    // Mount points exist before the files become read-only for php-fpm.
    std::string err = prepare_storage(spec, publish.string(), site_dir + "/storage");
    if (!err.empty()) return fail(err);
  } else if (spec.value("mode", "") == "app") {
    // Components run from the source see each volume inside its files.
    if (std::string err =
            prepare_storage(spec, publish.string(), site_dir + "/storage", runs_from_source(spec));
        !err.empty())
      return fail(err);
  }
  fs::path root = fs::path(site_dir) / "revisions" / std::to_string(number);
  fs::create_directories(root.parent_path(), ec);
  fs::remove_all(root, ec);
  const unsigned owner = store_.project_uid(site["metadata"]["namespace"]);
  if (std::string err = move_revision_files(publish, root, owner, config_.build_disk_bytes);
      !err.empty())
    return fail(err);
  discard_build_work(site_dir, p.work);
  // The live revision keeps serving until the new instances are ready.
  if (std::string err = start_workloads(site, number, root.string(), spec_text); !err.empty()) {
    fs::remove_all(root, ec);
    return fail(err);
  }
  store_.finish_revision(uid, number, "Deployed", "", log, true, root.string());
  route_to(site, number, root.string(), spec_text, config_.drain);
  return "";
}

std::string SiteReconciler::sandbox_build(const std::string& ns, const std::string& name,
                                          int64_t number, const fs::path& checkout,
                                          const std::string& sub, const std::string& cache_dir,
                                          const json& spec, BuildOptions* opts) {
  // Builds download dependencies: they join the site's network, with its
  // project's egress.
  runtime::NetworkSpec net = site_network(ns, name, spec, project_egress(ns));
  if (std::string err = config_.runtime->ensure_network(net); !err.empty()) return err;
  runtime::InstanceSpec job;
  job.network = net.name;
  job.id = "build." + ns + "." + name + ".r" + std::to_string(number);
  job.project = ns;
  job.uid = store_.project_uid(ns);
  if (job.uid == 0) return "no sandbox uid is left for project \"" + ns + "\"";
  job.command = opts->command;
  job.env = opts->env;
  // Caches (npm, pip, go...) under HOME survive from one build to the next.
  if (!job.env.count("HOME")) job.env["HOME"] = "/cache";
  job.workdir = (fs::path("/src") / sub).lexically_normal().string();
  job.resources.memory_bytes = config_.build_memory_bytes;
  job.resources.cpu_millis = config_.build_cpu_millis;
  job.resources.pids = config_.build_pids;
  job.resources.tmp_bytes = config_.build_tmp_bytes;
  job.grace = std::chrono::seconds(2);
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) return "cannot create the build cache: " + ec.message();
  // The build writes its checkout: hand it to the project's uid (lchown:
  // links are not followed; nothing of the tenant runs yet to race this).
  if (std::string err = chown_tree(checkout, job.uid); !err.empty()) return err;
  job.volumes = {{checkout.string(), "/src", false}, {cache_dir, "/cache", false}};
  std::string error;
  opts->sandbox_command = config_.runtime->prepare_job(job, &error);
  if (opts->sandbox_command.empty()) return error;
  opts->sandbox_end = [runtime = config_.runtime, id = job.id] { runtime->end_job(id); };
  return "";
}

void SiteReconciler::write_status(const json& site, const std::optional<store::Revision>& live,
                                  const std::string& reason, const std::string& message,
                                  const std::optional<std::string>& last_error) {
  const json& old = site["status"];
  std::string ready = live ? "True" : "False";
  std::string since = store::now_rfc3339();
  if (old.contains("conditions")) {
    for (const auto& c : old["conditions"]) {
      if (c.value("type", "") == "Ready" && c.value("status", "") == ready)
        since = c.value("lastTransitionTime", since);
    }
  }
  json urls = json::array();
  std::vector<std::string> refused;
  const std::vector<std::string> hosts = hosts_of(store_, site, &refused);
  // spec.tls on the TLS listener: https:// URLs, status.tls, and a
  // CertificateReady condition while its certificate has a problem.
  json tls_status = nullptr;
  // As this pass's publish_access made it (no second read of the secret).
  if (certificates_)
    tls_status = certificates_->status_of(site["metadata"]["namespace"].get<std::string>(),
                                          site["metadata"]["name"].get<std::string>());
  const bool https = tls_status.is_object() && !tls_status.contains("message");
  for (const auto& host : hosts) {
    if (host.starts_with("*.")) continue;
    urls.push_back(https ? "https://" + host + *config_.public_tls_url_port + "/"
                         : "http://" + host + config_.public_url_port + "/");
  }
  json patch = {
      {"observedGeneration", site["metadata"]["generation"]},
      {"revision", live ? json(live->number) : json(nullptr)},
      {"commit", live ? json(live->commit) : json(nullptr)},
      {"urls", urls},
      {"conditions", json::array({{{"type", "Ready"},
                                   {"status", ready},
                                   {"reason", reason},
                                   {"message", message},
                                   {"lastTransitionTime", since}}})},
  };
  if (!refused.empty()) {
    std::string hosts_since = store::now_rfc3339();
    for (const auto& c : old.value("conditions", json::array()))
      if (c.value("type", "") == "HostsAllowed")
        hosts_since = c.value("lastTransitionTime", hosts_since);
    std::string why;
    for (const auto& r : refused) why += (why.empty() ? "" : "; ") + r;
    patch["conditions"].push_back({{"type", "HostsAllowed"},
                                   {"status", "False"},
                                   {"reason", "HostNotAllowed"},
                                   {"message", why},
                                   {"lastTransitionTime", hosts_since}});
  }
  // A merge patch: what the last status.tls said and this one does not (a
  // message that no longer holds) is removed by name.
  patch["tls"] = tls_status;
  if (tls_status.is_object() && old.contains("tls") && old["tls"].is_object()) {
    for (const auto& [key, value] : old["tls"].items())
      if (!tls_status.contains(key)) patch["tls"][key] = nullptr;
  }
  if (tls_status.is_object() && tls_status.contains("message")) {
    std::string cert_since = store::now_rfc3339();
    for (const auto& c : old.value("conditions", json::array()))
      if (c.value("type", "") == "CertificateReady" && c.value("status", "") == "False")
        cert_since = c.value("lastTransitionTime", cert_since);
    patch["conditions"].push_back(
        {{"type", "CertificateReady"},
         {"status", "False"},
         {"reason", certificate_pending(tls_status) ? "CertificatePending" : "CertificateFailed"},
         {"message", tls_status["message"]},
         {"lastTransitionTime", cert_since}});
  }
  std::string login_error;
  {
    std::lock_guard lock(mu_);
    auto it = login_errors_.find(site["metadata"]["namespace"].get<std::string>() + "/" +
                                 site["metadata"]["name"].get<std::string>());
    if (it != login_errors_.end()) login_error = it->second;
  }
  if (!login_error.empty()) {
    std::string login_since = store::now_rfc3339();
    for (const auto& c : old.value("conditions", json::array()))
      if (c.value("type", "") == "AccessReady" && c.value("status", "") == "False")
        login_since = c.value("lastTransitionTime", login_since);
    patch["conditions"].push_back({{"type", "AccessReady"},
                                   {"status", "False"},
                                   {"reason", "LoginUnavailable"},
                                   {"message", login_error + "; nobody can log in"},
                                   {"lastTransitionTime", login_since}});
  }
  if (last_error) patch["lastError"] = last_error->empty() ? json(nullptr) : json(*last_error);
  if (live && workloads_) {
    if (auto plan = plan_for(site, live->number, live->root, live->spec)) {
      std::string problem;
      patch["instances"] = workloads_->observe(*plan, &problem);
      // A live revision that cannot start instances now (a secret deleted
      // since) keeps the ones that run, and says why no new one starts.
      if (!plan->error.empty()) problem = plan->error + (problem.empty() ? "" : "; " + problem);
      json scaled = autoscaler_.status(site["metadata"]["uid"].get<std::string>());
      patch["autoscale"] = scaled;  // null: not autoscaled
      patch["storage"] = workloads_->storage_use(*plan);
      // A crashing app is restarted by the runtime and reported here.
      if (!problem.empty()) patch["conditions"][0]["message"] = message + "; " + problem;
      // Ready means answers: a live revision none of whose instances answer
      // is not Ready (the route keeps its last target; the runtime restarts).
      if (!workloads_->answers(*plan)) {
        json& ready_condition = patch["conditions"][0];
        ready_condition["lastTransitionTime"] = store::now_rfc3339();
        if (old.contains("conditions")) {
          for (const auto& c : old["conditions"])
            if (c.value("type", "") == "Ready" && c.value("status", "") == "False")
              ready_condition["lastTransitionTime"] =
                  c.value("lastTransitionTime", store::now_rfc3339());
        }
        ready_condition["status"] = "False";
        ready_condition["reason"] = "Unavailable";
        ready_condition["message"] = "revision " + std::to_string(live->number) +
                                     " is live but no instance answers" +
                                     (problem.empty() ? "" : ": " + problem);
      }
    } else {
      patch["instances"] = nullptr;
    }
  } else if (!live) {
    patch["instances"] = nullptr;  // nothing runs (a revision no longer allowed stopped)
  }
  // What changed, as the site's events (wok get events, wok describe).
  std::string ready_base = message;
  if (patch["conditions"][0].value("reason", "") == "Unavailable")
    ready_base = "revision " + std::to_string(live->number) + " is live but no instance answers";
  // Against the status as stored now: one pass writes it several times
  // from the same read of the site.
  const auto stored = store_.get("Site", site["metadata"]["namespace"], site["metadata"]["name"]);
  const json& before = stored ? (*stored)["status"] : old;
  for (const auto& e : store::status_events(before, patch, ready_base))
    store::record_event(store_, site, e);
  store_.patch_status("Site", site["metadata"]["namespace"], site["metadata"]["name"], patch);
}

void SiteReconciler::collect_garbage(const std::string& uid, const std::string& site_dir) {
  auto all = store_.revisions(uid);  // newest first
  std::set<std::string> keep;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i < kRevisionDirsKept || all[i].live) keep.insert(all[i].root);
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(site_dir) / "revisions", ec)) {
    if (!keep.count(entry.path().string())) fs::remove_all(entry.path(), ec);
  }
}

}  // namespace wok::controllers

namespace wok::controllers {

std::string SiteReconciler::start_servers(const WorkloadPlan& plan) {
  if (plan.servers.empty()) return "";
  WorkloadPlan servers = plan;
  servers.instances.clear();
  servers.gating.clear();
  for (const auto& s : plan.instances)
    for (const auto& d : plan.servers)
      if (d.id == s.id) servers.instances.push_back(s), servers.gating.insert(s.id);
  servers.php = false;
  return workloads_->roll_out(servers);
}

std::string SiteReconciler::restore_data(const json& site, const json& spec,
                                         const std::string& source_ns, const BackupInfo& backup,
                                         const json& manifest, const WorkloadPlan* plan,
                                         json* restored) {
  *restored = {{"storage", json::array()}, {"services", json::array()}, {"database", false}};
  auto holds = [](const json& list, const std::string& n) {
    for (const auto& e : list)
      if ((e.is_string() && e == n) || (e.is_object() && e.value("name", "") == n)) return true;
    return false;
  };
  const unsigned uid = store_.project_uid(site["metadata"]["namespace"].get<std::string>());
  const fs::path storage = storage_dir_of(config_.data_dir, site);
  const render::SitePlan p = render::plan_site({{"metadata", site["metadata"]}, {"spec", spec}});
  for (const auto& v : p.volumes) {
    if (!holds(manifest["storage"], v.name)) continue;
    if (std::string err = config_.backups->restore_volume(source_ns, backup, "storage/" + v.name,
                                                          storage / v.name, uid);
        !err.empty())
      return err;
    (*restored)["storage"].push_back(v.name);
  }
  for (const auto& s : p.services) {
    if (!holds(manifest["services"], s.name)) continue;
    // A running Redis was backed up as a snapshot (controllers/backups.h);
    // anything else, and a server that was not running, as its files.
    bool snapshot = false;
    for (const auto& e : manifest["services"])
      if (e.is_object() && e.value("name", "") == s.name)
        snapshot = e.value("snapshot", "") == render::kRedisSnapshot;
    if (snapshot && s.engine != "redis")
      return "backup " + backup.id + " holds a Redis snapshot of service " + s.name +
             "; this site's is " + s.engine;
    if (std::string err = config_.backups->restore_volume(
            source_ns, backup, "services/" + s.name,
            fs::path(service_dir(storage.string(), s.name)) / "data", uid, snapshot);
        !err.empty())
      return err;
    (*restored)["services"].push_back(s.name);
  }
  const json& db = manifest["database"];
  if (!p.database.enabled() || !db.is_object()) return "";
  if (db.value("engine", "") != p.database.engine)
    return "backup " + backup.id + " holds a " + db.value("engine", "") +
           " database; this site's is " + p.database.engine;
  if (!plan || !workloads_) return "the database cannot be started here";
  if (std::string err = start_servers(*plan); !err.empty()) return err;
  if (std::string err = config_.backups->restore_database(source_ns, backup, site, spec);
      !err.empty())
    return err;
  (*restored)["database"] = true;
  return "";
}

bool SiteReconciler::needs_seed(const json& site) const {
  const json& spec = site["spec"];
  return config_.backups && workloads_ && spec.contains("cloneFrom") && runs_instances(spec) &&
         !site.value("status", json::object()).contains("clonedFrom");
}

void SiteReconciler::seed_in_background(const std::string& ns, const std::string& name,
                                        const std::string& uid) {
  std::string outcome;
  {
    std::unique_lock hold(site_lock(ns + "/" + name));
    auto site = store_.get("Site", ns, name);
    if (site && (*site)["metadata"].value("uid", "") == uid && !store_.live_revision(uid) &&
        needs_seed(*site)) {
      const std::string spec_text = (*site)["spec"].dump();
      // Its servers (the database) as its first revision will run them.
      auto plan = plan_for(*site, 0, "", spec_text);
      if (plan && plan->error.empty()) {
        outcome = mount_storage((*site)["spec"], storage_dir_of(config_.data_dir, *site).string(),
                                store_.project_uid(ns));
        if (outcome.empty()) outcome = seed_clone(*site, (*site)["spec"], *plan);
        if (outcome.empty()) return;  // status.clonedFrom says so
        spdlog::warn("site {}/{}: the clone's data did not go in: {}", ns, name, outcome);
      }
    }
  }
  std::lock_guard lock(mu_);
  seeded_[uid] = outcome;
}

std::string SiteReconciler::seed_clone(const json& site, const json& spec,
                                       const WorkloadPlan& plan) {
  if (!config_.backups) return "this platform keeps no backups";
  const std::string ns = site["metadata"]["namespace"], name = site["metadata"]["name"];
  const json& from = spec["cloneFrom"];
  const std::string source_ns = from.value("project", ns), source = from.value("site", "");
  BackupError error;
  auto backup = config_.backups->find(source_ns, source, from.value("backup", "latest"), &error);
  if (!backup) return error.message;
  auto manifest = config_.backups->manifest(source_ns, *backup, &error);
  if (!manifest) return error.message;
  if (std::string err = config_.backups->check_restore_size(source_ns, *backup, spec); !err.empty())
    return err;
  // The clone never ran: what is set aside in its volumes is a seeding
  // cut short by wok's end (done again now), nothing of its own.
  const fs::path storage = storage_dir_of(config_.data_dir, site);
  const render::SitePlan p = render::plan_site({{"metadata", site["metadata"]}, {"spec", spec}});
  remove_site_restore_leftovers(storage, p);
  json restored;
  if (std::string err = restore_data(site, spec, source_ns, *backup, *manifest, &plan, &restored);
      !err.empty())
    return err;
  spdlog::info("site {}/{}: cloned from backup {} of {}/{}", ns, name, backup->id, source_ns,
               source);
  store_.patch_status(
      "Site", ns, name,
      {{"clonedFrom", {{"project", source_ns}, {"site", source}, {"backup", backup->id}}}});
  return "";
}

std::optional<json> SiteReconciler::restore(const std::string& ns, const std::string& name,
                                            const BackupInfo& backup, const json& manifest,
                                            BackupError* error, const json* resumed) {
  auto fail = [&](int status, std::string message) -> std::optional<json> {
    *error = {status, std::move(message)};
    return std::nullopt;
  };
  if (!config_.backups) return fail(501, "this platform keeps no backups");
  json spec = manifest["spec"];
  const std::string commit = manifest.value("commit", "");
  // What can be refused is, before anything is done.
  auto site = store_.get("Site", ns, name);
  if (!site) return fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  {
    const render::SitePlan now = render::plan_site(*site);
    const json& db = manifest["database"];
    if (now.database.enabled() && db.is_object() && db.value("engine", "") != now.database.engine)
      return fail(422, "backup " + backup.id + " holds a " + db.value("engine", "") +
                           " database; the site's is " + now.database.engine +
                           ": restore it into a new site (--to)");
  }
  // Volumes are never shrunk: a backup's smaller sizes become today's.
  {
    const json& now = (*site)["spec"];
    auto larger = [](json& size, const json& current) {
      if (size.is_string() && current.is_string() &&
          api::parse_memory_bytes(current.get<std::string>()) >
              api::parse_memory_bytes(size.get<std::string>()))
        size = current;
    };
    for (const char* list : {"storage", "services"}) {
      if (!spec.contains(list) || !now.contains(list)) continue;
      for (json& v : spec[list])
        for (const json& c : now[list])
          if (v.value("name", "") == c.value("name", "") && v.contains("size"))
            larger(v["size"], c.value("size", json()));
    }
    if (spec.contains("database") && now.contains("database") && spec["database"].is_object())
      larger(spec["database"]["size"], now["database"].value("size", json()));
    // Nor is a database downgraded: its dump is imported into today's server.
    api::keep_database_version(now, spec);
  }
  if (std::string err = config_.backups->check_restore_size(ns, backup, spec); !err.empty())
    return fail(422, err);
  // The state before, kept as a backup of its own: a restore loses nothing.
  // Only a site with no revision running has none to keep. A resumed
  // restore made it before it was cut short.
  std::optional<std::string> before;
  if (resumed) {
    if (const json& pre = (*resumed)["preRestoreBackup"]; pre.is_string()) before = pre;
  } else {
    BackupError pre_error;
    auto made = config_.backups->create(ns, name, "pre-restore", &pre_error);
    if (!made && !pre_error.nothing_yet)
      return fail(pre_error.status,
                  "nothing was restored: the backup of what the site holds now failed: " +
                      pre_error.message);
    if (made) before = made->id;
  }
  auto busy = config_.backups->hold_for_restore(ns, name, error);
  if (!busy) return std::nullopt;
  std::unique_lock hold(site_lock(ns + "/" + name));
  if (resumed) {  // passes wait on the lock held now
    std::lock_guard lock(mu_);
    to_resume_.erase(ns + "/" + name);
  }
  site = store_.get("Site", ns, name);  // as it is now that no pass runs
  if (!site) return fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  routes_.set_restoring(ns, name, true);
  // The record of a restore under way (status.restoring), until it ends
  // either way; kill -9 leaves it for the next start to finish.
  if (!resumed)
    store_.patch_status("Site", ns, name,
                        {{"restoring",
                          {{"backup", backup.id},
                           {"preRestoreBackup", before ? json(*before) : json(nullptr)},
                           {"since", store::now_rfc3339()}}}});
  struct Lift {
    RoutePublisher& routes;
    store::Store& store;
    std::string ns, name;
    bool recorded = true;
    void end_record() {
      if (recorded) store.patch_status("Site", ns, name, {{"restoring", nullptr}});
      recorded = false;
    }
    ~Lift() {
      end_record();
      routes.set_restoring(ns, name, false);
    }
  } lift{routes_, store_, ns, name};
  spdlog::info("site {}/{}: restoring backup {}", ns, name, backup.id);
  // Nothing of the site runs on what is put back: its components, and the
  // services whose data is replaced. Its database keeps running (its import
  // is an SQL job against it).
  const render::SitePlan p = render::plan_site({{"metadata", (*site)["metadata"]}, {"spec", spec}});
  if (config_.runtime) {
    for (const auto& st : config_.runtime->list()) {
      auto id = parse_instance_id(st.id);
      if (!id || id->ns != ns || id->site != name) continue;
      if (id->revision == 0 && id->component == "db") continue;
      if (!config_.runtime->stop(st.id))
        return fail(500, "instance " + st.id + " does not stop: nothing was restored");
    }
    // Its cron jobs' runs under way end too (held, no new one starts).
    const std::string runs = "cron." + (*site)["metadata"].value("uid", "") + ".";
    for (const auto& id : config_.runtime->networked_jobs())
      if (id.starts_with(runs)) config_.runtime->end_job(id);
  }
  const unsigned uid = store_.project_uid(ns);
  const fs::path storage = storage_dir_of(config_.data_dir, *site);
  if (std::string err = mount_storage(spec, storage.string(), uid, {{}, true}); !err.empty())
    return fail(500, err);
  json restored = {{"storage", json::array()}, {"services", json::array()}, {"database", false}};
  // A failure midway says what is back already, and where the rest is.
  auto failed_midway = [&](int status, const std::string& err) {
    return fail(status, err + " (restored before it: " + restored.dump() +
                            (before ? "; what the site held before is backup " + *before : "") +
                            ")");
  };
  std::optional<WorkloadPlan> plan;
  if (p.database.enabled()) {
    auto live = store_.live_revision((*site)["metadata"]["uid"].get<std::string>());
    plan = plan_for(*site, live ? live->number : 0, live ? live->root : "", spec.dump());
  }
  // What the cut restore set aside is in the pre-restore backup: it goes
  // first (the volume needs room for what it holds and the backup's files,
  // as for any restore).
  if (resumed && before) {
    remove_site_restore_leftovers(storage, p);
  }
  if (std::string err =
          restore_data(*site, spec, ns, backup, manifest, plan ? &*plan : nullptr, &restored);
      !err.empty())
    return failed_midway(500, err);
  // The backup's revision: pinned to its commit while the spec is its own
  // (never a clone's seeding again: its data is the backup's).
  json pin = {{"restoredCommit", commit},
              {"restoredSpec", spec},
              {"pinnedRevision", nullptr},  // a rollback's pin ends: this one is newer
              {"pinnedCommit", nullptr},
              {"pinnedBy", nullptr}};
  if (spec.contains("cloneFrom")) pin["clonedFrom"] = {{"restored", backup.id}};
  store_.patch_status("Site", ns, name, pin);
  if (auto current = store_.get("Site", ns, name); current && (*current)["spec"] != spec) {
    json next = *current;  // as it is now: only its spec changes
    next["spec"] = spec;
    next["metadata"].erase("resourceVersion");
    store::Result r = store_.update("Site", next);
    if (!r.ok())
      return fail(r.code == store::Code::kConflict ? 409 : 500,
                  "the files and data are back, but the backup's spec cannot be: " + r.message);
  }
  lift.end_record();  // the data and the spec are the backup's: nothing to finish
  hold.unlock();
  // Its hosts answer 503 until the revision runs again (or the wait is over).
  if (config_.wake_site) config_.wake_site(ns, name);
  const std::string site_uid = (*site)["metadata"]["uid"];
  const auto deadline = std::chrono::steady_clock::now() + config_.ready_timeout;
  bool back = false;
  while (!back && std::chrono::steady_clock::now() < deadline && !config_.backups->cancelled()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto live = store_.live_revision(site_uid);
    if (!live || live->commit != commit || json::parse(live->spec, nullptr, false) != spec)
      continue;
    if (!runs_instances(spec) || !config_.runtime) {
      back = true;
      break;
    }
    bool any = false, all = true;
    for (const auto& st : config_.runtime->list()) {
      auto id = parse_instance_id(st.id);
      if (!id || id->ns != ns || id->site != name || id->revision != live->number) continue;
      any = true;
      all = all && st.phase == runtime::Phase::Ready;
    }
    back = any && all;
  }
  // One more pass routes the ready instances before the 503 goes.
  if (back) std::this_thread::sleep_for(config_.workload_resync + std::chrono::milliseconds(300));
  json out = backup.to_json();
  out["restored"] = restored;
  out["preRestoreBackup"] = before ? json(*before) : json(nullptr);
  out["revision"] = manifest.value("revision", int64_t{0});
  out["commit"] = commit;
  out["running"] = back;
  if (!back) {  // why not, when the site says (a revision that failed)
    auto now = store_.get("Site", ns, name);
    if (now) out["message"] = (*now).value(json::json_pointer("/status/lastError"), "");
  }
  return out;
}

void SiteReconciler::resume_restore(const std::string& ns, const std::string& name,
                                    const json& record) {
  const std::string key = ns + "/" + name;
  const std::string id = record.value("backup", "");
  const json pre = record.value("preRestoreBackup", json());
  spdlog::info("site {}: finishing the restore of backup {} cut short by wok's end", key, id);
  BackupError error{500, "this platform keeps no backups"};
  std::optional<json> done;
  auto site = store_.get("Site", ns, name);
  if (!site) {
    error = {404, "the site is gone"};
  } else if (config_.backups) {
    auto backup = config_.backups->find(ns, name, id, &error);
    std::optional<json> manifest;
    if (backup) manifest = config_.backups->manifest(ns, *backup, &error);
    if (manifest) done = restore(ns, name, *backup, *manifest, &error, &record);
  }
  if (!done) {
    // Not finished: the site runs as the cut restore left it.
    {
      std::lock_guard lock(mu_);
      to_resume_.erase(key);
    }
    if (site) {
      store_.patch_status("Site", ns, name, {{"restoring", nullptr}});
      store::record_event(
          store_, *site,
          {"Warning", "RestoreFailed",
           "the restore of backup " + id +
               ", cut short by wok's end, could not be finished: " + error.message +
               (pre.is_string() ? "; what the site held before is backup " + pre.get<std::string>()
                                : std::string())});
    }
    routes_.set_restoring(ns, name, false);
    spdlog::error("site {}: the restore of backup {} could not be finished: {}", key, id,
                  error.message);
  } else {
    store::record_event(store_, *site,
                        {"Normal", "Restored",
                         "the restore of backup " + id + ", cut short by wok's end, is finished"});
  }
  std::lock_guard lock(mu_);
  resuming_.erase(key);
}

}  // namespace wok::controllers
