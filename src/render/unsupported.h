#pragma once
// What a site uses that one platform truly cannot run, said in one place
// (issue 14, "Nothing unsupported"). Validation (api::validate_site) stays
// the same on every platform; this is asked after it, by the embedded
// controllers and by the Kubernetes render (render_site, which the operator
// and `wok render` call), and each refusal names the field. `wok up` runs
// everything a valid Site says (autoscale, cron jobs, secrets and app
// storage included); a cluster cannot pull an image that exists only on
// this machine (`oci:DIR:TAG`, an archive). A feature that cannot exist on
// one side is added here and to docs/resources.md ("What runs where").
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace wok::render {

// kOpenShift: Kubernetes exposed through OpenShift Routes (wok operator
// --openshift), whose router has no deny list.
enum class Platform { kEmbedded, kKubernetes, kOpenShift };

struct Unsupported {
  std::string field;    // "spec.app.autoscale"
  std::string message;  // why, and what to do instead
};

// `site`: a valid Site object.
std::vector<Unsupported> unsupported_on(Platform platform, const nlohmann::json& site);

// "spec.x: ...; spec.y: ..." ("" when nothing is unsupported).
std::string describe(const std::vector<Unsupported>& list);

}  // namespace wok::render
