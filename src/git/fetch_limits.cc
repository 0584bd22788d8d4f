#include "git/fetch_limits.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <string_view>

#include "base/address_kind.h"

namespace wok::git {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// libgit2 percent-decodes the host it connects to: "127.0.0.%31" must be
// judged as "127.0.0.1".
std::string percent_decoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// "user:pw@host:port" or "user@[v6]:port" -> host.
std::string host_of_authority(std::string_view authority) {
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    return percent_decoded(
        authority.substr(1, close == std::string_view::npos ? close : close - 1));
  }
  return percent_decoded(authority.substr(0, authority.find(':')));
}

std::string numeric(const sockaddr* address, socklen_t length) {
  char text[NI_MAXHOST] = {};
  if (getnameinfo(address, length, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) return "?";
  return text;
}

}  // namespace

std::string remote_host(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    const std::string scheme = lowercase(std::string_view(url).substr(0, scheme_end));
    const std::string_view network[] = {"http", "https", "ssh", "git", "git+ssh", "ssh+git"};
    if (std::find(std::begin(network), std::end(network), scheme) == std::end(network)) return "";
    std::string_view rest = std::string_view(url).substr(scheme_end + 3);
    return host_of_authority(rest.substr(0, rest.find_first_of("/?#")));
  }
  // scp-like "[user@]host:path": a colon before any slash (libgit2's rule);
  // "/srv/x" and "./x" are local paths.
  if (url.empty() || url.front() == '/' || url.front() == '.') return "";
  std::string_view head = url;
  size_t at = head.find('@');
  size_t slash = head.find('/');
  size_t host_start =
      at != std::string_view::npos && (slash == std::string_view::npos || at < slash) ? at + 1 : 0;
  size_t colon = head.find(
      ':', head.substr(host_start).starts_with('[') ? head.find(']', host_start) : host_start);
  if (colon == std::string_view::npos || (slash != std::string_view::npos && slash < colon))
    return "";
  return host_of_authority(head.substr(host_start, colon - host_start));
}

std::string forbidden_address_kind(const sockaddr* address) {
  return base::forbidden_address_kind(address);
}

std::string check_destination(const std::string& url, const FetchLimits& limits) {
  if (limits.allow_private_networks) return "";
  const std::string host = remote_host(url);
  if (host.empty()) return "";
  return check_host(host, limits);
}

std::string check_host(const std::string& host, const FetchLimits& limits) {
  if (limits.allow_private_networks) return "";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return "cannot resolve host " + host + ": " + gai_strerror(rc);
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
  // Every address counts: libgit2 may connect to any of them.
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (std::string why = refuse_address(host, a->ai_addr, a->ai_addrlen, limits); !why.empty())
      return why;
  }
  return "";
}

std::string refuse_address(const std::string& host, const sockaddr* address, unsigned length,
                           const FetchLimits& limits) {
  if (limits.allow_private_networks) return "";
  std::string kind = forbidden_address_kind(address);
  if (kind.empty()) return "";
  std::string text = numeric(address, length);
  std::string which =
      text == host ? "address " + host + " is " : "host " + host + " resolves to " + text + ", ";
  return which + kind +
         ": sources on loopback, link-local and private networks are refused "
         "unless the platform admin allows them";
}

std::string TransferBudget::check(uint64_t received_bytes, Clock::time_point now) {
  if (!exceeded_.empty()) return exceeded_;
  if (received_bytes > limits_.max_bytes) {
    exceeded_ = "the repository is over the fetch size limit of " +
                std::to_string(limits_.max_bytes) + " bytes (" + std::to_string(received_bytes) +
                " received)";
  } else if (now - start_ > limits_.timeout) {
    exceeded_ =
        "the fetch went over its time limit of " + std::to_string(limits_.timeout.count()) + "s";
  }
  return exceeded_;
}

}  // namespace wok::git
