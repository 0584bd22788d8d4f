#include "kube/admission.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "kube/site_admission.h"
#include "kube/site_backups.h"
#include "store/host_claims.h"

namespace wok::kube {
namespace {

using nlohmann::json;

json status_of(int code, const std::string& reason, const std::string& message,
               const std::vector<api::FieldError>& causes) {
  json status = {{"code", code}, {"reason", reason}, {"message", message}};
  if (!causes.empty()) {
    json list = json::array();
    for (const auto& c : causes)
      list.push_back({{"field", c.field}, {"message", c.message}, {"reason", "FieldValueInvalid"}});
    status["details"] = {{"causes", list}};
  }
  return status;
}

json answer(const json& request, bool allowed, json status = nullptr) {
  json response = {{"uid", request["uid"]}, {"allowed", allowed}};
  if (!status.is_null()) response["status"] = std::move(status);
  return {
      {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"response", response}};
}

json invalid(const json& request, const std::string& kind, const std::string& name,
             const std::vector<api::FieldError>& errors) {
  // The API server's 422 text: `Site "www" is invalid: spec.hosts[0]: ...`.
  return answer(
      request, false,
      status_of(422, "Invalid", kind + " \"" + name + "\" is invalid: " + api::join_errors(errors),
                errors));
}

// Only a CREATE, or an UPDATE that changes the spec, is judged.
bool judged(const json& request) {
  const std::string op = request["operation"];
  if (op == "CREATE") return true;
  if (op != "UPDATE") return false;
  const json& old = request.contains("oldObject") ? request["oldObject"] : json();
  return !old.is_object() || old.value("spec", json()) != request["object"].value("spec", json());
}

std::string meta_text(const json& object, const char* key) {
  if (!object.contains("metadata") || !object["metadata"].is_object()) return "";
  const json& v = object["metadata"].contains(key) ? object["metadata"][key] : json();
  return v.is_string() ? v.get<std::string>() : "";
}

// Deeper than `limit` before any parsing: a hostile body of a million "["
// costs one pass, not a recursion per level.
bool depth_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// What is wrong with a body as an AdmissionReview request, "" when nothing.
std::string malformed(const json& review) {
  if (!review.is_object()) return "the body is not a JSON object";
  if (review.value("apiVersion", json()) != "admission.k8s.io/v1" ||
      review.value("kind", json()) != "AdmissionReview") {
    return "the body is not an AdmissionReview of admission.k8s.io/v1 (admissionReviewVersions: "
           "[v1])";
  }
  if (!review.contains("request") || !review["request"].is_object())
    return "request: missing or not an object";
  const json& r = review["request"];
  if (!r.contains("uid") || !r["uid"].is_string() || r["uid"].get<std::string>().empty()) {
    return "request.uid: missing or not a string";
  }
  if (!r.contains("operation") || !r["operation"].is_string())
    return "request.operation: missing or not a string";
  if (!r.contains("kind") || !r["kind"].is_object() || !r["kind"].contains("kind") ||
      !r["kind"]["kind"].is_string()) {
    return "request.kind.kind: missing or not a string";
  }
  if (r.contains("namespace") && !r["namespace"].is_string())
    return "request.namespace: not a string";
  const std::string op = r["operation"];
  if ((op == "CREATE" || op == "UPDATE") && (!r.contains("object") || !r["object"].is_object())) {
    return "request.object: missing or not an object (operation " + op + ")";
  }
  if (r.contains("oldObject") && !r["oldObject"].is_null() && !r["oldObject"].is_object()) {
    return "request.oldObject: not an object";
  }
  return "";
}

}  // namespace

// A new request to delete a backup (kube/site_backups.h) may come from a
// project admin only: asked of the API server whoever writes it, whatever
// else the write changes; granted, recorded for the operator. The refusal
// to answer, or null to go on.
json review_backup_delete(const json& request, const AdmissionView& view) {
  const std::string op = request["operation"];
  if (op != "CREATE" && op != "UPDATE") return nullptr;
  json site = request["object"];
  const json old = request.value("oldObject", json());
  auto annotation = [](const json& object, const char* key) {
    const json a = object.is_object() && object.value("metadata", json()).is_object()
                       ? object["metadata"].value("annotations", json())
                       : json();
    return a.is_object() && a.value(key, json()).is_string() ? a[key].get<std::string>()
                                                             : std::string();
  };
  const std::string token = annotation(site, kBackupDeleteRequestAnnotation);
  if (token.empty() || token == annotation(old, kBackupDeleteRequestAnnotation)) return nullptr;
  if (!site["metadata"].is_object()) site["metadata"] = json::object();
  if (meta_text(site, "namespace").empty())
    site["metadata"]["namespace"] = request.value("namespace", "");
  const std::string name = meta_text(site, "name");
  if (!view.api)
    return answer(request, false,
                  status_of(403, "Forbidden", "this webhook cannot check a backup's deletion", {}));
  bool refused = false;
  const std::string why =
      grant_backup_delete(view.api, view.grant_ns, request.value("userInfo", json()), site, token,
                          annotation(site, kBackupDeleteAnnotation), &refused);
  if (refused)
    return answer(request, false,
                  status_of(403, "Forbidden", "Site \"" + name + "\" is forbidden: " + why, {}));
  if (!why.empty()) return answer(request, false, status_of(503, "ServiceUnavailable", why, {}));
  return nullptr;
}

json review_site(const json& request, const AdmissionView& view) {
  if (json refused = review_backup_delete(request, view); !refused.is_null()) return refused;
  if (!judged(request)) return answer(request, true);
  json site = request["object"];
  if (!site.contains("metadata") || !site["metadata"].is_object())
    site["metadata"] = json::object();
  const std::string ns = !meta_text(site, "namespace").empty() ? meta_text(site, "namespace")
                                                               : request.value("namespace", "");
  site["metadata"]["namespace"] = ns;
  const std::string name = meta_text(site, "name");
  if (auto errors = site_spec_errors(site, view.bounds); !errors.empty())
    return invalid(request, "Site", name, errors);
  if (auto errors = database_version_errors(site, request.value("oldObject", json()),
                                            view.postgresql_operator);
      !errors.empty())
    return invalid(request, "Site", name, errors);
  if (!view.synced()) {
    return answer(
        request, false,
        status_of(
            503, "ServiceUnavailable",
            "the wok operator has not read every Project and Site yet; try again in a few seconds",
            {}));
  }
  auto project = view.project(ns);
  if (!project) {
    return answer(request, false,
                  status_of(404, "NotFound",
                            "project \"" + ns + "\" not found: create the Project first", {}));
  }
  if (auto errors = store::host_claim_errors(site["spec"], *project, ns); !errors.empty()) {
    return invalid(request, "Site", name, errors);
  }
  // A site being created is the youngest claim (the API server sets the
  // timestamp before admission; this holds if one ever does not).
  if (meta_text(site, "creationTimestamp").empty())
    site["metadata"]["creationTimestamp"] = "9999-12-31T23:59:59Z";
  std::vector<std::string> hosts;
  for (const auto& h : site["spec"].value("hosts", json::array())) {
    if (h.is_string()) hosts.push_back(h);
  }
  if (auto held = host_held_errors(site, view.sites_claiming(hosts)); !held.empty()) {
    return answer(request, false, status_of(409, "Conflict", api::join_errors(held), held));
  }
  // A clone from another project: the writer's right there, when the
  // field is written (as wok up judges it); recorded for the operator.
  const json old = request.value("oldObject", json());
  const bool unchanged = old.is_object() && old.value("spec", json()).is_object() &&
                         old["spec"].value("cloneFrom", json()) == site["spec"]["cloneFrom"];
  if (!clone_source_project(site).empty() && !unchanged) {
    if (!view.api)
      return answer(request, false,
                    status_of(403, "Forbidden",
                              "this webhook cannot check a clone from another project", {}));
    bool refused = false;
    const std::string why =
        grant_clone(view.api, view.grant_ns, request.value("userInfo", json()), site, &refused);
    if (refused) {
      std::vector<api::FieldError> errors = {{"spec.cloneFrom.project", why}};
      return answer(
          request, false,
          status_of(403, "Forbidden", "Site \"" + name + "\" is forbidden: " + why, errors));
    }
    if (!why.empty()) return answer(request, false, status_of(503, "ServiceUnavailable", why, {}));
  }
  return answer(request, true);
}

json review_project(const json& request) {
  if (!judged(request)) return answer(request, true);
  const json& object = request["object"];
  const std::string name = meta_text(object, "name");
  // Rebuilt as for a Site: the API server's metadata is not judged.
  json clean = {{"apiVersion", object.value("apiVersion", json())},
                {"kind", "Project"},
                {"metadata", {{"name", name}}},
                {"spec", object.value("spec", json::object())}};
  if (auto errors = api::validate_project(clean); !errors.empty())
    return invalid(request, "Project", name, errors);
  return answer(request, true);
}

http::Handler admission_handler(AdmissionView view) {
  return [view = std::move(view)](const http::Request& req, http::Response& resp) {
    auto text = [&resp](int status, const std::string& body) {
      resp.status = status;
      resp.set_header("Content-Type", "text/plain; charset=utf-8");
      resp.body = body + "\n";
    };
    const bool sites = req.path == "/validate/sites", projects = req.path == "/validate/projects";
    if (!sites && !projects)
      return text(404, "not found: the webhook serves POST /validate/sites and /validate/projects");
    if (req.method != "POST") {
      resp.set_header("Allow", "POST");
      return text(405, req.method + " is not allowed: the API server POSTs an AdmissionReview");
    }
    std::string type(req.header("Content-Type"));
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (type != "application/json")
      return text(415, "Content-Type must be application/json, not \"" + type + "\"");
    if (!depth_within(req.body, kMaxJsonDepth)) {
      return text(400, "the body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    json review = json::parse(req.body, nullptr, false);
    if (review.is_discarded()) return text(400, "the body is not JSON");
    if (std::string why = malformed(review); !why.empty()) return text(400, why);
    const json& request = review["request"];
    const std::string kind = request["kind"]["kind"];
    if (kind != (sites ? "Site" : "Project") ||
        request["kind"].value("group", json()) != "wok.dev") {
      return text(400, "request.kind is " + request["kind"].dump() + ": " + req.path +
                           " judges wok.dev " + (sites ? "Sites" : "Projects"));
    }
    json out;
    try {
      out = sites ? review_site(request, view) : review_project(request);
    } catch (const std::exception& e) {
      // The API server's failurePolicy Fail refuses the object: nothing stored unjudged.
      spdlog::error("admission of {} {}: {}", kind, request["uid"].get<std::string>(), e.what());
      return text(500, std::string("internal error: ") + e.what());
    }
    if (!out["response"]["allowed"].get<bool>()) {
      spdlog::info("admission refused {} {}/{}: {}", kind, request.value("namespace", ""),
                   meta_text(request.value("object", json()), "name"),
                   out["response"]["status"].value("message", ""));
    }
    resp.set_header("Content-Type", "application/json");
    resp.body = out.dump(-1, ' ', false, json::error_handler_t::replace);
  };
}

}  // namespace wok::kube
