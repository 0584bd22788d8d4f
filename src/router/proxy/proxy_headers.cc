#include "router/proxy/proxy_headers.h"

#include "http/ascii.h"

namespace wok::router {
namespace {

using http::iequals;

// Whether comma-separated list contains token, case-insensitively.
bool list_contains(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string joined(const std::vector<http::Header>& headers, std::string_view name) {
  std::string out;
  for (const auto& h : headers) {
    if (!iequals(h.name, name)) continue;
    if (!out.empty()) out += ", ";
    out += h.value;
  }
  return out;
}

// RFC 7239 6: an IPv6 node is bracketed and the whole value quoted.
std::string forwarded_node(std::string_view addr) {
  if (addr.find(':') != std::string_view::npos) return "\"[" + std::string(addr) + "]\"";
  return std::string(addr);
}

std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// "http://h:1/p?q" -> "/p?q"; origin-form unchanged.
std::string_view origin_form(std::string_view target) {
  if (target.empty() || target[0] == '/' || target == "*") return target;
  size_t sep = target.find("://");
  if (sep == std::string_view::npos) return target;
  size_t path = target.find_first_of("/?", sep + 3);
  return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
}

}  // namespace

BodyFraming request_body_framing(const http::Request& r) {
  if (r.has_header("Transfer-Encoding")) return BodyFraming::kChunked;
  std::string_view cl = r.header("Content-Length");
  if (!cl.empty() && cl != "0") return BodyFraming::kLength;
  return BodyFraming::kNone;
}

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

bool is_websocket_upgrade(const http::Request& r) {
  return r.method == "GET" && iequals(r.header("Upgrade"), "websocket") &&
         list_contains(joined(r.headers, "Connection"), "upgrade");
}

bool is_hop_by_hop(std::string_view name, std::string_view connection) {
  static constexpr std::string_view kFixed[] = {"Connection",      "Keep-Alive",        "TE",
                                                "Trailer",         "Transfer-Encoding", "Upgrade",
                                                "Proxy-Connection"};
  for (std::string_view f : kFixed) {
    if (iequals(name, f)) return true;
  }
  if (name.size() >= 6 && iequals(name.substr(0, 6), "Proxy-")) return true;
  return list_contains(connection, name);
}

std::string upstream_request_head(const http::Request& r, const ForwardContext& ctx) {
  const std::string connection = joined(r.headers, "Connection");
  const bool websocket = is_websocket_upgrade(r);
  const BodyFraming framing = request_body_framing(r);
  std::string out;
  out.reserve(512);
  out.append(r.method).append(" ").append(origin_form(r.target)).append(" HTTP/1.1\r\n");
  bool has_host = false;
  for (const auto& h : r.headers) {
    if (iequals(h.name, "X-Forwarded-For") || iequals(h.name, "Forwarded") ||
        iequals(h.name, "X-Forwarded-Proto") || iequals(h.name, "X-Forwarded-Host")) {
      // written below: the first two extended, the others replaced, since
      // only this proxy knows how the client came in
    } else if (iequals(h.name, "Host")) {
      has_host = true;
      out.append("Host: ").append(ctx.host).append("\r\n");
    } else if (iequals(h.name, "Content-Length") && framing == BodyFraming::kChunked) {
      // never both (the parser refuses that anyway)
    } else if (h.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos ||
               h.name.find_first_of(std::string_view("\r\n\0: ", 5)) != std::string::npos) {
      // Never a field that would split the upstream request (the client's
      // parser refuses them; this is for fields the platform adds, such as
      // a login's X-Forwarded-User from a provider's claim).
    } else if (!is_hop_by_hop(h.name, connection)) {
      out.append(h.name).append(": ").append(h.value).append("\r\n");
    }
  }
  if (!has_host && !ctx.host.empty()) out.append("Host: ").append(ctx.host).append("\r\n");
  // Earlier proxies' values first, in order, then this hop's.
  auto append_extended = [&](std::string_view name) {
    for (const auto& h : r.headers) {
      if (iequals(h.name, name)) out.append(h.value).append(", ");
    }
  };
  out.append("X-Forwarded-For: ");
  append_extended("X-Forwarded-For");
  out.append(ctx.client_addr).append("\r\n");
  out.append("X-Forwarded-Proto: ").append(ctx.proto).append("\r\n");
  if (!ctx.host.empty()) out.append("X-Forwarded-Host: ").append(ctx.host).append("\r\n");
  out.append("Forwarded: ");
  append_extended("Forwarded");
  out.append("for=").append(forwarded_node(ctx.client_addr));
  if (!ctx.host.empty()) out.append(";host=").append(quoted(ctx.host));
  out.append(";proto=").append(ctx.proto).append("\r\n");
  if (framing == BodyFraming::kChunked) out.append("Transfer-Encoding: chunked\r\n");
  if (websocket) out.append("Connection: upgrade\r\nUpgrade: websocket\r\n");
  out.append("\r\n");
  return out;
}

std::vector<http::Header> downstream_headers(std::vector<http::Header> upstream, bool upgrade) {
  const std::string connection = joined(upstream, "Connection");
  std::erase_if(upstream, [&](const http::Header& h) {
    if (upgrade && iequals(h.name, "Upgrade")) return false;
    return is_hop_by_hop(h.name, connection) || iequals(h.name, "Content-Length") ||
           iequals(h.name, "Date");
  });
  return upstream;
}

}  // namespace wok::router
