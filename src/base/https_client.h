#pragma once
// One blocking HTTPS request through libcurl, for what the platform asks of
// other servers (an ACME CA, a site's OpenID provider): https:// only, no
// redirects followed, a timeout, a cap on the answer's size. Blocking: call
// it off the event loops.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace wok::base {

struct HttpsRequest {
  std::string method = "GET";  // GET, HEAD or POST
  std::string url;
  std::string body;                  // POST
  std::vector<std::string> headers;  // "Name: value"
  std::string ca_file;               // trust ("": the system's)
  long timeout_s = 30;
  size_t max_body = 1 << 20;  // a longer answer is a failure
  std::string user_agent = "wok";
  // Connect to public addresses only (base/address_kind.h), judged at
  // connect time for every address tried (a name that resolves, or is
  // rebound, to 127.0.0.1 or the cloud metadata address is refused), and
  // no proxy: for URLs a tenant chose.
  bool public_only = false;
};

struct HttpsResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased, last value
  std::string body;
  std::string error;  // transport failure ("" when an answer came)
};

HttpsResponse https_request(const HttpsRequest& request);

}  // namespace wok::base
