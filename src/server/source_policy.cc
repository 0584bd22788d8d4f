#include "server/source_policy.h"

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

namespace wok::server {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A source read from this machine: the paths it may read (several readings
// of one reference: every one must be allowed), or why it cannot be judged.
struct LocalSource {
  std::vector<std::string> paths;
  std::string problem;
};

std::optional<std::string> real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), std::free);
  if (!real) return std::nullopt;
  return std::string(real.get());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// libgit2's decoding of a file URL's path: %XX with two hex digits, the
// rest as is ("file:///srv/git/%2e%2e/x" opens /srv/x).
std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// nullopt: a network source (fetched with FetchLimits).
std::optional<LocalSource> git_local_source(const std::string& url) {
  for (const char* scheme :
       {"http://", "https://", "ssh://", "git://", "git+ssh://", "ssh+git://"}) {
    if (url.starts_with(scheme)) return std::nullopt;
  }
  if (url.starts_with("file://")) {
    // libgit2 reads "file:///p" and "file://localhost/p", nothing else.
    std::string rest = url.substr(7);
    if (rest.starts_with("localhost/")) rest = rest.substr(9);
    if (!rest.starts_with("/")) return LocalSource{{}, "is a file URL wok cannot read as a path"};
    return LocalSource{{percent_decode(rest)}, ""};
  }
  if (url.starts_with("/")) return LocalSource{{url}, ""};
  return LocalSource{{}, "is neither a network URL nor an absolute path"};
}

// nullopt: a registry image (docker://) or a reference the runtime refuses.
std::optional<LocalSource> image_local_source(const std::string& ref) {
  size_t colon = ref.find(':');
  if (colon == std::string::npos) return std::nullopt;
  const std::string transport = ref.substr(0, colon), rest = ref.substr(colon + 1);
  for (const char* store : {"containers-storage", "docker-daemon", "ostree"}) {
    if (transport == store) return LocalSource{{}, "reads the host's image store"};
  }
  for (const char* path_transport :
       {"oci", "oci-archive", "dir", "docker-archive", "sif", "tarball"}) {
    if (transport != path_transport) continue;
    // skopeo ends the path at the first colon, wok's oci: layouts at the
    // last one followed by no slash, dir: takes it all: each must be allowed.
    std::vector<std::string> paths = {rest};
    if (size_t first = rest.find(':'); first != std::string::npos)
      paths.push_back(rest.substr(0, first));
    if (size_t last = rest.rfind(':');
        last != std::string::npos && rest.find('/', last) == std::string::npos) {
      paths.push_back(rest.substr(0, last));
    }
    return LocalSource{paths, ""};
  }
  return std::nullopt;
}

std::string allowed_list(const std::vector<std::string>& allowed) {
  if (allowed.empty()) {
    return "members may not use local sources here (the platform admin allows directories with "
           "wok up --allow-local-source)";
  }
  std::string s = "members may use local sources only under ";
  for (size_t i = 0; i < allowed.size(); ++i) s += (i ? ", " : "") + allowed[i];
  return s + " (wok up --allow-local-source)";
}

// "" when every path of `source` is under an allowed directory.
std::string check_source(const std::string& value, const LocalSource& source,
                         const std::vector<std::string>& allowed) {
  if (!source.problem.empty()) return value + " " + source.problem + "; " + allowed_list(allowed);
  for (const std::string& path : source.paths) {
    bool ok = false;
    for (const std::string& dir : allowed) ok = ok || path_under(path, dir);
    if (ok) continue;
    std::string where;
    if (auto real = resolve_path(path);
        real && *real != fs::path(path).lexically_normal().string()) {
      where = " (it leads to " + *real + ")";
    }
    return value + " is a local path" + where + "; " + allowed_list(allowed);
  }
  return "";
}

}  // namespace

std::optional<std::string> resolve_path(const std::string& path) {
  fs::path p(path);
  if (!p.is_absolute()) return std::nullopt;
  std::vector<fs::path> parts(p.begin(), p.end());
  // The longest prefix that exists, resolved by the kernel (symlinks, "..").
  for (size_t n = parts.size(); n > 0; --n) {
    fs::path prefix;
    for (size_t i = 0; i < n; ++i) prefix /= parts[i];
    auto real = real_path(prefix.string());
    if (!real) continue;
    fs::path out(*real);
    for (size_t i = n; i < parts.size(); ++i) {
      if (parts[i].empty()) continue;  // a trailing slash
      if (parts[i] == "." || parts[i] == "..") return std::nullopt;
      out /= parts[i];
    }
    return out.string();
  }
  return std::nullopt;
}

bool path_under(const std::string& path, const std::string& dir) {
  auto p = resolve_path(path), d = real_path(dir);
  if (!p || !d) return false;
  fs::path pp(*p), dp(*d);
  auto pi = pp.begin();
  for (auto di = dp.begin(); di != dp.end(); ++di, ++pi) {
    if (di->empty()) continue;  // "/srv/git/" ends in an empty component
    if (pi == pp.end() || *pi != *di) return false;
  }
  return true;
}

std::vector<api::FieldError> local_source_errors(const json& spec,
                                                 const std::vector<std::string>& allowed) {
  std::vector<api::FieldError> errors;
  if (!spec.is_object()) return errors;
  if (auto git = spec.find("source");
      git != spec.end() && git->is_object() && git->contains("git")) {
    const json& g = (*git)["git"];
    if (g.is_object() && g.contains("url") && g["url"].is_string()) {
      std::string url = g["url"];
      if (auto local = git_local_source(url)) {
        if (std::string e = check_source(url, *local, allowed); !e.empty())
          errors.push_back({"spec.source.git.url", e});
      }
    }
  }
  if (auto app = spec.find("app");
      app != spec.end() && app->is_object() && app->contains("components")) {
    const json& comps = (*app)["components"];
    for (size_t i = 0; comps.is_array() && i < comps.size(); ++i) {
      if (!comps[i].is_object() || !comps[i].contains("image") || !comps[i]["image"].is_string())
        continue;
      std::string ref = comps[i]["image"];
      if (auto local = image_local_source(ref)) {
        if (std::string e = check_source(ref, *local, allowed); !e.empty()) {
          errors.push_back({"spec.app.components[" + std::to_string(i) + "].image", e});
        }
      }
    }
  }
  return errors;
}

std::string fetch_time_source_error(const json& site, const std::vector<std::string>& allowed) {
  if (!site.is_object() || !site.contains("spec")) return "";
  auto errors = local_source_errors(site["spec"], allowed);
  if (errors.empty()) return "";
  const json& status = site.value("status", json::object());
  const json& md = site.value("metadata", json::object());
  if (status.is_object() && md.is_object() && status.contains(kLocalSourcesApproved) &&
      md.contains("generation") && status[kLocalSourcesApproved] == md["generation"]) {
    return "";  // the platform admin wrote this generation
  }
  return api::join_errors(errors);
}

}  // namespace wok::server
