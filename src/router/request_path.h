#pragma once
// Maps a request path to a file name relative to a site root, refusing
// anything that could name a file outside it.
#include <string>
#include <string_view>

namespace wok::router {

// Percent-decodes raw_path ("/a/b%20c.html" -> "a/b c.html", without the
// leading slashes). Returns false for a path that does not start with '/',
// a malformed escape, NUL, an encoded '/' (%2F) or a ".." segment. A
// backslash is an ordinary character. "." and empty segments are left to
// the kernel, which resolves them beneath the root anyway.
bool decode_request_path(std::string_view raw_path, std::string* relative);

// Whether a decoded relative path names a dot-file or goes through a
// dot-directory (".env", "a/.git/HEAD", ".htpasswd"): a segment starting
// with '.', "." and empty segments aside. A leading ".well-known" is not
// one (RFC 8615: ACME challenges, security.txt), but a dot-segment below it is.
// Sites do not serve these unless they opt in (spec.serveDotFiles).
bool names_dot_file(std::string_view relative);

}  // namespace wok::router
