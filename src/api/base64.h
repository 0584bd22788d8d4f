#pragma once
// Standard base64 (RFC 4648, with padding), as Kubernetes Secrets' `data`
// carries values. Strict: decode refuses anything else (whitespace too).
#include <optional>
#include <string>
#include <string_view>

namespace wok::api {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace wok::api
