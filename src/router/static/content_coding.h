#pragma once
// Chooses which precompressed sibling of a static file to send, from the
// request's Accept-Encoding (RFC 9110 12.5.3), honouring q-values.
#include <string_view>

namespace wok::router {

enum class Coding { kIdentity, kGzip, kBrotli };

// The best coding the client accepts among those available (has_br: a
// "file.br" sibling exists; has_gzip: "file.gz"). Ties prefer br, then gzip
// (smaller); "q=0" refuses a coding; "*" covers codings not named. Identity
// is always acceptable here: a 406 for static files helps nobody.
Coding choose_coding(std::string_view accept_encoding, bool has_br, bool has_gzip);

// "br" / "gzip" for Content-Encoding; the sibling suffix ".br" / ".gz".
std::string_view coding_token(Coding coding);
std::string_view coding_suffix(Coding coding);

}  // namespace wok::router
