#include "kube/site_transfer.h"

#include "api/base64.h"
#include "base/sealed_box.h"
#include "kube/site_backups.h"
#include "render/transfer.h"

namespace wok::kube {

using nlohmann::json;

namespace {

json owned_by_job(json object, const json& job) {
  object["metadata"]["ownerReferences"] = {{{"apiVersion", "batch/v1"},
                                            {"kind", "Job"},
                                            {"name", job["metadata"].value("name", "")},
                                            {"uid", job["metadata"].value("uid", "")},
                                            {"controller", true}}};
  return object;
}

// The Job at `path` as the API has it (its uid); null, with why, if not.
json live_job(KubeClient& client, const std::string& path, std::string* error) {
  Reply got = client.request("GET", path);
  json live = got.ok() ? json::parse(got.body, nullptr, false) : json();
  if (!live.is_object() || !live.contains("metadata") ||
      live["metadata"].value("uid", "").empty()) {
    *error = "job " + path.substr(path.rfind('/') + 1) + ": " + got.describe();
    return nullptr;
  }
  return live;
}

}  // namespace

std::string start_transfer(KubeClient& client, const json& site, const std::string& job_name,
                           const std::string& from_project, const std::string& from,
                           const std::string& backup, const render::PlatformSettings& settings) {
  const std::string ns = site["metadata"].value("namespace", "");
  const std::string here = "/api/v1/namespaces/" + ns, there = "/api/v1/namespaces/" + from_project;
  std::string error;
  const json job =
      live_job(client, "/apis/batch/v1/namespaces/" + ns + "/jobs/" + job_name, &error);
  if (job.is_null()) return error;
  // The transfer's key, made once: a pass that stopped half-way finds it.
  std::string token = base::random_token(), password = base::random_token();
  Reply key = client.request("GET", here + "/secrets/" + render::transfer_secret_name(job_name));
  json live_key = key.ok() ? json::parse(key.body, nullptr, false) : json();
  if (live_key.is_object() && live_key.contains("data") && live_key["data"].is_object()) {
    auto t = api::base64_decode(live_key["data"].value("token", ""));
    auto p = api::base64_decode(live_key["data"].value("password", ""));
    if (t && p && !t->empty() && !p->empty()) token = *t, password = *p;
  }
  const render::TransferObjects t = render::render_transfer(site, settings, job_name, from_project,
                                                            from, backup, token, password);
  for (const auto& [collection, object] :
       {std::pair<std::string, const json*>{here + "/secrets", &t.target_secret},
        {here + "/services", &t.service},
        {"/apis/networking.k8s.io/v1/namespaces/" + ns + "/networkpolicies", &t.target_policy}})
    if (error = create_once(client, collection, owned_by_job(*object, job)); !error.empty())
      return error;
  const std::string jobs = "/apis/batch/v1/namespaces/" + from_project + "/jobs";
  if (error = create_once(client, jobs, t.copy_job); !error.empty()) return error;
  const json copy = live_job(client, jobs + "/" + t.copy_job["metadata"].value("name", ""), &error);
  if (copy.is_null()) return error;
  for (const auto& [collection, object] :
       {std::pair<std::string, const json*>{there + "/secrets", &t.source_secret},
        {"/apis/networking.k8s.io/v1/namespaces/" + from_project + "/networkpolicies",
         &t.source_policy}})
    if (error = create_once(client, collection, owned_by_job(*object, copy)); !error.empty())
      return error;
  return "";
}

std::string transfer_failed(KubeClient& client, const std::string& ns, const std::string& job_name,
                            const std::string& from_project) {
  const std::string copy = render::transfer_copy_job_name(ns, job_name);
  Reply got = client.request("GET", "/apis/batch/v1/namespaces/" + from_project + "/jobs/" + copy);
  json job = got.ok() ? json::parse(got.body, nullptr, false) : json();
  if (!job.is_object() || job.value("status", json::object()).value("failed", 0) == 0) return "";
  return "copying the backup out of project \"" + from_project + "\" failed (its Job " +
         from_project + "/" + copy + "; a member of that project reads why with kubectl logs -n " +
         from_project + " job/" + copy + ")";
}

}  // namespace wok::kube
