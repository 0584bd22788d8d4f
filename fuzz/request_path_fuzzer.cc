// libFuzzer target for router::decode_request_path: whatever the input, an
// accepted path must be safe to resolve beneath a site root.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "router/request_path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  std::string relative;
  if (!wok::router::decode_request_path(raw, &relative)) return 0;
  // Relative, no NUL, no ".." segment, never longer than the raw path.
  if (!relative.empty() && relative.front() == '/') abort();
  if (relative.find('\0') != std::string::npos) abort();
  if (relative.size() > raw.size()) abort();
  size_t start = 0;
  while (start <= relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    if (relative.compare(start, end - start, "..") == 0 && end - start == 2) abort();
    start = end + 1;
  }
  return 0;
}
