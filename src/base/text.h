#pragma once
// Text from a tenant (a build's output, a commit's author, an event's
// message) made fit to keep and print on someone's terminal.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wok {

// Control characters (C0, C1, DEL: terminal escapes, newlines) become
// spaces, invalid UTF-8 (overlong forms and surrogates too) '?'; cut at
// `max_bytes` on a character boundary.
std::string printable(const std::string& text, size_t max_bytes);

// The last line of `output` that has more than blanks, printable() and cut
// at `max_bytes`; "" when there is none.
std::string last_line(const std::string& output, size_t max_bytes);

// Every byte but RFC 3986's unreserved ones (letters, digits, "-._~") as
// %XX: a query value, a form field, a path segment that is not "." or "..".
std::string percent_encode(std::string_view text);

// The items with `separator` between them ("13, 15").
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// `text` as one word of a POSIX shell: in single quotes, a ' inside
// written '\''.
std::string shell_quote(std::string_view text);

}  // namespace wok
