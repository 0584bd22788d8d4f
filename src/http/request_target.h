#pragma once
// Splits a request-target (RFC 9112 3.2) into path and query.
#include <string>
#include <string_view>

namespace wok::http {

// origin-form "/p?q" -> "/p", "q"; absolute-form "http://h/p?q" -> "/p", "q"
// (an absolute-form target without a path gets "/"); asterisk-form and
// authority-form are kept whole in path. Percent-encoding is left as is.
void split_target(std::string_view target, std::string* path, std::string* query);

}  // namespace wok::http
