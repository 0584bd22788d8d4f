#pragma once
// spec.database's and spec.services' passwords (single keys: DB_PASSWORD,
// NAME_PASSWORD, expanded into DATABASE_URL and NAME_URL, and given to the
// servers themselves), and
// spec.app.components[].secrets on the embedded platform: each named secret
// of the site's own project becomes environment variables of the
// component's instances, resolved when the plan is made (a new revision,
// `wok rollout restart`, an instance started again after wok restarts);
// running instances keep what they started with, as pods do on Kubernetes.
// A key the spec's env or the platform (PORT, WOK_*) also sets keeps their
// value, as Kubernetes' env wins over envFrom; of two secrets, the later one
// in the list wins.
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "controllers/workloads.h"

namespace wok::controllers {

// The values of secret `name` of project `ns`, or nullopt and why (naming
// the secret, never a value).
using SecretReader = std::function<std::optional<std::map<std::string, std::string>>(
    const std::string& ns, const std::string& name, std::string* error)>;

// Adds the secrets of `site` (metadata and the revision's spec) to `plan`'s
// instances. "" or why not: the first secret missing or unreadable, with
// the field that names it. `read` unset: any secret named is an error.
std::string add_secret_env(const nlohmann::json& site, WorkloadPlan& plan,
                           const SecretReader& read);

// The values each revision of a site was first planned with, kept in
// memory: the live revision is planned again on every resync, and its
// running instances must be asked for the same spec they started with, not
// one with a secret's newer values (the runtime would refuse it as another
// spec). A few revisions per site are kept (the live one and those rolling
// out); a wok restart forgets them.
class PlannedSecrets {
 public:
  // `read`, answering from (and filling) the revision's memory; unset when
  // `read` is.
  SecretReader reader_for(const std::string& site_uid, int64_t revision, const SecretReader& read);

 private:
  using Values = std::map<std::string, std::string>;
  std::mutex mu_;
  std::map<std::string, std::map<int64_t, std::map<std::string, Values>>>
      by_site_;  // uid -> revision -> secret
};

}  // namespace wok::controllers
