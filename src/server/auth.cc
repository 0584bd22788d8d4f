#include "server/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "store/store.h"

namespace wok::server {
namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

}  // namespace

std::string new_token() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) throw std::runtime_error("RAND_bytes failed");
  return hex(buf, sizeof buf);
}

std::string hash_token(std::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, len);
}

std::optional<Caller> authenticate(store::Store& store, std::string_view authorization) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (!authorization.starts_with(kPrefix)) return std::nullopt;
  std::string_view token = authorization.substr(kPrefix.size());
  if (token.empty() || token.size() > 256) return std::nullopt;
  auto owner = store.find_token(hash_token(token));
  if (!owner) return std::nullopt;
  return Caller{owner->user, owner->platform_admin};
}

Access project_access(const Caller& caller, const nlohmann::json* project) {
  if (caller.platform_admin) return Access::kAdmin;
  if (!project) return Access::kNone;
  const auto& spec = (*project)["spec"];
  if (!spec.contains("members")) return Access::kNone;
  for (const auto& m : spec["members"]) {
    if (m.value("user", "") != caller.user) continue;
    std::string role = m.value("role", "");
    if (role == "admin") return Access::kAdmin;
    if (role == "developer") return Access::kEdit;
    if (role == "viewer") return Access::kView;
  }
  return Access::kNone;
}

}  // namespace wok::server
