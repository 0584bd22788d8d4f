#include "kube/credentials.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/codec.h"

namespace wok::kube {
namespace {

using nlohmann::json;

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

// kubeconfig *-data fields are standard base64 (RFC 4648), possibly wrapped.
bool base64_decode(const std::string& in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  int bits = 0, buffer = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    int v = value(c);
    if (v < 0) return false;
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return true;
}

// Finds {name: N, <field>: {...}} in a kubeconfig list (clusters, users, contexts).
const json* find_named(const json& config, const char* list, const char* field,
                       const std::string& name) {
  if (!config.contains(list) || !config[list].is_array()) return nullptr;
  for (const auto& entry : config[list]) {
    if (entry.is_object() && entry.value("name", "") == name && entry.contains(field) &&
        entry[field].is_object()) {
      return &entry[field];
    }
  }
  return nullptr;
}

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

// Reads `<prefix>-data` (base64) into *pem or `<prefix>` (a path) into *file.
bool take_pem(const json& section, const std::string& where, const std::string& prefix,
              const std::string& base_dir, std::string* pem, std::string* file,
              std::string* error) {
  if (section.contains(prefix + "-data")) {
    const auto& data = section[prefix + "-data"];
    if (!data.is_string() || !base64_decode(data.get<std::string>(), pem)) {
      *error = where + "." + prefix + "-data: not valid base64";
      return false;
    }
    return true;
  }
  if (section.contains(prefix)) {
    if (!section[prefix].is_string()) {
      *error = where + "." + prefix + ": must be a file path";
      return false;
    }
    *file = resolve(base_dir, section[prefix].get<std::string>());
    std::ifstream probe(*file);
    if (!probe) {
      *error = where + "." + prefix + ": cannot read " + *file;
      return false;
    }
  }
  return true;
}

}  // namespace

bool parse_kubeconfig(std::string_view text, const std::string& base_dir,
                      const std::string& context, Credentials* out, std::string* error) {
  std::vector<json> docs;
  std::string parse_error;
  if (!api::parse_documents(text, &docs, &parse_error)) {
    *error = "kubeconfig: " + parse_error;
    return false;
  }
  if (docs.size() != 1 || !docs[0].is_object()) {
    *error = "kubeconfig: expected one YAML mapping";
    return false;
  }
  const json& config = docs[0];
  std::string name = context;
  if (name.empty()) {
    name = config.value("current-context", "");
    if (name.empty()) {
      *error = "kubeconfig: no current-context set and no --context given";
      return false;
    }
  }
  const json* ctx = find_named(config, "contexts", "context", name);
  if (!ctx) {
    *error = "kubeconfig: context \"" + name + "\" not found";
    return false;
  }
  std::string cluster_name = ctx->value("cluster", "");
  std::string user_name = ctx->value("user", "");
  const json* cluster = find_named(config, "clusters", "cluster", cluster_name);
  if (!cluster) {
    *error = "kubeconfig: context \"" + name + "\" names cluster \"" + cluster_name +
             "\", which is not defined";
    return false;
  }
  Credentials creds;
  creds.ns = ctx->value("namespace", "");
  creds.server = cluster->value("server", "");
  if (creds.server.empty()) {
    *error = "kubeconfig: cluster \"" + cluster_name + "\" has no server";
    return false;
  }
  creds.insecure_skip_tls_verify = cluster->value("insecure-skip-tls-verify", false);
  std::string where = "clusters[" + cluster_name + "].cluster";
  if (!take_pem(*cluster, where, "certificate-authority", base_dir, &creds.ca_pem, &creds.ca_file,
                error)) {
    return false;
  }
  if (!user_name.empty()) {
    const json* user = find_named(config, "users", "user", user_name);
    if (!user) {
      *error = "kubeconfig: context \"" + name + "\" names user \"" + user_name +
               "\", which is not defined";
      return false;
    }
    where = "users[" + user_name + "].user";
    creds.token = user->value("token", "");
    if (creds.token.empty() && user->contains("tokenFile")) {
      std::string path = resolve(base_dir, user->value("tokenFile", ""));
      if (!read_file(path, &creds.token)) {
        *error = where + ".tokenFile: cannot read " + path;
        return false;
      }
      while (!creds.token.empty() && isspace(static_cast<unsigned char>(creds.token.back()))) {
        creds.token.pop_back();
      }
    }
    if (user->contains("exec") || user->contains("auth-provider")) {
      if (creds.token.empty() && !user->contains("client-certificate") &&
          !user->contains("client-certificate-data")) {
        *error = where +
                 ": exec and auth-provider credentials are not supported; use a token or "
                 "a client certificate";
        return false;
      }
    }
    if (!take_pem(*user, where, "client-certificate", base_dir, &creds.client_cert_pem,
                  &creds.client_cert_file, error) ||
        !take_pem(*user, where, "client-key", base_dir, &creds.client_key_pem,
                  &creds.client_key_file, error)) {
      return false;
    }
    bool has_cert = !creds.client_cert_pem.empty() || !creds.client_cert_file.empty();
    bool has_key = !creds.client_key_pem.empty() || !creds.client_key_file.empty();
    if (has_cert != has_key) {
      *error = where +
               ": a client certificate needs its key (client-key or client-key-data) "
               "and the other way round";
      return false;
    }
  }
  *out = std::move(creds);
  return true;
}

bool load_kubeconfig(const std::string& path, const std::string& context, Credentials* out,
                     std::string* error) {
  std::string file = path;
  if (file.empty()) {
    if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
      file = env;
      file = file.substr(0, file.find(':'));
    } else if (const char* home = std::getenv("HOME")) {
      file = std::string(home) + "/.kube/config";
    }
  }
  std::string text;
  if (file.empty() || !read_file(file, &text)) {
    *error = "kubeconfig: cannot read " + (file.empty() ? std::string("~/.kube/config") : file);
    return false;
  }
  auto slash = file.rfind('/');
  std::string base_dir = slash == std::string::npos ? "." : file.substr(0, slash);
  if (!parse_kubeconfig(text, base_dir, context, out, error)) {
    *error = file + ": " + *error;
    return false;
  }
  return true;
}

bool load_in_cluster(const std::string& dir, const std::map<std::string, std::string>& env,
                     Credentials* out, std::string* error) {
  auto host = env.find("KUBERNETES_SERVICE_HOST");
  auto port = env.find("KUBERNETES_SERVICE_PORT");
  if (host == env.end() || port == env.end() || host->second.empty()) {
    *error =
        "not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set (give --kubeconfig)";
    return false;
  }
  Credentials creds;
  std::string h = host->second;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6 literal
  creds.server = "https://" + h + ":" + port->second;
  if (!read_file(dir + "/token", &creds.token) || creds.token.empty()) {
    *error = "in-cluster: cannot read the service account token " + dir + "/token";
    return false;
  }
  while (!creds.token.empty() && isspace(static_cast<unsigned char>(creds.token.back()))) {
    creds.token.pop_back();
  }
  creds.token_file = dir + "/token";
  creds.ca_file = dir + "/ca.crt";
  if (!std::ifstream(creds.ca_file)) {
    *error = "in-cluster: cannot read the cluster CA " + creds.ca_file;
    return false;
  }
  read_file(dir + "/namespace", &creds.ns);
  while (!creds.ns.empty() && isspace(static_cast<unsigned char>(creds.ns.back()))) {
    creds.ns.pop_back();
  }
  *out = std::move(creds);
  return true;
}

}  // namespace wok::kube
