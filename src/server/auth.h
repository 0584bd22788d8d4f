#pragma once
// Authentication (bearer tokens, stored as SHA-256) and authorization
// (platform admin, project roles admin/developer/viewer).
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace wok::store {
class Store;
}

namespace wok::server {

struct Caller {
  std::string user;
  bool platform_admin = false;
};

enum class Access { kNone = 0, kView = 1, kEdit = 2, kAdmin = 3 };

std::string new_token();  // 64 hex characters from the OS's CSPRNG
std::string hash_token(std::string_view token);

// The caller behind an "Authorization: Bearer ..." header value, if any.
std::optional<Caller> authenticate(store::Store& store, std::string_view authorization);

// What the caller may do in a project (the Project object, or nullptr when
// it does not exist: then only the platform admin has access).
Access project_access(const Caller& caller, const nlohmann::json* project);

}  // namespace wok::server
