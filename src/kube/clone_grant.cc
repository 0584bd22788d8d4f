#include "kube/clone_grant.h"

#include "kube/site_status.h"
#include "render/render.h"

namespace wok::kube {

using nlohmann::json;

namespace {

std::string meta(const json& site, const char* key) {
  if (!site.contains("metadata") || !site["metadata"].is_object()) return "";
  const json& v = site["metadata"].value(key, json());
  return v.is_string() ? v.get<std::string>() : "";
}

// What a grant says: the Site (namespace/name) and what it clones
// (project/site, and which backup), compared with the Site as it is when the clone starts.
json grant_data(const json& site) {
  const json& from = site["spec"]["cloneFrom"];
  return {{"site", meta(site, "namespace") + "/" + meta(site, "name")},
          {"from", from.value("project", "") + "/" + from.value("site", "")},
          {"backup", from.value("backup", "latest")}};
}

std::string grant_path(const std::string& grant_ns, const std::string& name = "") {
  return "/api/v1/namespaces/" + grant_ns + "/configmaps" + (name.empty() ? "" : "/" + name);
}

}  // namespace

std::string clone_source_project(const json& site) {
  if (!site.is_object() || !site.contains("spec") || !site["spec"].is_object()) return "";
  const json& spec = site["spec"];
  if (!spec.contains("cloneFrom") || !spec["cloneFrom"].is_object()) return "";
  const json& p = spec["cloneFrom"].value("project", json());
  if (!p.is_string() || p.get<std::string>() == meta(site, "namespace")) return "";
  return p.get<std::string>();
}

std::string clone_grant_name(const std::string& site_uid) {
  return render::bounded_name("wok.clone-grant." + site_uid, 253);
}

std::string grant_clone(const ApiCall& api, const std::string& grant_ns, const json& user_info,
                        const json& site, bool* refused) {
  *refused = false;
  const std::string source = clone_source_project(site);
  const std::string uid = meta(site, "uid");
  if (uid.empty()) return "the Site has no metadata.uid yet (the API server sets it first)";
  const json user = user_info.is_object() ? user_info : json::object();
  const std::string username = user.value("username", json("")).is_string()
                                   ? user.value("username", std::string())
                                   : std::string();
  json spec = {
      {"resourceAttributes",
       {{"namespace", source}, {"verb", "create"}, {"group", "wok.dev"}, {"resource", "sites"}}},
      {"user", username}};
  for (const char* key : {"groups", "uid", "extra"})
    if (user.contains(key)) spec[key] = user[key];
  const json review = {
      {"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SubjectAccessReview"}, {"spec", spec}};
  Reply asked = api("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review.dump());
  json answer = asked.ok() ? json::parse(asked.body, nullptr, false) : json();
  if (!answer.is_object() || !answer.contains("status") || !answer["status"].is_object())
    return "asking whether user \"" + username + "\" may write sites of project \"" + source +
           "\" failed: " +
           (asked.ok() ? "the answer is not a SubjectAccessReview" : asked.describe());
  if (answer["status"].value("allowed", false) != true) {
    *refused = true;
    // Outsiders learn nothing of the other project, not even whether it exists.
    return "user \"" + username + "\" may not clone from project \"" + source +
           "\" (developers and admins of it only)";
  }
  json grant = {
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata",
       {{"name", clone_grant_name(uid)},
        {"namespace", grant_ns},
        {"labels", {{"app.kubernetes.io/managed-by", "wok"}, {"wok.dev/clone-grant", "true"}}}}},
      {"data", grant_data(site)}};
  grant["data"]["user"] = username;
  Reply made = api("POST", grant_path(grant_ns), grant.dump());
  if (made.status == 409)
    made = api("PUT", grant_path(grant_ns, clone_grant_name(uid)), grant.dump());
  if (!made.ok()) return "recording the clone's grant failed: " + made.describe();
  return "";
}

std::string check_clone_grant(KubeClient& client, const std::string& grant_ns, const json& site) {
  const std::string source = clone_source_project(site);
  const std::string why = "no record that the writer may clone from project \"" + source +
                          "\" (the admission webhook records it when spec.cloneFrom is written; "
                          "it was off or ignored then): write the Site again (kubectl replace "
                          "--force)";
  Reply got = client.request("GET", grant_path(grant_ns, clone_grant_name(meta(site, "uid"))));
  if (got.status == 404) return why;
  if (!got.ok()) return "reading the clone's grant failed: " + got.describe();
  json grant = json::parse(got.body, nullptr, false);
  if (!grant.is_object() || !grant.contains("data") || !grant["data"].is_object()) return why;
  const json want = grant_data(site);
  for (const auto& [key, value] : want.items())
    if (grant["data"].value(key, json()) != value) return why;
  return "";
}

int sweep_clone_grants(KubeClient& client, const std::string& grant_ns,
                       const std::set<std::string>& live_uids, long grace_seconds) {
  Reply got = client.request("GET", grant_path(grant_ns) + "?labelSelector=wok.dev%2Fclone-grant");
  json list = got.ok() ? json::parse(got.body, nullptr, false) : json();
  if (!list.is_object() || !list.value("items", json()).is_array()) return -1;
  const std::string before = rfc3339_ago(grace_seconds);
  const std::string prefix = clone_grant_name("");
  int swept = 0;
  for (const json& grant : list["items"]) {
    const std::string name = meta(grant, "name");
    if (!name.starts_with(prefix) || live_uids.contains(name.substr(prefix.size()))) continue;
    const std::string made = meta(grant, "creationTimestamp");
    if (made.empty() || made >= before) continue;  // a Site being made may be stored yet
    if (client.request("DELETE", grant_path(grant_ns, name)).ok()) ++swept;
  }
  return swept;
}

void drop_clone_grant(KubeClient& client, const std::string& grant_ns, const json& site) {
  client.request("DELETE", grant_path(grant_ns, clone_grant_name(meta(site, "uid"))));
}

}  // namespace wok::kube
