#include "store/secret_cipher.h"

#include "api/base64.h"

namespace wok::store {
namespace {
constexpr std::string_view kPrefix = "v1:";
}  // namespace

std::unique_ptr<SecretCipher> SecretCipher::load_or_create(const std::string& path,
                                                           std::string* error) {
  auto box = base::SealedBox::load_or_create(path, error);
  if (!box) return nullptr;
  return std::unique_ptr<SecretCipher>(new SecretCipher(*box));
}

std::string SecretCipher::seal(std::string_view plaintext, std::string_view context) const {
  return std::string(kPrefix) + api::base64_encode(box_.seal(plaintext, context));
}

std::optional<std::string> SecretCipher::open(std::string_view sealed,
                                              std::string_view context) const {
  if (!sealed.starts_with(kPrefix)) return std::nullopt;
  auto raw = api::base64_decode(sealed.substr(kPrefix.size()));
  if (!raw) return std::nullopt;
  return box_.open(*raw, context);
}

}  // namespace wok::store
