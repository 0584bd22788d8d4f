#include "base/text.h"

namespace wok {
namespace {

// Length of the UTF-8 sequence starting at s[i], 0 when it is not valid.
size_t utf8_length(const std::string& s, size_t i) {
  unsigned char c = s[i];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  return n;
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string printable(const std::string& text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_length(text, i);
    std::string piece;
    if (n == 0) {
      piece = "?";
      n = 1;
    } else if (n == 1 && (static_cast<unsigned char>(text[i]) < 0x20 || text[i] == 0x7f)) {
      piece = " ";
    } else {
      piece = text.substr(i, n);
    }
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += n;
  }
  return out;
}

std::string last_line(const std::string& output, size_t max_bytes) {
  size_t end = output.size();
  while (end > 0) {
    size_t start = output.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    size_t first = start, last = end;
    while (first < last && blank(output[first])) ++first;
    while (last > first && blank(output[last - 1])) --last;
    if (first < last) return printable(output.substr(first, last - first), max_bytes);
    end = start == 0 ? 0 : start - 1;
  }
  return "";
}

}  // namespace wok
