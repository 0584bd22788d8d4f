#include "kube/site_revisions.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>

#include "kube/kinds.h"
#include "kube/ownership.h"

namespace wok::kube {
namespace {

using nlohmann::json;

std::string sha256_hex(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

const json& meta_of(const json& object) {
  static const json empty = json::object();
  return object.is_object() && object.contains("metadata") && object["metadata"].is_object()
             ? object["metadata"]
             : empty;
}

std::string string_in(const json& object, const char* map, const char* key) {
  const json& meta = meta_of(object);
  if (!meta.contains(map) || !meta[map].is_object()) return "";
  const json& v = meta[map].value(key, json());
  return v.is_string() ? v.get<std::string>() : "";
}

// A positive integer annotation; 0 when absent, -1 when not a number.
int64_t number_in(const std::string& text) {
  if (text.empty()) return 0;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n <= 0) return -1;
  return n;
}

bool is_controller_revision(const json& object) {
  return object.is_object() && object.value("apiVersion", "") == "apps/v1" &&
         object.value("kind", "") == "ControllerRevision";
}

}  // namespace

std::string revision_hash(const std::string& site_uid, int64_t number, const json& data) {
  // dump() sorts object keys: the same data always hashes the same.
  return sha256_hex(site_uid + "\n" + std::to_string(number) + "\n" + data.dump());
}

json revision_object(const json& site, int64_t number, const json& spec, const std::string& commit,
                     const std::string& cause, int64_t generation) {
  const json& meta = meta_of(site);
  const std::string name = meta.value("name", ""), ns = meta.value("namespace", ""),
                    uid = meta.value("uid", "");
  json data = {{"spec", spec}, {"commit", commit}, {"cause", cause}, {"generation", generation}};
  std::string hash = revision_hash(uid, number, data);
  json object = {{"apiVersion", "apps/v1"},
                 {"kind", "ControllerRevision"},
                 {"metadata",
                  {{"name", name + "-" + hash.substr(0, 10)},
                   {"namespace", ns},
                   {"annotations", {{kRevisionHashAnnotation, hash}}}}},
                 {"revision", number},
                 {"data", data}};
  stamp(object, Owner{site_kind().api_version, site_kind().kind, name, uid, ns}, kSiteLabel, name);
  return object;
}

std::string distrust(const json& site, const json& object) {
  const json& meta = meta_of(object);
  const std::string uid = meta_of(site).value("uid", "");
  if (string_in(object, "labels", kManagedByLabel) != "wok")
    return "not labelled " + std::string(kManagedByLabel) + "=wok";
  bool owned = false;
  for (const auto& ref : meta.value("ownerReferences", json::array())) {
    if (ref.is_object() && ref.value("uid", "") == uid && ref.value("kind", "") == "Site" &&
        ref.value("controller", false)) {
      owned = true;
    }
  }
  if (uid.empty() || !owned)
    return "not owned by this site (no controller ownerReference to its uid)";
  const json& number = object.value("revision", json());
  const json& data = object.value("data", json());
  if (!number.is_number_integer() || number.get<int64_t>() <= 0 || !data.is_object())
    return "no revision number or data";
  if (string_in(object, "annotations", kRevisionHashAnnotation) !=
      revision_hash(uid, number.get<int64_t>(), data))
    return "its " + std::string(kRevisionHashAnnotation) + " does not match its number and data";
  if (!data.contains("spec") || !data["spec"].is_object() ||
      !data.value("commit", json()).is_string())
    return "its data has no spec or commit";
  return "";
}

std::vector<SiteRevision> site_revisions(const json& site, const std::vector<json>& objects,
                                         std::vector<std::string>* refused) {
  const json& meta = meta_of(site);
  std::vector<SiteRevision> out;
  for (const auto& object : objects) {
    if (!is_controller_revision(object)) continue;
    const json& m = meta_of(object);
    if (m.value("namespace", "") != meta.value("namespace", "") ||
        string_in(object, "labels", kSiteLabel) != meta.value("name", ""))
      continue;
    if (std::string why = distrust(site, object); !why.empty()) {
      if (refused) refused->push_back("controllerrevision " + m.value("name", "") + ": " + why);
      continue;
    }
    const json& data = object["data"];
    out.push_back({object["revision"].get<int64_t>(), m.value("name", ""), data["spec"],
                   data["commit"], data.value("cause", ""), data.value("generation", int64_t{0}),
                   m.value("creationTimestamp", "")});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.number > b.number; });
  return out;
}

PinRequest pin_request(const json& site) {
  PinRequest pin;
  const std::string to = string_in(site, "annotations", kRollbackToAnnotation);
  const std::string generation = string_in(site, "annotations", kRollbackGenerationAnnotation);
  int64_t n = number_in(to), g = number_in(generation);
  if (n < 0) {
    pin.error = "annotation " + std::string(kRollbackToAnnotation) + ": \"" + to +
                "\" is not a revision number";
    return pin;
  }
  if (g < 0) {
    pin.error = "annotation " + std::string(kRollbackGenerationAnnotation) + ": \"" + generation +
                "\" is not a generation";
    return pin;
  }
  pin.revision = n;
  pin.stale = n > 0 && g > 0 && meta_of(site).value("generation", int64_t{0}) != g;
  return pin;
}

std::string refresh_request(const json& site) {
  return string_in(site, "annotations", kRefreshAnnotation);
}

std::vector<std::string> revisions_over_limit(const std::vector<SiteRevision>& newest_first,
                                              int limit, int64_t keep) {
  std::vector<std::string> out;
  int kept = 0;
  for (const auto& r : newest_first) {
    if (kept < limit || r.number == keep) {
      ++kept;
      continue;
    }
    out.push_back(r.name);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace wok::kube
