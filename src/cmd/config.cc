#include "cmd/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "api/codec.h"
#include "base/unique_fd.h"

namespace wok::cmd {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

std::string config_path() {
  std::string path = env("WOK_CONFIG");
  if (!path.empty()) return path;
  std::string home = env("HOME");
  if (home.empty()) home = ".";
  return home + "/.config/wok/config.yaml";
}

bool load_config(const std::string& path, ClientConfig* out, std::string* error) {
  *out = {};
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return true;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::stringstream text;
  text << file.rdbuf();
  std::vector<nlohmann::json> docs;
  std::string parse_error;
  if (!api::parse_documents(text.str(), &docs, &parse_error)) {
    *error = path + ": " + parse_error;
    return false;
  }
  if (docs.empty()) return true;
  const nlohmann::json& doc = docs.front();
  if (!doc.is_object()) {
    *error = path + ": expected a mapping with server: and token:";
    return false;
  }
  const std::pair<const char*, std::string*> fields[] = {{"server", &out->server},
                                                         {"token", &out->token}};
  for (auto [key, field] : fields) {
    if (!doc.contains(key) || doc[key].is_null()) continue;
    if (!doc[key].is_string()) {
      *error = path + ": " + key + " must be a string";
      return false;
    }
    *field = doc[key].get<std::string>();
  }
  return true;
}

bool make_private_directory(const std::string& dir, std::string* error) {
  namespace fs = std::filesystem;
  fs::path path = fs::path(dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "a/b/" is "a/b"
  if (path.empty() || path == path.root_path()) {
    *error = "\"" + dir + "\" cannot be made private";
    return false;
  }
  std::error_code ec;
  if (path.has_parent_path() && !fs::exists(path.parent_path(), ec)) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      *error = "cannot create " + path.parent_path().string() + ": " + ec.message();
      return false;
    }
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    *error = "cannot create " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = "cannot create " + path.string() + ": not a directory";
    return false;
  }
  // One made by an older wok (0755) is narrowed before any secret goes in.
  if ((st.st_mode & 077) != 0 && ::chmod(path.c_str(), st.st_mode & 0700) != 0) {
    *error = "cannot make " + path.string() + " private: " + std::strerror(errno);
    return false;
  }
  return true;
}

bool write_secret_file(const std::string& path, const std::string& text, std::string* error) {
  std::random_device rng;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".tmp.%d.%08x", static_cast<int>(::getpid()), rng());
    tmp = path + suffix;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    *error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  // 0600 exactly, whatever the umask took away from the owner.
  bool ok = ::fchmod(fd, 0600) == 0 && base::write_all(fd, text) && ::fsync(fd) == 0;
  int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) saved = errno;
    *error = "cannot write " + path + ": " + std::strerror(saved);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool write_config(const std::string& path, const ClientConfig& config, std::string* error) {
  std::filesystem::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    if (!std::filesystem::exists(target.parent_path(), ec) &&
        !make_private_directory(target.parent_path().string(), error)) {
      return false;
    }
  }
  nlohmann::json doc = {{"server", config.server}, {"token", config.token}};
  return write_secret_file(path, api::to_yaml(doc), error);
}

std::string normalize_server_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!url.empty() && url.find("://") == std::string::npos) url = "http://" + url;
  return url;
}

bool resolve_config(const ClientConfig& flags, ClientConfig* out, std::string* error) {
  ClientConfig result = flags;
  if (result.server.empty()) result.server = env("WOK_SERVER");
  if (result.token.empty()) result.token = env("WOK_TOKEN");
  if (result.server.empty() || result.token.empty()) {
    ClientConfig file;
    if (!load_config(config_path(), &file, error)) return false;
    if (result.server.empty()) result.server = file.server;
    if (result.token.empty()) result.token = file.token;
  }
  if (result.server.empty()) result.server = kDefaultServer;
  result.server = normalize_server_url(result.server);
  *out = result;
  return true;
}

}  // namespace wok::cmd
