#pragma once
// Secrets of a project in the embedded store: Store objects of kind
// "Secret" whose values are sealed (secret_cipher.h). A row holds the key
// names in the clear (they are shown to viewers, as `kubectl describe`
// does) and one sealed blob of every value; nothing else ever sees a value.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/secret_cipher.h"
#include "store/store.h"

namespace wok::store {

using SecretData = std::map<std::string, std::string>;  // key -> value (bytes)

class SecretStore {
 public:
  SecretStore(Store& store, std::unique_ptr<SecretCipher> cipher)
      : store_(store), cipher_(std::move(cipher)) {}

  // Creates or replaces ns/name with exactly `data`. `labels` may be null.
  // The answer's object is the public view (public_view below).
  Result put(const std::string& ns, const std::string& name, const SecretData& data,
             const nlohmann::json& labels);
  // Like put, but only when no secret ns/name exists (kAlreadyExists then:
  // what is there is kept, whoever made it first).
  Result create(const std::string& ns, const std::string& name, const SecretData& data,
                const nlohmann::json& labels);
  // The values, or nullopt with `error` (not found; or not readable with this
  // key: "...cannot be decrypted..."), naming the secret and never a value.
  std::optional<SecretData> read(const std::string& ns, const std::string& name,
                                 std::string* error);
  // The public view of one secret, and of every secret of a project: the
  // object without values (metadata, type, keys).
  std::optional<nlohmann::json> describe(const std::string& ns, const std::string& name);
  std::vector<nlohmann::json> list(const std::string& ns);
  Result remove(const std::string& ns, const std::string& name);

 private:
  Store& store_;
  std::unique_ptr<SecretCipher> cipher_;
};

// A stored Secret row as the API shows it: apiVersion, kind, metadata,
// type Opaque, keys; the sealed blob removed.
nlohmann::json public_view(const nlohmann::json& row);

}  // namespace wok::store
