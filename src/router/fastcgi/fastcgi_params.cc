#include "router/fastcgi/fastcgi_params.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "http/ascii.h"
#include "http/request_target.h"
#include "router/fastcgi/fastcgi_record.h"

namespace wok::router {
namespace {

std::string join_path(std::string_view root, std::string_view path) {
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  return std::string(root) + std::string(path);
}

// "HTTP_" + the name upper-cased with '-' as '_'. Names with '_' are
// skipped by the caller: "X_Real_IP" would otherwise pose as "X-Real-IP".
std::string cgi_header_name(std::string_view name) {
  std::string out = "HTTP_";
  for (char c : name)
    out.push_back(c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  return out;
}

bool passed_as_http_variable(std::string_view name) {
  if (name.find('_') != std::string_view::npos) return false;
  // httpoxy: HTTP_PROXY would read as the proxy environment variable.
  if (http::iequals(name, "Proxy")) return false;
  // Given as CONTENT_TYPE/CONTENT_LENGTH; the body is no longer chunked.
  // Host is HTTP_HOST already (or the absolute-form target's authority).
  return !http::iequals(name, "Host") && !http::iequals(name, "Content-Type") &&
         !http::iequals(name, "Content-Length") && !http::iequals(name, "Transfer-Encoding");
}

// Repeated fields join in one variable, as nginx does: cookies with "; ".
void append_request_headers(std::string* out, const http::Request& request) {
  std::vector<std::pair<std::string, std::string>> vars;
  for (const http::Header& h : request.headers) {
    if (!passed_as_http_variable(h.name)) continue;
    std::string name = cgi_header_name(h.name);
    auto same =
        std::find_if(vars.begin(), vars.end(), [&](const auto& v) { return v.first == name; });
    if (same == vars.end()) {
      vars.emplace_back(std::move(name), h.value);
    } else {
      same->second.append(name == "HTTP_COOKIE" ? "; " : ", ").append(h.value);
    }
  }
  for (const auto& [name, value] : vars) append_fcgi_pair(out, name, value);
}

}  // namespace

std::string encode_fastcgi_params(const http::Request& request, const FastCgiTarget& target,
                                  const PhpScript& script, uint64_t content_length) {
  std::string out;
  auto add = [&out](std::string_view name, std::string_view value) {
    append_fcgi_pair(&out, name, value);
  };
  std::string_view host = http::request_host(request);
  std::string_view server_name = host;
  std::string server_port = request.tls ? "443" : "80";
  // "[::1]:8080" or "example.org:8080": the port is after the last ':' past any ']'.
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    server_name = host.substr(0, colon);
    server_port = std::string(host.substr(colon + 1));
  }
  std::string request_uri = request.path;
  if (!request.query.empty()) request_uri += "?" + request.query;
  const std::string version =
      "HTTP/" + std::to_string(request.version_major) + "." + std::to_string(request.version_minor);

  add("GATEWAY_INTERFACE", "CGI/1.1");
  add("SERVER_SOFTWARE", "wok");
  add("SERVER_PROTOCOL", version);
  add("REQUEST_METHOD", request.method);
  add("REQUEST_URI", request_uri);
  add("DOCUMENT_URI", script.script_name + script.path_info);
  add("QUERY_STRING", request.query);
  add("SCRIPT_NAME", script.script_name);
  add("SCRIPT_FILENAME", join_path(target.script_root, script.script_name));
  add("DOCUMENT_ROOT", target.script_root);
  if (!script.path_info.empty()) {
    add("PATH_INFO", script.path_info);
    add("PATH_TRANSLATED", join_path(target.script_root, script.path_info));
  }
  add("CONTENT_TYPE", request.header("Content-Type"));
  add("CONTENT_LENGTH", content_length > 0 || request.has_header("Content-Length")
                            ? std::to_string(content_length)
                            : std::string());
  add("REMOTE_ADDR", request.remote_addr);
  add("SERVER_NAME", http::ascii_lowercase(server_name));
  add("SERVER_PORT", server_port);
  add("HTTP_HOST", host);
  // What PHP applications look at to build their own URLs (WordPress's is_ssl()).
  add("REQUEST_SCHEME", request.tls ? "https" : "http");
  if (request.tls) add("HTTPS", "on");
  // PHP built with --enable-force-cgi-redirect refuses to run without it.
  add("REDIRECT_STATUS", "200");
  append_request_headers(&out, request);
  return out;
}

}  // namespace wok::router
