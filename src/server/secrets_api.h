#pragma once
// GET/PUT/PATCH/DELETE .../namespaces/{project}/secrets[/{name}] once the
// caller's access to the project is known (api_server.cc checks it first):
// viewers list names and keys; developers and admins of the project (and
// the platform admin) write, delete, and read values with ?showValues=true.
// No answer and no error ever holds a value, except that one read.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/validation.h"
#include "server/auth.h"

namespace wok::store {
class SecretStore;
}

namespace wok::server {

struct SecretRequest {
  std::string method, ns, name, query, body, user;
  Access access = Access::kNone;
};

struct SecretAnswer {
  int code = 200;
  nlohmann::json body;  // a success's body
  std::string message;  // a failure's (code >= 400)
  std::string reason;   // "" = the code's usual reason
  std::vector<api::FieldError> causes;
};

// Most secrets one project may hold (each at most 1 MiB).
inline constexpr size_t kMaxSecretsPerProject = 100;

SecretAnswer handle_secret_request(store::SecretStore& secrets, const SecretRequest& request);

}  // namespace wok::server
