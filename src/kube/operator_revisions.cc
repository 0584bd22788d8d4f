// The operator's side of a site's revisions on a cluster: which (spec,
// commit) a site deploys (its own, or a revision pinned by `wok rollout
// undo`), the number stamped into its pods, the ControllerRevision recorded
// after a successful apply, and `wok refresh`. Kept out of operator.cc so
// that the reconcile loop can move without them.
#include <spdlog/spdlog.h>

#include "kube/kinds.h"
#include "kube/operator.h"
#include "kube/site_revisions.h"
#include "store/store.h"

namespace wok::kube {
namespace {

using nlohmann::json;

std::string key_of(const json& site) {
  return site["metadata"].value("namespace", "") + "/" + site["metadata"].value("name", "");
}

bool is_revision_of(const json& object, const json& site) {
  return object.value("kind", "") == "ControllerRevision" &&
         object["metadata"].value("namespace", "") == site["metadata"].value("namespace", "");
}

// Earlier revisions as the store's change_cause() reads them: the same
// causes as `wok rollout history` on `wok up`.
std::vector<store::Revision> as_store_revisions(const std::vector<SiteRevision>& revisions) {
  std::vector<store::Revision> out;
  for (const auto& r : revisions) {
    store::Revision s;
    s.number = r.number;
    s.generation = r.generation;
    s.commit = r.commit;
    s.spec = r.spec.dump();
    s.outcome = "Deployed";
    out.push_back(std::move(s));
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

void Operator::refresh(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(git_mu_);
    auto it = git_.find(ns + "/" + name);
    if (it != git_.end()) refresh_due(it->second);
  }
  controller_->enqueue("site/" + ns + "/" + name);
}

void Operator::honour_refresh(const json& site) {
  const std::string token = refresh_request(site);
  if (token.empty()) return;
  std::lock_guard lock(git_mu_);
  std::string& seen = refresh_seen_[key_of(site)];
  if (seen == token) return;
  seen = token;
  auto it = git_.find(key_of(site));
  if (it != git_.end()) refresh_due(it->second);
  spdlog::info("site {}: refresh requested ({})", key_of(site), token);
}

void Operator::refresh_due(GitState& state) const {
  // Never later than the interval would have it; never sooner than the gap.
  state.next = std::min(state.next, state.fetched + config_.min_refresh_gap);
}

Operator::Deploy Operator::plan_deploy(const json& site,
                                       const std::function<std::string(const json&)>& check,
                                       Blocker* blocker) {
  Deploy d;
  d.site = site;
  honour_refresh(site);
  std::vector<std::string> refused;
  std::vector<SiteRevision> revisions;
  if (config_.record_revisions) {
    revisions = site_revisions(
        site, applier_->owned([&](const json& o) { return is_revision_of(o, site); }), &refused);
  }
  PinRequest pin = config_.record_revisions ? pin_request(site) : PinRequest{};
  const std::string name = site["metadata"].value("name", "");
  if (!pin.error.empty()) {
    *blocker = {"RollbackInvalid", pin.error};
    return d;
  }
  if (pin.revision > 0 && pin.stale) {
    d.pin_note = "revision " + std::to_string(pin.revision) +
                 " is no longer pinned: the spec changed since `wok rollout undo`";
  } else if (pin.revision > 0) {
    const SiteRevision* target = nullptr;
    for (const auto& r : revisions)
      if (r.number == pin.revision) target = &r;
    if (!target) {
      *blocker = {"RevisionNotFound",
                  "cannot roll back to revision " + std::to_string(pin.revision) + " of site " +
                      name + ": the operator has no such revision" +
                      (refused.empty() ? "" : " (refused: " + joined(refused) + ")") +
                      "; nothing was changed"};
      return d;
    }
    // A revision's spec passed the checks when it was made; the project's
    // hosts or the admin's bounds may have changed since.
    json candidate = site;
    candidate["spec"] = target->spec;
    if (std::string why = check(candidate); !why.empty()) {
      *blocker = {"RevisionInvalid", "cannot roll back to revision " +
                                         std::to_string(pin.revision) + ": " + why +
                                         "; nothing was changed"};
      return d;
    }
    d.site = std::move(candidate);
    d.pinned = pin.revision;
    d.followed.commit = target->commit;
  }
  if (!d.pinned) d.followed = follow_git(site);
  if (!d.followed.commit.empty()) d.site["status"]["commit"] = d.followed.commit;
  if (!config_.record_revisions) return d;

  const json& spec = d.site["spec"];
  const std::string& commit = d.followed.commit;
  if (!revisions.empty() && revisions.front().spec == spec && revisions.front().commit == commit) {
    d.revision = revisions.front().number;
  } else {
    d.revision = revisions.empty() ? 1 : revisions.front().number + 1;
    int64_t generation = site["metadata"].value("generation", int64_t{1});
    std::string cause = store::change_cause(as_store_revisions(revisions), generation, commit,
                                            spec.dump(), d.pinned);
    d.record = revision_object(site, d.revision, spec, commit, cause, generation);
    revisions.insert(revisions.begin(), SiteRevision{d.revision, d.record["metadata"]["name"], spec,
                                                     commit, cause, generation, ""});
  }
  d.prune = revisions_over_limit(revisions, config_.revision_history_limit, d.pinned);
  return d;
}

bool Operator::record_revision(Deploy& deploy, std::string* error) {
  if (!config_.record_revisions) return true;
  if (!deploy.record.is_null() && !applier_->apply({deploy.record}, error)) return false;
  deploy.recorded = true;
  if (deploy.prune.empty()) return true;
  const json& site = deploy.site;
  return applier_->prune(
      {},
      [&](const json& o) {
        return is_revision_of(o, site) &&
               std::find(deploy.prune.begin(), deploy.prune.end(),
                         o["metadata"].value("name", "")) != deploy.prune.end();
      },
      error);
}

void Operator::revision_status(const json& site, const Deploy& deploy, json& status) const {
  if (!config_.record_revisions) return;
  const json old = site.value("status", json::object());
  // The number of what runs: kept while nothing new could be applied.
  if (deploy.recorded)
    status["revision"] = deploy.revision;
  else if (old.contains("revision"))
    status["revision"] = old["revision"];
  else
    status.erase("revision");
  json pinned;
  if (deploy.pinned > 0) {
    status["pinnedRevision"] = deploy.pinned;
    pinned = {{"type", "Pinned"},
              {"status", "True"},
              {"reason", "RolledBack"},
              {"message",
               "deploying revision " + std::to_string(deploy.pinned) + " (its spec and commit " +
                   deploy.followed.commit.substr(0, 7) + ") by " + kRollbackToAnnotation +
                   "; the site's spec and ref are followed again after a change of its spec, `wok "
                   "refresh`, or removing the annotation"}};
  } else if (!deploy.pin_note.empty()) {
    pinned = {{"type", "Pinned"},
              {"status", "False"},
              {"reason", "SpecChanged"},
              {"message", deploy.pin_note}};
  }
  if (pinned.is_null()) return;
  pinned["lastTransitionTime"] = rfc3339_now();
  for (const auto& c : old.value("conditions", json::array())) {
    if (c.value("type", "") == "Pinned" && c.value("status", "") == pinned["status"] &&
        c.contains("lastTransitionTime"))
      pinned["lastTransitionTime"] = c["lastTransitionTime"];
  }
  status["conditions"].push_back(pinned);
}

}  // namespace wok::kube
