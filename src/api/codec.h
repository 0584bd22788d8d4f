#pragma once
// YAML and JSON in and out. Objects are held as JSON values everywhere
// (store, API, CLI); YAML is only a way to write them.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace wok::api {

// Parses a stream of one or more YAML documents ("---" separated; JSON is
// YAML too) into JSON values. Empty documents are skipped. On a syntax error
// returns false and sets *error to "line L, column C: what".
bool parse_documents(std::string_view text, std::vector<nlohmann::json>* out, std::string* error);

// Renders a JSON value as block-style YAML (keys in the value's order).
std::string to_yaml(const nlohmann::json& value);

}  // namespace wok::api
