#pragma once
// The CGI/1.1 meta-variables (RFC 3875 section 4.1) a request carries to
// php-fpm, as the content of FCGI_PARAMS: what nginx's fastcgi_params and
// fastcgi_split_path_info give PHP applications.
#include <cstdint>
#include <string>

#include "http/message.h"
#include "router/fastcgi/fastcgi_script.h"
#include "router/route_table.h"

namespace wok::router {

// script_root is where php-fpm sees the document root (inside its
// sandbox); content_length is the body's exact size (a chunked body has
// been collected first).
std::string encode_fastcgi_params(const http::Request& request, const FastCgiTarget& target,
                                  const PhpScript& script, uint64_t content_length);

}  // namespace wok::router
