#pragma once
// `wok get -o jsonpath=TEMPLATE`: the part of kubectl's JSONPath that people
// use: text with {PATH} fields, PATH made of .key, [N] (negative from the
// end), [*], .*, ['key'] and [?(@.a.b=="v")]; {"\n"} is literal text. Several
// results of one field are separated by spaces; strings print as they are,
// other values as JSON; a missing field prints nothing (as kubectl get does).
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace wok::cmd {

// False with *error saying what is wrong in `tmpl` (unclosed brace, unknown
// syntax).
bool render_jsonpath(const std::string& tmpl, const nlohmann::json& document, std::string* out,
                     std::string* error);

}  // namespace wok::cmd
