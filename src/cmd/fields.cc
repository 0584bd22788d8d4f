#include "cmd/fields.h"

#include <nlohmann/json.hpp>

namespace wok::cmd {

using nlohmann::json;

const json* find_at(const json& value, std::initializer_list<std::string_view> path) {
  const json* node = &value;
  for (std::string_view key : path) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

std::string text_at(const json& value, std::initializer_list<std::string_view> path) {
  const json* node = find_at(value, path);
  if (!node) return "";
  if (node->is_string()) return node->get<std::string>();
  if (node->is_number() || node->is_boolean()) return node->dump();
  return "";
}

std::string join_strings(const json* array, std::string_view separator) {
  if (!array || !array->is_array()) return "";
  std::string out;
  for (const auto& item : *array) {
    if (!item.is_string()) continue;
    if (!out.empty()) out += separator;
    out += item.get<std::string>();
  }
  return out;
}

const json* find_condition(const json& object, std::string_view type) {
  const json* conditions = find_at(object, {"status", "conditions"});
  if (!conditions || !conditions->is_array()) return nullptr;
  for (const auto& condition : *conditions) {
    if (text_at(condition, {"type"}) == type) return &condition;
  }
  return nullptr;
}

std::string ready_status(const json& object) {
  const json* ready = find_condition(object, "Ready");
  std::string status = ready ? text_at(*ready, {"status"}) : "";
  return status.empty() ? "Unknown" : status;
}

std::string or_none(std::string text) { return text.empty() ? "<none>" : text; }

}  // namespace wok::cmd
