#pragma once
// Where the operator's cluster is and how to prove who it is: read from a
// kubeconfig file or from the pod's service account (in-cluster).
#include <map>
#include <string>
#include <string_view>

namespace wok::kube {

// PEM material comes either inline (*_pem) or as a file path (*_file);
// inline wins when both are set, as in kubectl.
struct Credentials {
  std::string server;      // "https://10.0.0.1:6443"
  std::string token;       // bearer token
  std::string token_file;  // re-read now and then: in-cluster tokens are rotated
  std::string ca_pem, ca_file;
  std::string client_cert_pem, client_cert_file;
  std::string client_key_pem, client_key_file;
  bool insecure_skip_tls_verify = false;
  std::string ns;  // the context's (or the service account's) namespace; may be empty
};

// Parses kubeconfig text. `context` empty means current-context. Relative
// file paths are resolved against base_dir (the kubeconfig's directory).
// On failure returns false and sets *error naming the problem (the missing
// context, user or cluster, or the bad field).
bool parse_kubeconfig(std::string_view text, const std::string& base_dir,
                      const std::string& context, Credentials* out, std::string* error);

// Reads a kubeconfig file: `path`, else $KUBECONFIG (first entry), else ~/.kube/config.
bool load_kubeconfig(const std::string& path, const std::string& context, Credentials* out,
                     std::string* error);

// In-cluster: token, CA and namespace from dir (normally
// /var/run/secrets/kubernetes.io/serviceaccount), the API address from
// KUBERNETES_SERVICE_HOST/PORT in env.
bool load_in_cluster(const std::string& dir, const std::map<std::string, std::string>& env,
                     Credentials* out, std::string* error);

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

}  // namespace wok::kube
