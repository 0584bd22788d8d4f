#include "kube/site_backups.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "api/base64.h"
#include "api/validation.h"
#include "base/sealed_box.h"
#include "certs/certificate.h"
#include "kube/clone_grant.h"
#include "kube/kinds.h"
#include "kube/ownership.h"
#include "kube/site_rollout.h"
#include "kube/site_transfer.h"
#include "render/plan.h"

namespace wok::kube {

using nlohmann::json;

namespace {

using render::hash8;

std::string annotation(const json& site, const char* key) {
  const json& meta = site["metadata"];
  if (!meta.contains("annotations") || !meta["annotations"].is_object()) return "";
  const json& v = meta["annotations"].value(key, json());
  return v.is_string() ? v.get<std::string>() : "";
}

// Makes `job` (a Job of the site, owned by it: deleted with it); a Job
// made before (409) counts as made. "" or why not.
std::string make_site_job(KubeClient& client, const json& site, json job) {
  const json& meta = site["metadata"];
  const std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
  stamp(job, {site_kind().api_version, site_kind().kind, name, meta.value("uid", ""), ns},
        kSiteLabel, name);
  Reply made = client.request("POST", "/apis/batch/v1/namespaces/" + ns + "/jobs", job.dump(),
                              "application/json");
  if (made.ok() || made.status == 409) return "";
  return "job " + job["metadata"].value("name", "") + ": " + made.describe();
}

}  // namespace

std::string backup_job_name(const std::string& site, const std::string& token) {
  return render::bounded_name(site + "-backup-" + hash8(token), 63);
}

std::string list_job_name(const std::string& site, const std::string& token) {
  return render::bounded_name(site + "-list-" + hash8(token), 63);
}

std::string show_job_name(const std::string& token) {
  return std::string("wok.backup-show-") + hash8(token);
}

std::string delete_job_name(const std::string& token) {
  return std::string("wok.backup-delete-") + hash8(token);
}

std::string project_list_job_name(const std::string& token) {
  return std::string("wok.backup-list-") + hash8(token);
}

std::string restore_job_name(const std::string& site, const std::string& token) {
  return render::bounded_name(site + "-restore-" + hash8(token), 63);
}

void stop_for_restore(std::vector<json>& desired) {
  for (json& o : desired) {
    const std::string kind = o.value("kind", "");
    if (kind == "Deployment") o["spec"]["replicas"] = 0;
    if (kind == "CronJob") o["spec"]["suspend"] = true;
  }
}

void start_after_restore(std::vector<json>& desired) {
  for (json& d : desired) {
    if (d.value("kind", "") != "Deployment" || d["spec"].contains("replicas")) continue;
    int replicas = 1;
    for (const json& h : desired)
      if (h.value("kind", "") == "HorizontalPodAutoscaler" &&
          h["spec"]["scaleTargetRef"].value("name", "") == d["metadata"].value("name", ""))
        replicas = h["spec"].value("minReplicas", 1);
    d["spec"]["replicas"] = replicas;
  }
}

namespace {

// A clone from another project: what carries its backup, made (again
// after an error: each step is made once) until all of it is there.
void carry_backup(KubeClient& client, const json& site, const std::string& from_project,
                  const render::PlatformSettings& settings, RestoreStep& step) {
  const std::string err = start_transfer(client, site, step.status.value("job", ""), from_project,
                                         step.status.value("from", ""),
                                         step.status.value("backup", "latest"), settings);
  step.status["carried"] = err.empty();
  step.status["message"] =
      err.empty()
          ? json()
          : json("carrying the backup from project " + from_project + " (tried again): " + err);
}

}  // namespace

RestoreStep reconcile_restore(KubeClient& client, const json& site, const json& project,
                              const std::vector<json>& owned,
                              const render::PlatformSettings& settings,
                              const std::string& grant_ns) {
  RestoreStep step;
  const json& meta = site["metadata"];
  const std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
  const json old = site.value("status", json::object()).value("restore", json());
  step.status = old;
  const std::string token = annotation(site, kRestoreRequestAnnotation);
  std::string backup = annotation(site, kRestoreBackupAnnotation);
  if (backup.empty()) backup = "latest";
  const std::string phase = old.is_object() ? old.value("phase", "") : "";
  constexpr std::chrono::milliseconds kPoll{2000};
  const json& spec = site.value("spec", json::object());
  const json site_status = site.value("status", json::object());
  const std::string clone_token = "clone:" + meta.value("uid", "");
  const bool clone_request = old.is_object() && old.value("request", "") == clone_token;
  // Before the site first runs only (as on wok up): cloneFrom added to a
  // site that runs does nothing (it would replace its data).
  // "Ran": a Deployment of it exists (whatever blocked its passes before).
  bool ran = false;
  for (const json& o : owned) ran = ran || o.value("kind", "") == "Deployment";
  const bool cloning = spec.contains("cloneFrom") && spec["cloneFrom"].is_object() &&
                       !site_status.contains("clonedFrom") && (clone_request || !ran);
  const bool in_progress = phase == "Stopping" || phase == "Restoring" || phase == "Starting";
  if (cloning && !clone_request) {
    const json& from = spec["cloneFrom"];
    const std::string id = from.value("backup", "latest");
    step.status = {{"request", clone_token},
                   {"backup", id},
                   {"from", from.value("site", "")},
                   {"job", render::bounded_name(name + "-clone-" + hash8(clone_token), 63)},
                   {"phase", "Stopping"},
                   {"message", nullptr}};
    // Another project's backup (its writer's right checked on admission).
    if (const std::string other = clone_source_project(site); !other.empty())
      step.status["fromProject"] = other;
    step.stop_site = true;
    step.requeue = kPoll;
    return step;
  }
  // A failed clone keeps the site stopped while it still asks for one.
  if (cloning && phase == "Failed") {
    step.stop_site = true;
    return step;
  }
  // A new request waits for the one under way (seen on a later pass).
  if (!cloning && !in_progress && !token.empty() && token.size() <= 64 &&
      (!old.is_object() || old.value("request", "") != token)) {
    step.status = {{"request", token},
                   {"backup", backup},
                   {"job", restore_job_name(name, token)},
                   {"phase", "Stopping"},
                   {"message", nullptr}};
    if (!api::is_backup_ref(backup)) {
      step.status["phase"] = "Failed";
      step.status["message"] =
          "\"" + backup.substr(0, 64) + "\" is not a backup id (8 to 64 hex digits) nor latest";
      return step;
    }
    if (!render::plan_site(site).backup.on_cluster) {
      step.status["phase"] = "Failed";
      step.status["message"] = "the site has nothing a cluster backs up or restores";
      return step;
    }
    step.stop_site = true;
    step.requeue = kPoll;
    return step;
  }
  if (phase == "Stopping") {
    step.stop_site = true;
    step.requeue = kPoll;
    // Nothing of the site may write its volumes while they are replaced.
    for (const json& o : owned) {
      if (o.value("kind", "") != "Deployment") continue;
      const json& st = o.value("status", json::object());
      if (o["spec"].value("replicas", 1) != 0 || st.value("replicas", 0) != 0) return step;
    }
    // Nor a pod still terminating (a Deployment counts none of them), nor
    // a run of its jobs, nor a backup's (two writers of the repository):
    // every running pod of the site but its servers'.
    Reply pods = client.request(
        "GET", "/api/v1/namespaces/" + ns + "/pods?labelSelector=wok.dev%2Fsite%3D" + name +
                   "%2C%21wok.dev%2Fdatabase&fieldSelector=status.phase%21%3DSucceeded%2C"
                   "status.phase%21%3DFailed");
    json list = pods.ok() ? json::parse(pods.body, nullptr, false) : json();
    if (!list.is_object() || !list.value("items", json()).is_array() || !list["items"].empty())
      return step;
    const std::string job_name = old.value("job", "");
    const std::string from_project = old.value("fromProject", "");
    if (!from_project.empty()) {
      // Only with the grant the webhook recorded when cloneFrom was written.
      std::string why = check_clone_grant(client, grant_ns, site);
      if (why.empty()) {
        Reply key = client.request(
            "GET", "/api/v1/namespaces/" + from_project + "/secrets/" + render::kBackupKeySecret);
        if (key.status == 404)
          why = "project \"" + from_project + "\" has no backups";
        else if (!key.ok()) {
          step.status["message"] =
              "reading project " + from_project + "'s backups: " + key.describe();
          return step;
        }
      }
      if (!why.empty()) {
        step.status["phase"] = "Failed";
        step.status["message"] = "the clone's backup cannot be read: " + why;
        step.requeue = {};
        return step;
      }
    }
    // The repository, if no backup made it yet (a restore or a clone first).
    if (std::string err = ensure_backup_repository(
            client, ns, project.is_object() ? project["metadata"].value("uid", "") : "", settings);
        !err.empty()) {
      step.status["message"] = "the project's backup repository: " + err;
      return step;
    }
    if (std::string err =
            make_site_job(client, site,
                          render::render_restore_job(site, project, settings, job_name,
                                                     old.value("backup", "latest"),
                                                     old.value("from", ""), from_project));
        !err.empty()) {
      step.status["phase"] = "Failed";
      step.status["message"] = err;
      step.stop_site = cloning;  // a clone stays stopped, empty
      step.requeue = {};
      return step;
    }
    step.status["phase"] = "Restoring";
    if (!from_project.empty()) carry_backup(client, site, from_project, settings, step);
    return step;
  }
  if (phase == "Starting") {
    // The pinned revision is what this pass renders once the Site's
    // annotation is seen (a pass or two after the patch; 10 s at most).
    const int64_t pinned = old.value("pinned", int64_t{0});
    const int waits = old.value("waits", 0);
    if (pin_request(site).revision != pinned && waits < 5) {
      step.status["waits"] = waits + 1;
      step.stop_site = true;
      step.requeue = kPoll;
      return step;
    }
    step.status.erase("waits");
    step.status["phase"] = "Restored";
    step.ended = true;
    return step;
  }
  if (phase == "Restoring") {
    const std::string job_name = old.value("job", "");
    const std::string from_project = old.value("fromProject", "");
    Reply got = client.request("GET", "/apis/batch/v1/namespaces/" + ns + "/jobs/" + job_name);
    json job = got.ok() ? json::parse(got.body, nullptr, false) : json();
    const json st = job.is_object() ? job.value("status", json::object()) : json::object();
    const std::string logs = "kubectl logs -n " + ns + " job/" + job_name + " --all-containers";
    // The clone is over (whichever way): its grant goes.
    const bool over =
        got.status == 404 || st.value("succeeded", 0) > 0 || st.value("failed", 0) > 0;
    if (!from_project.empty() && over) drop_clone_grant(client, grant_ns, site);
    std::string copy_failed;
    if (!from_project.empty() && !over && !old.value("carried", false)) {
      carry_backup(client, site, from_project, settings, step);
      step.stop_site = true;
      step.requeue = kPoll;
      return step;
    }
    if (!from_project.empty() && !over)
      copy_failed = transfer_failed(client, ns, job_name, from_project);
    if (!copy_failed.empty()) {
      // Its receiver would wait for nothing until its deadline.
      client.request("DELETE", "/apis/batch/v1/namespaces/" + ns + "/jobs/" + job_name +
                                   "?propagationPolicy=Background");
      drop_clone_grant(client, grant_ns, site);
      step.status["phase"] = "Failed";
      step.status["message"] =
          "the clone's job failed, the site stays stopped (remove spec.cloneFrom to run it "
          "empty): " +
          copy_failed;
      step.stop_site = true;
    } else if (got.status == 404) {
      step.status["phase"] = "Failed";
      step.ended = !cloning;
      step.stop_site = cloning;
      step.status["message"] = "the restore's job " + job_name + " is gone";
    } else if (!got.ok()) {
      step.stop_site = true;
      step.requeue = kPoll;  // asked again
    } else if (st.value("succeeded", 0) > 0 && old.contains("from")) {
      step.status["phase"] = "Restored";
      step.ended = true;
      step.status["message"] = "cloned from backup " + old.value("backup", "") + " of site " +
                               old.value("from", "") + " (" + logs + ")";
      step.cloned_from = {{"project", from_project.empty() ? ns : from_project},
                          {"site", old.value("from", "")},
                          {"backup", old.value("backup", "")}};
    } else if (st.value("succeeded", 0) > 0) {
      const RestoredPin pin = pin_restored_revision(client, site, job);
      step.status["message"] = "restored from backup " + old.value("backup", "") +
                               "; what the site held before is a pre-restore backup (" + logs +
                               ")" + pin.message;
      if (pin.revision > 0) {
        // What this pass rendered is the revision before the pin: it
        // never runs on the restored data. The next pass starts the pinned one.
        step.status["phase"] = "Starting";
        step.status["pinned"] = pin.revision;
        step.stop_site = true;
        step.requeue = kPoll;
      } else {
        step.status["phase"] = "Restored";
        step.ended = true;
      }
    } else if (st.value("failed", 0) > 0) {
      step.status["phase"] = "Failed";
      step.ended = !cloning;
      step.status["message"] = "the restore's job failed: " + logs;
      if (cloning) {
        step.status["message"] =
            "the clone's job failed, the site stays stopped (remove "
            "spec.cloneFrom to run it empty): " +
            logs;
        step.stop_site = true;
      }
    } else {
      step.stop_site = true;
      step.requeue = kPoll;
    }
    return step;
  }
  return step;
}

std::string create_once(KubeClient& client, const std::string& collection, const json& object) {
  const std::string name = object["metadata"].value("name", "");
  Reply got = client.request("GET", collection + "/" + name);
  if (got.status == 404) {
    got = client.request("POST", collection, object.dump(), "application/json");
    if (got.status == 409) return "";  // made meanwhile
  }
  return got.ok() ? "" : object.value("kind", "") + " " + name + ": " + got.describe();
}

namespace {

// What the container `container` of Job `job_name`'s pod said (its
// termination message, render's tells_the_operator) as a JSON object, or null.
json job_said(KubeClient& client, const std::string& ns, const json& job,
              const std::string& container) {
  const std::string job_name = job["metadata"].value("name", "");
  const std::string job_uid = job["metadata"].value("uid", "");
  if (job_name.empty() || job_uid.empty()) return nullptr;
  Reply got = client.request(
      "GET", "/api/v1/namespaces/" + ns + "/pods?labelSelector=job-name%3D" + job_name);
  json list = got.ok() ? json::parse(got.body, nullptr, false) : json();
  if (!list.is_object() || !list.value("items", json()).is_array()) return nullptr;
  for (const json& pod : list["items"]) {
    // That Job's own pods only: a label is any pod's to carry.
    bool owned = false;
    for (const json& o : pod["metadata"].value("ownerReferences", json::array()))
      owned = owned || (o.value("uid", "") == job_uid && o.value("controller", false));
    if (!owned) continue;
    const json st = pod.value("status", json::object());
    for (const char* key : {"initContainerStatuses", "containerStatuses"}) {
      for (const json& c : st.value(key, json::array())) {
        if (c.value("name", "") != container) continue;
        json said = json::parse(c.value(json::json_pointer("/state/terminated/message"), ""),
                                nullptr, false);
        if (said.is_object()) return said;
      }
    }
  }
  return nullptr;
}

// The revision the restore Job's backup holds ({"revision": N, "commit": C}), or null.
json restored_revision(KubeClient& client, const std::string& ns, const json& job) {
  json said = job_said(client, ns, job, "restore");
  if (said.is_object() && said.value("revision", json()).is_number_integer() &&
      said.value("commit", json()).is_string())
    return said;
  return nullptr;
}

// status.backup's last, lastTime and lastJob: the newest backup a Job of
// the site made (its container "backup" said its id and time), kept from
// `old` while no newer Job succeeded.
void last_backup(KubeClient& client, const std::string& ns, const std::string& name,
                 const json& old, json& status) {
  for (const char* key : {"last", "lastTime", "lastJob"})
    if (old.is_object() && old.contains(key)) status[key] = old[key];
  Reply got = client.request(
      "GET", "/apis/batch/v1/namespaces/" + ns + "/jobs?labelSelector=wok.dev%2Fbackup%3D" + name);
  json list = got.ok() ? json::parse(got.body, nullptr, false) : json();
  if (!list.is_object() || !list.value("items", json()).is_array()) return;
  std::vector<std::pair<std::string, size_t>> done;  // completion time, index
  const json& jobs = list["items"];
  for (size_t i = 0; i < jobs.size(); ++i) {
    const json st = jobs[i].value("status", json::object());
    if (st.value("succeeded", 0) > 0 && st.value("completionTime", json()).is_string())
      done.emplace_back(st["completionTime"].get<std::string>(), i);
  }
  std::sort(done.rbegin(), done.rend());  // newest first
  int reads = 0;
  for (const auto& [when, i] : done) {
    const std::string job = jobs[i]["metadata"].value("name", "");
    if (job == status.value("lastJob", "") || ++reads > 3) return;  // known, or enough for a pass
    json said = job_said(client, ns, jobs[i], "backup");  // a list's or a restore's says nothing
    if (!said.is_object() || !said.value("id", json()).is_string() || said["id"] == "latest" ||
        !api::is_backup_ref(said["id"].get<std::string>()))
      continue;
    status["last"] = said["id"];
    const json time = said.value("time", json());
    status["lastTime"] =
        time.is_string() && time.get<std::string>().size() <= 40 ? time : json(when);
    status["lastJob"] = job;
    return;
  }
}

}  // namespace

RestoredPin pin_restored_revision(KubeClient& client, const json& site, const json& job) {
  const json& meta = site["metadata"];
  const std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
  const json said = restored_revision(client, ns, job);
  if (said.is_null()) return {"; the backup's revision is unknown (its job said none)"};
  const int64_t number = said["revision"].get<int64_t>();
  const std::string commit = said["commit"].get<std::string>();
  const std::string n = std::to_string(number);
  if (site.value(json::json_pointer("/status/revision"), int64_t{0}) == number)
    return {"; the backup's revision " + n + " is the one the site runs"};
  std::vector<SiteRevision> revisions;
  size_t refused = 0;
  std::string error;
  if (!list_revisions(client, site, &revisions, &refused, &error))
    return {"; the backup's revision " + n + " could not be pinned: " + error};
  for (const SiteRevision& r : revisions) {
    if (r.number != number) continue;
    if (r.commit != commit) break;
    // As `wok rollout undo --to-revision N` pins it: until the spec changes.
    RolloutResult pinned = kube_rollout_undo(client, ns, name, number);
    if (!pinned.ok)
      return {"; the backup's revision " + n + " could not be pinned: " + pinned.text};
    return {"; the backup's revision " + n + " (commit " + commit.substr(0, 7) +
                ") is pinned, as `wok rollout undo --to-revision " + n +
                "` pins it: a change of the spec ends it",
            number};
  }
  return {"; the backup's revision " + n +
          " is no longer kept on this cluster: the site keeps its current spec and commit"};
}

namespace {

std::string replace_project(std::string text, const std::string& value) {
  for (size_t at = text.find("{project}"); at != std::string::npos;
       at = text.find("{project}", at + value.size()))
    text.replace(at, 9, value);
  return text;
}

// The project's kBackupStoreSecret: the admin's credentials for it and the
// repository's URL, written when missing or not as they should be.
std::string ensure_backup_store(KubeClient& client, const std::string& ns,
                                const std::string& project_uid,
                                const render::PlatformSettings& settings) {
  if (project_uid.empty()) return "the project " + ns + " is not known (yet)";
  const std::string from = replace_project(settings.backup_credentials_secret, ns);
  const std::string where = settings.operator_namespace + "/" + from;
  Reply got = client.request(
      "GET", "/api/v1/namespaces/" + settings.operator_namespace + "/secrets/" + from);
  if (got.status == 404)
    return "the store's credentials: no Secret " + where +
           " (the admin makes it: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)";
  if (!got.ok()) return "the store's credentials: Secret " + where + ": " + got.describe();
  const json source = json::parse(got.body, nullptr, false);
  const json data = source.is_object() ? source.value("data", json::object()) : json::object();
  json want = json::object();
  for (const char* key : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}) {
    if (data.contains(key) && data[key].is_string())
      want[key] = data[key];
    else if (std::string(key) != "AWS_DEFAULT_REGION")
      return "the store's credentials: Secret " + where + " has no " + key;
  }
  // A store whose certificate a private CA signed: that CA's certificate
  // (PEM), which the Jobs' restic trusts instead of the image's CAs.
  if (data.contains("ca.crt")) {
    std::optional<std::string> pem;
    if (data["ca.crt"].is_string()) pem = api::base64_decode(data["ca.crt"].get<std::string>());
    std::string why = "not base64";
    if (!pem || !certs::read_certificate(*pem, &why))
      return "the store's credentials: Secret " + where + ": ca.crt is " +
             (pem ? "not the store's CA certificate: " + why : why);
    want["ca.crt"] = data["ca.crt"];
  }
  want["RESTIC_REPOSITORY"] =
      api::base64_encode(replace_project(settings.backup_repository, ns + "." + project_uid));
  const std::string collection = "/api/v1/namespaces/" + ns + "/secrets";
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata",
                  {{"name", render::kBackupStoreSecret},
                   {"namespace", ns},
                   {"labels", {{"wok.dev/generated-for", "backups"}}}}},
                 {"type", "Opaque"},
                 {"data", want}};
  Reply now = client.request("GET", collection + "/" + render::kBackupStoreSecret);
  if (now.status == 404) {
    Reply made = client.request("POST", collection, secret.dump(), "application/json");
    if (made.ok() || made.status == 409) return "";
    return "Secret " + std::string(render::kBackupStoreSecret) + ": " + made.describe();
  }
  if (!now.ok()) return "Secret " + std::string(render::kBackupStoreSecret) + ": " + now.describe();
  const json current = json::parse(now.body, nullptr, false);
  if (current.is_object() && current.value("data", json()) == want) return "";
  secret["metadata"]["resourceVersion"] =
      current.is_object() ? current["metadata"].value("resourceVersion", "") : "";
  Reply put = client.request("PUT", collection + "/" + render::kBackupStoreSecret, secret.dump(),
                             "application/json");
  if (put.ok()) return "";
  return "Secret " + std::string(render::kBackupStoreSecret) + ": " + put.describe();
}

}  // namespace

std::string check_backup_store(const std::string& repository, const std::string& credentials) {
  if (repository.empty() && credentials.empty()) return "";
  if (repository.empty())
    return "--backup-credentials-secret is for --backup-repository (an S3 store)";
  if (!repository.starts_with("s3:"))
    return "--backup-repository \"" + repository +
           "\" is not an s3: URL (on a cluster a repository is an S3-compatible store, or each "
           "project's claim without the flag)";
  if (repository.find("{project}") == std::string::npos)
    return "--backup-repository must hold {project} (each project has a repository of its own): " +
           repository;
  if (repository.find_first_of(" \t\r\n") != std::string::npos)
    return "--backup-repository holds white space";
  if (credentials.empty())
    return "--backup-repository needs --backup-credentials-secret (the Secret of the operator's "
           "namespace holding the store's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)";
  // A DNS subdomain once {project} (a DNS label) is in it.
  const std::string name = replace_project(credentials, "p");
  bool subdomain = !name.empty() && name.size() <= 253;
  for (size_t start = 0; subdomain && start <= name.size();) {
    const size_t dot = std::min(name.find('.', start), name.size());
    subdomain = api::is_dns_label(name.substr(start, dot - start));
    start = dot + 1;
  }
  if (!subdomain)
    return "--backup-credentials-secret \"" + credentials + "\" is not a Secret's name";
  return "";
}

std::string ensure_backup_repository(KubeClient& client, const std::string& ns,
                                     const std::string& project_uid,
                                     const render::PlatformSettings& settings) {
  const json metadata = {{"namespace", ns}, {"labels", {{"wok.dev/generated-for", "backups"}}}};
  json key = {{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", metadata},
              {"type", "Opaque"},
              {"stringData", {{"password", base::random_token()}}}};
  key["metadata"]["name"] = render::kBackupKeySecret;
  if (std::string err = create_once(client, "/api/v1/namespaces/" + ns + "/secrets", key);
      !err.empty())
    return err;
  if (!settings.backup_repository.empty())
    return ensure_backup_store(client, ns, project_uid, settings);
  json spec = {{"accessModes", {settings.backup_access_mode}},
               {"resources", {{"requests", {{"storage", settings.backup_claim_size}}}}}};
  if (!settings.backup_storage_class.empty())
    spec["storageClassName"] = settings.backup_storage_class;
  json claim = {{"apiVersion", "v1"},
                {"kind", "PersistentVolumeClaim"},
                {"metadata", metadata},
                {"spec", spec}};
  claim["metadata"]["name"] = render::kBackupClaim;
  return create_once(client, "/api/v1/namespaces/" + ns + "/persistentvolumeclaims", claim);
}

json manual_backup_job(const json& cron_job, const std::string& name) {
  json job = render::job_of_cron_job(cron_job, name, {{"wok.dev/backup-reason", "manual"}});
  for (json& c : job["spec"]["template"]["spec"]["containers"]) {
    if (c.value("name", "") != "backup" || !c.contains("args")) continue;
    json& args = c["args"];
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "--reason") args[i + 1] = "manual";
  }
  return job;
}

namespace {

// The --live NAME=UID arguments of a sweep CronJob's container.
std::set<std::string> live_of_sweep(const json& cron_job) {
  std::set<std::string> live;
  const json containers = cron_job.value("spec", json::object())
                              .value("jobTemplate", json::object())
                              .value("spec", json::object())
                              .value("template", json::object())
                              .value("spec", json::object())
                              .value("containers", json::array());
  for (const json& c : containers) {
    const json args = c.value("args", json::array());
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "--live" && args[i + 1].is_string()) live.insert(args[i + 1]);
  }
  return live;
}

}  // namespace

std::string sweep_deleted_sites(KubeClient& client, const json& sweep) {
  const std::string ns = sweep["metadata"].value("namespace", "");
  Reply now = client.request("GET", "/apis/batch/v1/namespaces/" + ns + "/cronjobs/" +
                                        sweep["metadata"].value("name", ""));
  if (now.status == 404) return "";  // the first: no site was named yet
  if (!now.ok()) return "read the sweep CronJob: " + now.describe();
  json cron = json::parse(now.body, nullptr, false);
  if (!cron.is_object()) return "read the sweep CronJob: not an object";
  const std::set<std::string> next = live_of_sweep(sweep);
  std::string gone;
  for (const std::string& site : live_of_sweep(cron))
    if (!next.contains(site)) gone += site + "\n";
  if (gone.empty()) return "";
  json job = render::job_of_cron_job(sweep, std::string(render::kBackupSweep) + "-" + hash8(gone),
                                     {{"wok.dev/sweep-reason", "site deleted"}});
  const json labels = sweep["metadata"].value("labels", json::object());
  for (const auto& [key, value] : labels.items()) job["metadata"]["labels"][key] = value;
  if (sweep["metadata"].contains("ownerReferences"))
    job["metadata"]["ownerReferences"] = sweep["metadata"]["ownerReferences"];
  Reply made = client.request("POST", "/apis/batch/v1/namespaces/" + ns + "/jobs", job.dump(),
                              "application/json");
  if (made.ok() || made.status == 409) return "";
  return "job " + job["metadata"].value("name", "") + ": " + made.describe();
}

json reconcile_backup(KubeClient& client, const json& site, const json& cron_job, const json& old,
                      const std::string& project_uid, const render::PlatformSettings& settings,
                      const std::string& grant_ns) {
  const json& meta = site["metadata"];
  const std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
  json status = {{"schedule", nullptr}, {"lastError", nullptr}};
  if (!cron_job["spec"].value("suspend", false))
    status["schedule"] = cron_job["spec"].value("schedule", "");
  for (const char* key : {"request", "job", "listRequest", "projectListRequest", "showRequest",
                          "deleteRequest", "deleteError"})
    if (old.is_object() && old.contains(key)) status[key] = old[key];
  last_backup(client, ns, name, old, status);
  if (std::string err = ensure_backup_repository(client, ns, project_uid, settings); !err.empty()) {
    status["lastError"] = "the project's backup repository: " + err;
    return status;
  }
  // A list (the site's, or the project's it carries): one Job of the
  // repository's snapshots, once per request.
  for (const bool whole_project : {false, true}) {
    const char* key = whole_project ? "projectListRequest" : "listRequest";
    const std::string list =
        annotation(site, whole_project ? kProjectBackupListAnnotation : kBackupListAnnotation);
    if (list.empty() || list.size() > 64 || status.value(key, json()) == list) continue;
    const std::string job = whole_project ? project_list_job_name(list) : list_job_name(name, list);
    if (std::string err = make_site_job(
            client, site, render::render_list_job(site, json(), settings, job, whole_project));
        !err.empty()) {
      status["lastError"] = err;
      return status;
    }
    status[key] = list;
  }
  // A backup's spec (a deleted site's, for a new site made of it).
  if (const std::string show = annotation(site, kBackupShowRequestAnnotation);
      !show.empty() && show.size() <= 64 && status.value("showRequest", json()) != show) {
    const std::string what = annotation(site, kBackupShowAnnotation);
    const size_t slash = what.find('/');
    const std::string source = what.substr(0, slash);
    const std::string backup = slash == std::string::npos ? "" : what.substr(slash + 1);
    if (slash != std::string::npos && api::is_dns_label(source) && api::is_backup_ref(backup)) {
      if (std::string err = make_site_job(
              client, site,
              render::render_show_job(site, settings, show_job_name(show), source, backup));
          !err.empty()) {
        status["lastError"] = err;
        return status;
      }
    }
    status["showRequest"] = show;
  }
  // A backup's deletion: only with the grant the webhook recorded for this
  // very request (a project admin wrote it), consumed once seen.
  if (const std::string del = annotation(site, kBackupDeleteRequestAnnotation);
      !del.empty() && del.size() <= 64 && status.value("deleteRequest", json()) != del) {
    const std::string what = annotation(site, kBackupDeleteAnnotation);
    const size_t slash = what.find('/');
    const std::string source = what.substr(0, slash);
    const std::string backup = slash == std::string::npos ? "" : what.substr(slash + 1);
    std::string why = slash == std::string::npos || !api::is_dns_label(source) ||
                              backup == "latest" || !api::is_backup_ref(backup)
                          ? "\"" + what + "\" is not SITE/ID"
                          : check_backup_delete_grant(client, grant_ns, site, del, what);
    if (why.empty()) {
      why = make_site_job(
          client, site,
          render::render_forget_job(site, settings, delete_job_name(del), source, backup));
      if (!why.empty()) {
        status["lastError"] = why;
        return status;
      }
    }
    drop_backup_delete_grant(client, grant_ns, site);
    // Kept with the request (the CLI waiting for its Job reads it).
    status["deleteRequest"] = del;
    status["deleteError"] = why.empty() ? json() : json("backup " + what + ": " + why);
  }
  const std::string token = annotation(site, kBackupRequestAnnotation);
  if (token.empty() || token.size() > 64 || status.value("request", json()) == token) return status;
  const std::string job_name = backup_job_name(name, token);
  if (std::string err = make_site_job(client, site, manual_backup_job(cron_job, job_name));
      !err.empty()) {
    status["lastError"] = err;
    return status;
  }
  status["request"] = token;
  status["job"] = job_name;
  return status;
}

}  // namespace wok::kube
