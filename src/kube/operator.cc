#include "kube/operator.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "base/sealed_box.h"
#include "git/repository.h"
#include "http/ascii.h"
#include "kube/clone_grant.h"
#include "kube/kinds.h"
#include "kube/ownership.h"
#include "kube/site_admission.h"
#include "kube/site_backups.h"
#include "kube/site_events.h"
#include "kube/site_revisions.h"
#include "kube/site_status.h"
#include "render/plan.h"
#include "store/host_claims.h"

namespace wok::kube {
namespace {

using nlohmann::json;

std::string label_of(const json& object, const char* label) {
  const json& meta = object["metadata"];
  if (!meta.contains("labels") || !meta["labels"].is_object()) return "";
  return meta["labels"].value(label, "");
}

std::string site_key(const std::string& ns, const std::string& name) {
  return "site/" + ns + "/" + name;
}

std::vector<std::string> hosts_of(const json& site) {
  std::vector<std::string> out;
  for (const auto& h : site.value("spec", json::object()).value("hosts", json::array())) {
    if (h.is_string()) out.push_back(h);
  }
  return out;
}

// What `wok up`'s API server refuses at admission: "" or the field errors,
// in the admission webhook's words (kube/site_admission.h).
std::string site_errors(const json& site, const api::SiteBounds& bounds) {
  return api::join_errors(site_spec_errors(site, bounds));
}

// The site's hosts its project's patterns do not allow ("" when all are):
// the store's one rule (store/host_claims.h), as on `wok up`.
std::string hosts_not_allowed(const json& site, const json& project) {
  return api::join_errors(store::host_claim_errors(site.value("spec", json::object()), project,
                                                   site["metadata"].value("namespace", "")));
}

}  // namespace

std::string ensure_database_secret(KubeClient& client, const json& site) {
  const render::SitePlan plan = render::plan_site(site);
  for (const auto& [name, user] : render::generated_secrets(plan)) {
    const std::string path = "/api/v1/namespaces/" + plan.ns + "/secrets/" + name;
    Reply got = client.request("GET", path);
    if (got.ok()) continue;  // made before, or the project's own password: kept
    if (got.status != 404) return "secret " + name + ": " + got.describe();
    // Not labelled managed-by wok: never pruned, so the password outlives
    // the site with the data's volume claim (docs/data.md).
    json data = {{"password", base::random_token()}};
    if (!user.empty()) data["username"] = user;
    json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata",
                    {{"name", name},
                     {"namespace", plan.ns},
                     {"labels", {{"wok.dev/generated-for", plan.name}}}}},
                   {"type", user.empty() ? "Opaque" : "kubernetes.io/basic-auth"},
                   {"stringData", data}};
    Reply made = client.request("POST", "/api/v1/namespaces/" + plan.ns + "/secrets", secret.dump(),
                                "application/json");
    if (!made.ok() && made.status != 409)  // 409: made meanwhile
      return "secret " + name + ": " + made.describe();
  }
  return "";
}

Renderer default_renderer() {
  return {[](const json& project, const render::PlatformSettings& s) {
            return render::render_project(project, s);
          },
          [](const json& site, const json& project, const render::PlatformSettings& s) {
            return render::render_site(site, project, s);
          }};
}

Operator::Operator(KubeClient& client, OperatorConfig config)
    : client_(client), config_(std::move(config)) {
  projects_ = std::make_unique<Informer>(client_, project_kind(), "",
                                         [this](auto& o, auto& n) { on_project(o, n); });
  sites_ = std::make_unique<Informer>(client_, site_kind(), "",
                                      [this](auto& o, auto& n) { on_site(o, n); });
  std::map<std::string, Informer*> caches;
  for (const auto& kind : owned_kinds(config_.settings.openshift_routes,
                                      config_.settings.postgresql_operator == "cloudnative-pg",
                                      config_.settings.mariadb_operator == "mariadb-operator")) {
    owned_.push_back(std::make_unique<Informer>(client_, kind,
                                                std::string(kManagedByLabel) + "=wok",
                                                [this](auto& o, auto& n) { on_owned(o, n); }));
    caches[kind.api_version + "/" + kind.kind] = owned_.back().get();
  }
  applier_ = std::make_unique<Applier>(client_, std::move(caches));
  reconcile::ControllerOptions options;
  options.name = "operator";
  options.workers = config_.workers;
  options.resync = config_.resync;
  // Acting on half a picture would re-apply (or fail to prune) objects.
  options.ready = [this] { return synced(); };
  controller_ = std::make_unique<reconcile::Controller>(
      std::move(options), [this](const std::string& key) { return pass(key); });
  if (config_.leader_elect) {
    elector_ = std::make_unique<LeaderElector>(client_, config_.lease,
                                               [this](bool leading) { on_leading(leading); });
  }
}

Operator::~Operator() { stop(); }

void Operator::start() {
  if (started_.exchange(true)) return;
  projects_->start();
  sites_->start();
  for (auto& informer : owned_) informer->start();
  if (elector_) controller_->pause();  // until leading: a standby keeps its keys
  controller_->start();
  if (elector_)
    elector_->start();
  else
    on_leading(true);
}

void Operator::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  controller_->stop();
  // After the workers: nothing writes once the lease is released.
  if (elector_) elector_->stop();
  // A watch notices a stop within about a second: ask them all first.
  projects_->request_stop();
  sites_->request_stop();
  for (auto& informer : owned_) informer->request_stop();
  projects_->stop();
  sites_->stop();
  for (auto& informer : owned_) informer->stop();
}

bool Operator::synced() const {
  if (!projects_->synced() || !sites_->synced()) return false;
  for (const auto& informer : owned_) {
    if (!informer->synced()) return false;
  }
  return true;
}

bool Operator::ready() const {
  if (!synced() || lost_leadership_) return false;
  return !elector_ || elector_->leading() || elector_->observed();
}

void Operator::on_leading(bool leading) {
  if (leading) {
    leading_ = true;
    controller_->resume();
    enqueue_all();  // whatever happened while standing by
  } else if (leading_.exchange(false) && !stopping_) {
    spdlog::error("lost the leader lease; stopping so that another replica takes over");
    lost_leadership_ = true;
  }
}

// The grants no Site has (kube/clone_grant.h), every 10 minutes while leading.
Operator::Outcome Operator::sweep_grants() {
  Outcome outcome;
  outcome.requeue_after = std::chrono::minutes(10);
  if (!sites_->synced()) {
    outcome.requeue_after = std::chrono::seconds(5);
    return outcome;
  }
  std::set<std::string> live;
  for (const auto& s : sites_->list()) live.insert((*s)["metadata"].value("uid", ""));
  const int swept = sweep_clone_grants(client_, config_.own_namespace, live, 600);
  if (swept < 0) outcome.error = "list the clone grants in " + config_.own_namespace;
  if (swept > 0) spdlog::info("deleted {} clone grants no Site has", swept);
  return outcome;
}

void Operator::enqueue_all() {
  controller_->enqueue(kCloneGrantsKey);
  for (const auto& p : projects_->list())
    controller_->enqueue("project/" + (*p)["metadata"].value("name", ""));
  for (const auto& s : sites_->list()) {
    const json& meta = (*s)["metadata"];
    controller_->enqueue(site_key(meta.value("namespace", ""), meta.value("name", "")));
  }
}

void Operator::on_project(const ObjectPtr& old, const ObjectPtr& now) {
  const json& object = now ? *now : *old;
  std::string name = object["metadata"].value("name", "");
  controller_->enqueue("project/" + name);
  // A project's sites render from it (and fail without it).
  for (const auto& s : sites_->list()) {
    const json& meta = (*s)["metadata"];
    if (meta.value("namespace", "") == name)
      controller_->enqueue(site_key(name, meta.value("name", "")));
  }
}

std::string Operator::name_conflict(std::vector<json>& desired, const std::string& ns,
                                    const std::string& site) const {
  std::map<std::string, std::string> others;  // "Kind/name" -> the site it is of
  for (const json& o : applier_->owned([&](const json& o) {
         const json& m = o["metadata"];
         if (m.value("namespace", "") != ns) return false;
         const json labels = m.value("labels", json::object());
         return labels.contains(kSiteLabel) && labels.value(kSiteLabel, "") != site;
       }))
    others[o.value("kind", "") + "/" + o["metadata"].value("name", "")] =
        o["metadata"]["labels"].value(kSiteLabel, "");
  std::string first;
  size_t count = 0;
  std::erase_if(desired, [&](const json& o) {
    const std::string kind = o.value("kind", ""), object = o["metadata"].value("name", "");
    auto it = others.find(kind + "/" + object);
    if (it == others.end()) return false;
    if (count++ == 0)
      first =
          http::ascii_lowercase(kind) + " " + object + " is site " + ns + "/" + it->second + "'s";
    return true;
  });
  if (count == 0) return "";
  return first + (count > 1 ? " (and " + std::to_string(count - 1) + " more of its names)" : "") +
         ": two sites of the project make the same names (a site and a component of another "
         "joined by -); rename one";
}

void Operator::on_site(const ObjectPtr& old, const ObjectPtr& now) {
  const json& object = now ? *now : *old;
  const json& meta = object["metadata"];
  controller_->enqueue(site_key(meta.value("namespace", ""), meta.value("name", "")));
  // A site made or deleted: its project's backup sweep keeps the sites there.
  if (!old || !now) controller_->enqueue("project/" + meta.value("namespace", ""));
  // A site deleted frees its objects' names for a site of its project that
  // renders the same (NameConflict).
  if (old && !now)
    for (const auto& s : sites_->list())
      if ((*s)["metadata"].value("namespace", "") == meta.value("namespace", ""))
        controller_->enqueue(
            site_key(meta.value("namespace", ""), (*s)["metadata"].value("name", "")));
  // Deleted during a clone from another project (not cloned yet): its grant goes too.
  if (old && !now && !clone_source_project(*old).empty() &&
      !old->value("status", json::object()).contains("clonedFrom"))
    drop_clone_grant(client_, config_.own_namespace, *old);
  // A host released or newly claimed can settle another site's conflict.
  std::vector<std::string> hosts;
  if (old) hosts = hosts_of(*old);
  if (now)
    for (auto& h : hosts_of(*now)) hosts.push_back(h);
  if (hosts.empty()) return;
  for (const auto& s : sites_->list()) {
    for (const auto& h : hosts_of(*s)) {
      if (std::find(hosts.begin(), hosts.end(), h) != hosts.end()) {
        const json& m = (*s)["metadata"];
        controller_->enqueue(site_key(m.value("namespace", ""), m.value("name", "")));
        break;
      }
    }
  }
}

void Operator::on_owned(const ObjectPtr& old, const ObjectPtr& now) {
  const json& object = now ? *now : *old;
  std::string site = label_of(object, kSiteLabel);
  if (!site.empty()) {
    controller_->enqueue(site_key(object["metadata"].value("namespace", ""), site));
    return;
  }
  std::string project = label_of(object, kProjectLabel);
  if (!project.empty()) controller_->enqueue("project/" + project);
}

// One pass of the operator's reconcile::Controller (the loop `wok up`'s
// controllers are to share): a standby holds its keys (the controller is
// paused), the backoff, requeue and resync are the controller's.
reconcile::Result Operator::pass(const std::string& key) {
  if (!leading_) return reconcile::Result::done();  // enqueue_all() brings it back if we lead later
  Outcome outcome;
  try {
    outcome = reconcile(key);
  } catch (const std::exception& e) {
    outcome.error = std::string("internal error: ") + e.what();
  }
  ++reconciles_;
  if (!outcome.error.empty()) {
    ++errors_;
    return reconcile::Result::failed(std::move(outcome.error));
  }
  return reconcile::Result::after(outcome.requeue_after);
}

Operator::Outcome Operator::reconcile(const std::string& key) {
  if (key.rfind("project/", 0) == 0) return reconcile_project(key.substr(8));
  if (key == kCloneGrantsKey) return sweep_grants();
  std::string rest = key.substr(5);  // "site/NS/NAME"
  size_t slash = rest.find('/');
  return reconcile_site(rest.substr(0, slash), rest.substr(slash + 1));
}

Operator::Outcome Operator::reconcile_project(const std::string& name) {
  auto mine = [&name](const json& o) {
    return label_of(o, kProjectLabel) == name && label_of(o, kSiteLabel).empty();
  };
  Outcome outcome;
  ObjectPtr project = projects_->get("", name);
  std::vector<json> desired;
  if (project) {
    const json& meta = (*project)["metadata"];
    Owner owner{project_kind().api_version, project_kind().kind, name, meta.value("uid", ""), ""};
    try {
      desired = config_.renderer.project(*project, config_.settings);
    } catch (const std::exception& e) {
      outcome.error = "render project " + name + ": " + e.what();
      return outcome;
    }
    // Once the project has a backup repository (a site needed one: its
    // claim, or with an S3 store its copy of the store's credentials), the
    // daily sweep of its deleted sites' backups, told the sites there now.
    Reply claim = client_.request(
        "GET",
        config_.settings.backup_repository.empty()
            ? "/api/v1/namespaces/" + name + "/persistentvolumeclaims/" + render::kBackupClaim
            : "/api/v1/namespaces/" + name + "/secrets/" + render::kBackupStoreSecret);
    if (!claim.ok() && claim.status != 404) {  // unknown: nothing pruned on a guess
      outcome.error = "project " + name + ": read its backup claim: " + claim.describe();
      return outcome;
    }
    if (claim.ok()) {
      std::map<std::string, std::string> live;
      for (const auto& s : sites_->list())
        if ((*s)["metadata"].value("namespace", "") == name)
          live[(*s)["metadata"].value("name", "")] = (*s)["metadata"].value("uid", "");
      desired.push_back(render::render_backup_sweep(name, live, config_.settings));
    }
    for (auto& object : desired) stamp(object, owner, kProjectLabel, name);
    // A site gone: a sweep now (before the CronJob forgets it was there).
    if (claim.ok()) {
      if (std::string err = sweep_deleted_sites(client_, desired.back()); !err.empty()) {
        outcome.error = "project " + name + ": sweep after a site's deletion: " + err;
        return outcome;
      }
    }
    if (!applier_->apply(desired, &outcome.error)) return outcome;
  }
  applier_->prune(desired, mine, &outcome.error);
  return outcome;
}

Operator::Followed Operator::follow_git(const json& site) {
  Followed out;
  const json& spec = site.value("spec", json::object());
  if (!config_.follow_git || !spec.contains("source") || !spec["source"].is_object() ||
      !spec["source"].contains("git") || !spec["source"]["git"].is_object())
    return out;
  const json& g = spec["source"]["git"];
  const std::string url = g.value("url", ""), ref = g.value("ref", "main");
  long long interval_ms = api::parse_duration_ms(g.value("interval", "3m"));
  if (interval_ms <= 0) interval_ms = 180'000;
  const std::string key =
      site["metadata"].value("namespace", "") + "/" + site["metadata"].value("name", "");
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(git_mu_);
    GitState& st = git_[key];
    if (st.url == url && st.ref == ref && now < st.next) {
      // Rounded up: 0 would mean "no requeue" (the 10-minute resync).
      return {st.commit, st.error,
              std::chrono::ceil<std::chrono::milliseconds>(st.next - now) +
                  std::chrono::milliseconds(1)};
    }
  }
  GitState next{url, ref, "", "", now + std::chrono::milliseconds(interval_ms), now};
  bool local = url.rfind("file://", 0) == 0 || url.rfind("/", 0) == 0 ||
               url.find("://") == std::string::npos;
  if (local && !config_.allow_local_sources) {
    next.error = "source.git.url \"" + url + "\" is a local path, which a cluster cannot fetch";
  } else {
    git::FetchLimits limits;
    limits.allow_private_networks = config_.settings.allow_private_sources;
    // One mirror per site, named by a hash of its key: no path from the spec.
    std::string dir = config_.mirror_dir + "/" + std::to_string(std::hash<std::string>{}(key));
    ++git_fetches_;
    git::FetchResult r = git::fetch(url, ref, dir, limits);
    if (r.ok)
      next.commit = r.commit;
    else
      next.error = "cannot fetch " + url + " " + ref + ": " + r.error;
  }
  std::lock_guard lock(git_mu_);
  GitState& st = git_[key];
  // A failed resolution keeps the last commit: the pods keep what they run.
  if (next.commit.empty() && st.url == url && st.ref == ref) next.commit = st.commit;
  st = next;
  return {st.commit, st.error, std::chrono::milliseconds(interval_ms)};
}

Operator::Outcome Operator::reconcile_site(const std::string& ns, const std::string& name) {
  auto mine = [&](const json& o) {
    // Its ControllerRevisions are its history, not rendered: never pruned here.
    return label_of(o, kSiteLabel) == name && o["metadata"].value("namespace", "") == ns &&
           o.value("kind", "") != "ControllerRevision";
  };
  Outcome outcome;
  ObjectPtr site = sites_->get(ns, name);
  if (!site) {
    // Deleted: the garbage collector follows ownerReferences too, but pruning
    // now does not wait for it. Its git mirror goes too.
    applier_->prune({}, mine, &outcome.error);
    const std::string key = ns + "/" + name;
    {
      std::lock_guard lock(git_mu_);
      git_.erase(key);
      refresh_seen_.erase(key);
    }
    std::error_code ec;
    std::filesystem::remove_all(
        config_.mirror_dir + "/" + std::to_string(std::hash<std::string>{}(key)), ec);
    return outcome;
  }
  const json& meta = (*site)["metadata"];
  if (meta.contains("deletionTimestamp")) return outcome;

  Blocker blocker;
  std::vector<json> desired;
  std::vector<json> sites;
  for (const auto& s : sites_->list()) sites.push_back(*s);
  ObjectPtr project = projects_->get("", ns);
  Followed followed;
  Deploy deploy;
  std::string invalid = config_.check_sites ? site_errors(*site, config_.bounds) : "";
  if (!project) {
    blocker = {"ProjectNotFound", "project " + ns + " does not exist"};
  } else if (!invalid.empty()) {
    // Nothing applied: the cluster keeps what it has for the last valid spec.
    blocker = {"Invalid", invalid};
  } else {
    // The site's spec and the commit its ref resolved to (a new one rolls
    // the pods), or the revision `wok rollout undo` pinned, checked again.
    deploy = plan_deploy(
        *site,
        [&](const json& s) {
          if (!config_.check_sites) return std::string();
          std::string why = site_errors(s, config_.bounds);
          return why.empty() ? hosts_not_allowed(s, *project) : why;
        },
        &blocker);
    followed = deploy.followed;
    outcome.requeue_after = followed.next;
    if (!followed.error.empty() && followed.commit.empty() && blocker.reason.empty())
      blocker = {"FetchFailed", followed.error};
    try {
      if (blocker.reason.empty()) {
        // The revision the plan belongs to: the render stamps it into every
        // pod template, so a new one (a rollback too) rolls the pods.
        json planned = deploy.site;
        if (deploy.revision > 0) planned["status"]["revision"] = deploy.revision;
        desired = config_.renderer.site(planned, *project, config_.settings);
      }
    } catch (const std::exception& e) {
      blocker = {"RenderFailed", e.what()};
    }
  }
  const json& deployed = deploy.site.is_null() ? *site : deploy.site;
  if (config_.check_sites && blocker.reason.empty()) {
    if (std::string refused = hosts_not_allowed(deployed, *project); !refused.empty()) {
      blocker = {"HostNotAllowed", refused};
      std::erase_if(desired, [](const json& o) {
        std::string kind = o.value("kind", "");
        return kind == "Ingress" || kind == "Route";
      });
    }
  }
  if (std::string conflict = host_conflict(deployed, sites);
      !conflict.empty() && blocker.reason.empty()) {
    // The older claim keeps the host: serve nothing for this site's hosts.
    blocker = {"HostConflict", conflict};
    std::erase_if(desired, [](const json& o) {
      std::string kind = o.value("kind", "");
      return kind == "Ingress" || kind == "Route";
    });
  }
  // Two sites of a project can render the same name (a site "a" with a
  // component "b-web", a site "a-b" with "web"): the object stays the site's
  // that made it first, this site's is not applied (nor anything pruned).
  if (std::string clash = name_conflict(desired, ns, name); !clash.empty()) {
    if (blocker.reason.empty()) blocker = {"NameConflict", clash};
    if (outcome.requeue_after.count() == 0 || outcome.requeue_after > std::chrono::seconds(10))
      outcome.requeue_after = std::chrono::seconds(10);
  }
  // A restore in place or a clone (kube/site_backups.h): nothing of the
  // site runs while its volumes are replaced, whatever else blocks it.
  RestoreStep restore;
  if (project) {
    restore = reconcile_restore(client_, deployed, *project, applier_->owned(mine),
                                config_.settings, config_.own_namespace);
    if (restore.stop_site) stop_for_restore(desired);
    if (restore.ended) start_after_restore(desired);
    if (restore.requeue.count() > 0 &&
        (outcome.requeue_after.count() == 0 || restore.requeue < outcome.requeue_after))
      outcome.requeue_after = restore.requeue;
  }
  Owner owner{site_kind().api_version, site_kind().kind, name, meta.value("uid", ""), ns};
  for (auto& object : desired) {
    object["metadata"]["namespace"] = ns;  // a site's objects live in its project
    stamp(object, owner, kSiteLabel, name);
  }
  std::string apply_error;
  if (blocker.reason.empty()) {
    if (std::string err = ensure_database_secret(client_, deploy.site); !err.empty())
      blocker = {"DatabaseSecretFailed", err};
  }
  if (blocker.reason.empty() || blocker.reason == "HostConflict" ||
      blocker.reason == "HostNotAllowed" || blocker.reason == "NameConflict") {
    if (!applier_->apply(desired, &apply_error) || !applier_->prune(desired, mine, &apply_error) ||
        !record_revision(deploy, &apply_error)) {
      blocker = {"ApplyFailed", apply_error};
    }
  }
  json status = site_status(*site, applier_->owned(mine), blocker,
                            site->value("status", json::object()), rfc3339_now());
  if (!restore.status.is_null()) status["restore"] = restore.status;
  if (!restore.cloned_from.is_null())
    status["clonedFrom"] = restore.cloned_from;
  else if (site->value("status", json::object()).contains("clonedFrom"))
    status["clonedFrom"] = (*site)["status"]["clonedFrom"];
  // Backups (kube/site_backups.h): the repository, and the Jobs members ask
  // for (a backup, a list), once the CronJob is applied.
  status.erase("backup");
  if (blocker.reason.empty() && apply_error.empty() && !restore.stop_site) {
    for (const json& o : desired)
      if (o.value("kind", "") == "CronJob" && o["metadata"]["labels"].contains("wok.dev/backup")) {
        status["backup"] = reconcile_backup(
            client_, *site, o, site->value("status", json::object()).value("backup", json()),
            project ? (*project)["metadata"].value("uid", "") : std::string(), config_.settings,
            config_.own_namespace);
        // The project's repository exists now: its pass adds the sweep.
        bool first = false;
        if (status["backup"].value("lastError", json()).is_null()) {
          std::lock_guard lock(git_mu_);
          first = repositories_.insert(ns).second;
        }
        if (first) controller_->enqueue("project/" + ns);
      }
  } else if (site->value("status", json::object()).contains("backup")) {
    status["backup"] = (*site)["status"]["backup"];
  }
  revision_status(*site, deploy, status);
  if (!followed.commit.empty()) status["commit"] = followed.commit;
  if (!followed.error.empty() && blocker.reason.empty())
    status["lastError"] = followed.error + "; pods keep commit " + followed.commit.substr(0, 7);
  std::vector<store::SiteEvent> events;
  if (deploy.recorded && !deploy.record.is_null())
    events.push_back({"Normal", "RevisionCreated",
                      "revision " + std::to_string(deploy.revision) + ": " +
                          deploy.record["data"].value("cause", "")});
  if (!write_status(*site, status, events, &outcome.error)) return outcome;
  outcome.error = apply_error;
  return outcome;
}

bool Operator::write_status(const json& site, const json& status,
                            std::vector<store::SiteEvent> events, std::string* error) {
  json old = site.value("status", json::object());
  // `events` (a revision recorded: it is not recorded again) are said
  // whatever happens to the write; the status's after it, or by the retry.
  const size_t said_anyway = events.size();
  for (auto& e : site_status_events(old, status)) events.push_back(std::move(e));
  auto say = [&](size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const store::SiteEvent& e = events[i];
      if (std::string why = record_event(client_, site, e); why.empty())
        ++events_;
      else
        spdlog::warn("{}", why);
    }
  };
  if (old == status) {
    say(events.size());
    return true;
  }
  const json& meta = site["metadata"];
  std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
  json patch = {{"status", merge_patch(old, status)}};
  std::string path = site_kind().object_path(ns, name) + "/status";
  Reply reply = client_.request("PATCH", path, patch.dump(), "application/merge-patch+json");
  if (!reply.ok()) {
    *error = "status of site " + ns + "/" + name + ": " + reply.describe();
    say(said_anyway);
    return false;
  }
  ++status_writes_;
  auto written = json::parse(reply.body, nullptr, false);
  if (written.is_object() && written.contains("metadata")) sites_->remember(written);
  say(events.size());
  return true;
}

std::string Operator::metrics() const {
  auto counter = [](const std::string& name, const std::string& help, uint64_t value,
                    const char* type = "counter") {
    return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  uint64_t relists = projects_->relists() + sites_->relists();
  uint64_t restarts = projects_->watch_restarts() + sites_->watch_restarts();
  for (const auto& i : owned_) {
    relists += i->relists();
    restarts += i->watch_restarts();
  }
  return counter("wok_operator_reconciles_total", "Reconciliations run.", reconciles_) +
         counter("wok_operator_reconcile_errors_total",
                 "Reconciliations that failed and were retried.", errors_) +
         counter("wok_operator_applies_total", "Objects written with server-side apply.",
                 applier_->applies()) +
         counter("wok_operator_deletes_total", "Objects pruned.", applier_->deletes()) +
         counter("wok_operator_status_writes_total", "Site status updates.", status_writes_) +
         counter("wok_operator_events_total", "Events written about sites (made or counted up).",
                 events_) +
         counter("wok_operator_git_fetches_total",
                 "Sites' refs resolved (a fetch into the mirror).", git_fetches_) +
         counter("wok_operator_lists_total", "Lists (at start and after 410 Gone).", relists) +
         counter("wok_operator_watch_restarts_total", "Watches that ended and were resumed.",
                 restarts) +
         counter("wok_operator_queue_depth", "Keys scheduled in the work queue (due now or later).",
                 controller_->queue().depth(), "gauge") +
         counter("wok_operator_leader", "1 while this replica holds the lease.", leading_ ? 1 : 0,
                 "gauge") +
         counter("wok_operator_synced", "1 once every informer has listed.", synced() ? 1 : 0,
                 "gauge") +
         controller_->metrics();
}

}  // namespace wok::kube
