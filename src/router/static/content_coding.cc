#include "router/static/content_coding.h"

#include "http/ascii.h"

namespace wok::router {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
// thousandths; -1 when malformed (the element is then ignored).
int parse_qvalue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return -1;
  int value = (text[0] - '0') * 1000;
  if (text.size() == 1) return value;
  if (text[1] != '.' || text.size() > 5) return -1;
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return -1;
    value += (c - '0') * scale;
    scale /= 10;
  }
  return value > 1000 ? -1 : value;
}

struct Weights {
  int br = -1, gzip = -1, star = -1;  // -1: not named
};

Weights parse_accept_encoding(std::string_view header) {
  Weights w;
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view element = header.substr(start, comma - start);
    start = comma + 1;
    size_t semi = element.find(';');
    std::string_view name = trim(element.substr(0, semi));
    int q = 1000;
    if (semi != std::string_view::npos) {
      std::string_view param = trim(element.substr(semi + 1));
      if (param.size() < 2 || http::ascii_lower(param[0]) != 'q' || param[1] != '=') continue;
      q = parse_qvalue(trim(param.substr(2)));
      if (q < 0) continue;
    }
    if (http::iequals(name, "br")) {
      w.br = q;
    } else if (http::iequals(name, "gzip") || http::iequals(name, "x-gzip")) {
      w.gzip = q;
    } else if (name == "*") {
      w.star = q;
    }
  }
  return w;
}

}  // namespace

Coding choose_coding(std::string_view accept_encoding, bool has_br, bool has_gzip) {
  if (!has_br && !has_gzip) return Coding::kIdentity;
  if (accept_encoding.empty()) return Coding::kIdentity;
  Weights w = parse_accept_encoding(accept_encoding);
  int br = has_br ? (w.br >= 0 ? w.br : (w.star >= 0 ? w.star : 0)) : 0;
  int gzip = has_gzip ? (w.gzip >= 0 ? w.gzip : (w.star >= 0 ? w.star : 0)) : 0;
  if (br == 0 && gzip == 0) return Coding::kIdentity;
  return br >= gzip ? Coding::kBrotli : Coding::kGzip;
}

std::string_view coding_token(Coding coding) {
  switch (coding) {
    case Coding::kBrotli:
      return "br";
    case Coding::kGzip:
      return "gzip";
    case Coding::kIdentity:
      break;
  }
  return "identity";
}

std::string_view coding_suffix(Coding coding) {
  switch (coding) {
    case Coding::kBrotli:
      return ".br";
    case Coding::kGzip:
      return ".gz";
    case Coding::kIdentity:
      break;
  }
  return "";
}

}  // namespace wok::router
