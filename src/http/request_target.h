#pragma once
// Splits a request-target (RFC 9112 3.2) into path and query.
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace wok::http {

// origin-form "/p?q" -> "/p", "q"; absolute-form "http://h/p?q" -> "/p", "q"
// (an absolute-form target without a path gets "/"); asterisk-form and
// authority-form are kept whole in path. Percent-encoding is left as is.
void split_target(std::string_view target, std::string* path, std::string* query);

// The host a request is for: the authority of an absolute-form target
// (RFC 9112 3.2.2: it overrides Host), else the Host header.
std::string_view request_host(const Request& request);

// Content-Length as a number; 0 when absent or chunked (unknown ahead).
uint64_t declared_body_length(const Request& request);

}  // namespace wok::http
