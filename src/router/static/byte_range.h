#pragma once
// The Range request header (RFC 9110 14.2), as far as the static handler
// serves it: one byte range.
#include <cstdint>
#include <string_view>

namespace wok::router {

struct RangeRequest {
  enum class Kind {
    kWhole,          // no usable Range: serve the whole file with 200
    kSingle,         // serve [first, first + length) with 206
    kUnsatisfiable,  // 416 with "Content-Range: bytes */size"
  };
  Kind kind = Kind::kWhole;
  uint64_t first = 0;
  uint64_t length = 0;
};

// Policy: a syntactically invalid header, another unit, or a list of
// several ranges yields kWhole. Several ranges would need a
// multipart/byteranges body; the whole file is a valid answer (RFC 9110
// lets a server ignore Range) and avoids range-list amplification.
RangeRequest parse_range(std::string_view header, uint64_t file_size);

}  // namespace wok::router
