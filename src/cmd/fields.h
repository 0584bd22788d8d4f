#pragma once
// Tolerant reads of object fields for printing: a missing or oddly typed
// field prints as nothing instead of throwing.
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace wok::cmd {

// The value at a path of object keys, or nullptr.
const nlohmann::json* find_at(const nlohmann::json& value,
                              std::initializer_list<std::string_view> path);

// A string or number at a path as text; "" when absent or another type.
std::string text_at(const nlohmann::json& value, std::initializer_list<std::string_view> path);

// The elements of a string array joined with `separator`; "" if none.
std::string join_strings(const nlohmann::json* array, std::string_view separator = ",");

// status.conditions[type=...], or nullptr.
const nlohmann::json* find_condition(const nlohmann::json& object, std::string_view type);

// "True", "False" or "Unknown" (also when there is no Ready condition yet).
std::string ready_status(const nlohmann::json& object);

// Value or "<none>" when empty, as kubectl prints missing cells.
std::string or_none(std::string text);

}  // namespace wok::cmd
