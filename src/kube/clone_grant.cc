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

// Whether the writer an AdmissionReview names (`user_info`) may do what
// `attributes` (a SubjectAccessReview's resourceAttributes) say, asked of
// the API server: "" with *allowed, or why it could not say. *username:
// whom it asked about.
std::string review_access(const ApiCall& api, const json& user_info, const json& attributes,
                          std::string* username, bool* allowed) {
  *allowed = false;
  const json user = user_info.is_object() ? user_info : json::object();
  *username = user.value("username", json("")).is_string() ? user.value("username", std::string())
                                                           : std::string();
  json spec = {{"resourceAttributes", attributes}, {"user", *username}};
  for (const char* key : {"groups", "uid", "extra"})
    if (user.contains(key)) spec[key] = user[key];
  const json review = {
      {"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SubjectAccessReview"}, {"spec", spec}};
  Reply asked = api("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review.dump());
  json answer = asked.ok() ? json::parse(asked.body, nullptr, false) : json();
  if (!answer.is_object() || !answer.contains("status") || !answer["status"].is_object())
    return asked.ok() ? "the answer is not a SubjectAccessReview" : asked.describe();
  *allowed = answer["status"].value("allowed", false) == true;
  return "";
}

// Records a grant (a ConfigMap of the operator's namespace, `label` set),
// replacing one of the same name.
std::string record_grant(const ApiCall& api, const std::string& grant_ns, const std::string& name,
                         const char* label, const json& data) {
  json grant = {{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata",
                 {{"name", name},
                  {"namespace", grant_ns},
                  {"labels", {{"app.kubernetes.io/managed-by", "wok"}, {label, "true"}}}}},
                {"data", data}};
  Reply made = api("POST", grant_path(grant_ns), grant.dump());
  if (made.status == 409) made = api("PUT", grant_path(grant_ns, name), grant.dump());
  return made.ok() ? "" : made.describe();
}

// The grant `name` if its data hold every key of `want` with the same
// value: "" when they do, `why` when it is missing or says otherwise.
std::string check_grant(KubeClient& client, const std::string& grant_ns, const std::string& name,
                        const json& want, const std::string& why) {
  Reply got = client.request("GET", grant_path(grant_ns, name));
  if (got.status == 404) return why;
  if (!got.ok()) return "reading the grant failed: " + got.describe();
  json grant = json::parse(got.body, nullptr, false);
  if (!grant.is_object() || !grant.contains("data") || !grant["data"].is_object()) return why;
  for (const auto& [key, value] : want.items())
    if (grant["data"].value(key, json()) != value) return why;
  return "";
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

std::string backup_delete_grant_name(const std::string& site_uid) {
  return render::bounded_name("wok.backup-delete-grant." + site_uid, 253);
}

std::string grant_clone(const ApiCall& api, const std::string& grant_ns, const json& user_info,
                        const json& site, bool* refused) {
  *refused = false;
  const std::string source = clone_source_project(site);
  const std::string uid = meta(site, "uid");
  if (uid.empty()) return "the Site has no metadata.uid yet (the API server sets it first)";
  std::string username;
  bool allowed = false;
  const json attributes = {
      {"namespace", source}, {"verb", "create"}, {"group", "wok.dev"}, {"resource", "sites"}};
  if (std::string err = review_access(api, user_info, attributes, &username, &allowed);
      !err.empty())
    return "asking whether user \"" + username + "\" may write sites of project \"" + source +
           "\" failed: " + err;
  if (!allowed) {
    *refused = true;
    // Outsiders learn nothing of the other project, not even whether it exists.
    return "user \"" + username + "\" may not clone from project \"" + source +
           "\" (developers and admins of it only)";
  }
  json data = grant_data(site);
  data["user"] = username;
  if (std::string err =
          record_grant(api, grant_ns, clone_grant_name(uid), "wok.dev/clone-grant", data);
      !err.empty())
    return "recording the clone's grant failed: " + err;
  return "";
}

std::string grant_backup_delete(const ApiCall& api, const std::string& grant_ns,
                                const json& user_info, const json& site, const std::string& token,
                                const std::string& target, bool* refused) {
  *refused = false;
  const std::string ns = meta(site, "namespace"), uid = meta(site, "uid");
  if (uid.empty()) return "the Site has no metadata.uid yet (the API server sets it first)";
  std::string username;
  bool allowed = false;
  const json attributes = {{"namespace", ns},
                           {"verb", "delete"},
                           {"group", "wok.dev"},
                           {"resource", "sites"},
                           {"subresource", "backups"}};
  if (std::string err = review_access(api, user_info, attributes, &username, &allowed);
      !err.empty())
    return "asking whether user \"" + username + "\" may delete backups of project \"" + ns +
           "\" failed: " + err;
  if (!allowed) {
    *refused = true;
    return "user \"" + username + "\" may not delete backups of project \"" + ns +
           "\" (its admins only)";
  }
  const json data = {{"site", ns + "/" + meta(site, "name")},
                     {"token", token},
                     {"backup", target},
                     {"user", username}};
  if (std::string err = record_grant(api, grant_ns, backup_delete_grant_name(uid),
                                     "wok.dev/backup-delete-grant", data);
      !err.empty())
    return "recording the deletion's grant failed: " + err;
  return "";
}

std::string check_backup_delete_grant(KubeClient& client, const std::string& grant_ns,
                                      const json& site, const std::string& token,
                                      const std::string& target) {
  const json want = {{"site", meta(site, "namespace") + "/" + meta(site, "name")},
                     {"token", token},
                     {"backup", target}};
  return check_grant(client, grant_ns, backup_delete_grant_name(meta(site, "uid")), want,
                     "no record that a project admin asked for it (the admission webhook records "
                     "it when the request is written; it was off or ignored then): ask again");
}

void drop_backup_delete_grant(KubeClient& client, const std::string& grant_ns, const json& site) {
  client.request("DELETE", grant_path(grant_ns, backup_delete_grant_name(meta(site, "uid"))));
}

std::string check_clone_grant(KubeClient& client, const std::string& grant_ns, const json& site) {
  const std::string source = clone_source_project(site);
  return check_grant(client, grant_ns, clone_grant_name(meta(site, "uid")), grant_data(site),
                     "no record that the writer may clone from project \"" + source +
                         "\" (the admission webhook records it when spec.cloneFrom is written; "
                         "it was off or ignored then): write the Site again (kubectl replace "
                         "--force)");
}

int sweep_clone_grants(KubeClient& client, const std::string& grant_ns,
                       const std::set<std::string>& live_uids, long grace_seconds) {
  const std::string before = rfc3339_ago(grace_seconds);
  int swept = 0;
  for (const auto& [label, prefix] :
       {std::pair{"wok.dev%2Fclone-grant", clone_grant_name("")},
        std::pair{"wok.dev%2Fbackup-delete-grant", backup_delete_grant_name("")}}) {
    Reply got = client.request("GET", grant_path(grant_ns) + "?labelSelector=" + label);
    json list = got.ok() ? json::parse(got.body, nullptr, false) : json();
    if (!list.is_object() || !list.value("items", json()).is_array()) return -1;
    for (const json& grant : list["items"]) {
      const std::string name = meta(grant, "name");
      if (!name.starts_with(prefix) || live_uids.contains(name.substr(prefix.size()))) continue;
      const std::string made = meta(grant, "creationTimestamp");
      if (made.empty() || made >= before) continue;  // a Site being made may be stored yet
      if (client.request("DELETE", grant_path(grant_ns, name)).ok()) ++swept;
    }
  }
  return swept;
}

void drop_clone_grant(KubeClient& client, const std::string& grant_ns, const json& site) {
  client.request("DELETE", grant_path(grant_ns, clone_grant_name(meta(site, "uid"))));
}

}  // namespace wok::kube
